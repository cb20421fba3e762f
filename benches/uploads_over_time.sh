#!/usr/bin/env bash
# Whether upload throughput holds as a table's log grows: one embedded `csvgate serve`, CLIENTS
# (16) wrk clients PUTting the real 1,999-row hired_employees file with ?wait=true, each request
# a new key, for WINDOWS (6) windows of DURATION (10s) back to back. Prints uploads/s per window
# against the first window's (the anchor), then the data table's log: its latest checkpoint's
# actions (Delta keeps one `txn` marker per object version loaded within the marker retention,
# and a tombstone per file removed within the deleted-file retention, in every checkpoint) and
# the log's size. MARKER_RETENTION_SECS sets `[ingest] marker_retention_secs` (default: a week).
source "$(dirname "$0")/lib.sh"
duration="${DURATION:-10s}"
clients="${CLIENTS:-16}"
windows="${WINDOWS:-6}"
export API_KEY=bench-key
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null

run="$work/uploads-over-time"
rm -rf "$run" && mkdir -p "$run"
printf '[api]\nmax_concurrent_uploads = 64\n' >"$run/csvgate.toml"
if [ -n "${MARKER_RETENTION_SECS:-}" ]; then
  printf '[ingest]\nmarker_retention_secs = %s\n' "$MARKER_RETENTION_SECS" >>"$run/csvgate.toml"
fi
export CSVGATE_CONFIG="$run/csvgate.toml"
start_server "$run"
trap 'kill $server_pid 2>/dev/null || true' EXIT
load_reference_tables

printf '%-7s %9s %9s %9s %9s %14s\n' window p50_ms p99_ms req_per_s wrk_cores vs_first_window
first=""
for window in $(seq 1 "$windows"); do
  read -r p50 p99 rps cpu < <(REQUEST_OFFSET=$((window * 1000000)) load_with "$clients" PUT \
    "/globant-landing/hired_employees/w$window-%d.csv?wait=true" fixtures/hired_employees.csv text/csv)
  first=${first:-$rps}
  printf '%-7s %9.2f %9.2f %9s %9s %14.2f\n' "$window" "$p50" "$p99" "$rps" "$cpu" \
    "$(awk -v a="$rps" -v b="$first" 'BEGIN { print a / b }')"
done
log="$run/warehouse/hired_employees/_delta_log"
echo "hired_employees log: $(tr -d '\n' <"$log/_last_checkpoint")"
latest=$(ls "$log"/*.checkpoint.parquet | sort | tail -1)
"$(duckdb_python)" - "$latest" <<'PY'
import sys, duckdb
counts = duckdb.sql(f"SELECT count(txn), count(remove), count(add) FROM '{sys.argv[1]}'").fetchall()[0]
print("latest checkpoint: %d markers, %d tombstones, %d live files" % counts)
PY
echo "hired_employees log size: $(du -sh "$log" | cut -f1), $(find "$log" -name '*.json' | wc -l) commit files"
