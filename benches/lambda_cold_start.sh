#!/usr/bin/env bash
# The Lambda function's size and cold start on the fixtures, on loopback: the runtime API of
# `cargo lambda watch --only-lambda-apis` (cargo-lambda from PyPI), the S3 and SSM servers and
# MariaDB of scripts/services.
#
# cold: from starting the binary to the answer of its first invocation (configuration, SSM,
#       the first connections, and the three fixtures loaded into MariaDB);
# warm: a second invocation in the same process loading the same three files under another
#       prefix: the same work without the start. The ratio is cold / warm.
#
# Usage: benches/lambda_cold_start.sh [BINARY]
#   BINARY defaults to the distribution build:
#   cargo build --profile dist --no-default-features --features lambda --bin csvgate-lambda
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
binary="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/csvgate-dist}/dist/csvgate-lambda}"
[ -x "$binary" ] || { echo "no $binary: build it first (see above)" >&2; exit 1; }
scripts/services >/dev/null 2>&1
tools="$HOME/.cache/csvgate-tools"
venv="$tools/venv"
[ -x "$venv/bin/cargo-lambda" ] || "$venv/bin/pip" install --quiet cargo-lambda
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# The artifact: the binary as `bootstrap` in a zip, as Lambda takes it.
cp "$binary" "$work/bootstrap"
(cd "$work" && "$venv/bin/python" -c 'import zipfile; z = zipfile.ZipFile("function.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9); z.write("bootstrap"); z.close()')
printf 'unzipped %.1f MB, zipped %.1f MB\n' \
  "$(echo "$(stat -c %s "$work/bootstrap") / 1000000" | bc -l)" \
  "$(echo "$(stat -c %s "$work/function.zip") / 1000000" | bc -l)"

# A bucket with the fixtures under a/ and b/, a database, and its settings in SSM.
id=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
bucket="csvgate-bench-$id"
s3_root="${CSVGATE_S3_ROOT:-$HOME/.cache/csvgate-s3}"
for prefix in a b; do
  mkdir -p "$s3_root/$bucket/$prefix"
  cp fixtures/departments.csv fixtures/jobs.csv fixtures/hired_employees.csv "$s3_root/$bucket/$prefix/"
done
database="csvgate_bench_$id"
mariadb -h127.0.0.1 -ucsvgate -pcsvgate -e "CREATE DATABASE $database"
mariadb -h127.0.0.1 -ucsvgate -pcsvgate "$database" <sql/mysql/ddl.sql
ssm_prefix="/csvgate-bench-$id/db"
"$venv/bin/python" - "$ssm_prefix" "$database" <<'PY'
import sys, boto3
prefix, database = sys.argv[1:]
ssm = boto3.client("ssm", endpoint_url="http://127.0.0.1:8015", region_name="us-east-1",
                   aws_access_key_id="csvgate", aws_secret_access_key="csvgate-secret")
for name, value, kind in [("host", "127.0.0.1", "String"), ("name", database, "String"),
                          ("user", "csvgate", "SecureString"), ("password", "csvgate", "SecureString")]:
    ssm.put_parameter(Name=f"{prefix}/{name}", Value=value, Type=kind, Overwrite=True)
PY
for prefix in a b; do
  python3 - "$bucket" "$prefix" >"$work/$prefix.json" <<'PY'
import json, sys
bucket, prefix = sys.argv[1:]
template = json.load(open("fixtures/events/put.json"))["Records"][0]
records = []
for name in ["departments.csv", "jobs.csv", "hired_employees.csv"]:
    record = json.loads(json.dumps(template))
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["object"]["key"] = f"{prefix}/{name}"
    records.append(record)
print(json.dumps({"Records": records}))
PY
done

port=9100
"$venv/bin/cargo-lambda" lambda watch --only-lambda-apis -P "$port" >"$work/watch.log" 2>&1 &
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done
invoke() {
  timeout 300 "$venv/bin/cargo-lambda" lambda invoke -A 127.0.0.1 -P "$port" --data-file "$1" _ >"$work/answer.json"
  [ "$(grep -o '"done"' "$work/answer.json" | wc -l)" = 3 ] ||
    { cat "$work/answer.json" "$work/function.log" >&2; exit 1; }
}
now() { date +%s.%N; }

start=$(now)
env AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$port/.rt" AWS_LAMBDA_FUNCTION_NAME=_ \
  AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 \
  AWS_ENDPOINT_URL=http://127.0.0.1:8014 AWS_ALLOW_HTTP=true AWS_ENDPOINT_URL_SSM=http://127.0.0.1:8015 \
  AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=csvgate AWS_SECRET_ACCESS_KEY=csvgate-secret \
  CSVGATE_LANDING="s3://$bucket/" CSVGATE_INVALID="s3://$bucket/invalid/" \
  CSVGATE_WAREHOUSE="$work/warehouse" CSVGATE_SSM_PREFIX="$ssm_prefix" \
  "$binary" >"$work/function.log" 2>&1 &
invoke "$work/a.json"
cold=$(echo "$(now) - $start" | bc -l)
start=$(now)
invoke "$work/b.json"
warm=$(echo "$(now) - $start" | bc -l)
printf 'cold %.2f s, warm %.2f s, cold/warm %.2f\n' "$cold" "$warm" "$(echo "$cold / $warm" | bc -l)"
mariadb -h127.0.0.1 -ucsvgate -pcsvgate -e "DROP DATABASE $database"
