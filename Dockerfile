# csvgate as a container: `csvgate serve` by default (see compose.yaml for MariaDB and S3); the
# same image runs `csvgate ballista scheduler|executor` for reports on a Ballista cluster.
#
# Build stage: the Rust toolchain. The release profile keeps line tables for backtraces; the
# binary is stripped here, where no one reads them.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY queries ./queries
COPY sql ./sql
COPY benches ./benches
COPY examples ./examples
RUN cargo build --release --locked --features ballista --bin csvgate \
    && strip target/release/csvgate

# Runtime stage: the binary, CA certificates for S3 over HTTPS, curl for the health check, and
# a user of its own.
FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home --home-dir /var/lib/csvgate csvgate
COPY --from=build /src/target/release/csvgate /usr/local/bin/csvgate
USER 10001
WORKDIR /var/lib/csvgate
ENV CSVGATE_LOG_JSON=true
# The API; a Ballista scheduler (50050) and an executor's Flight and gRPC ports (50051, 50052).
EXPOSE 8080 50050 50051 50052
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["csvgate"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
