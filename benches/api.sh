#!/usr/bin/env bash
# HTTP API under load (wrk, one connection, so latency is per request, not queueing):
#   - the anchor: GET /healthz, the server's floor, measured in the same run;
#   - PUT of the real 1,999-row hired_employees file with ?wait=true (stored, validated,
#     loaded, ledger written, answer sent), each request a new key;
#   - POST /tables/hired_employees/rows with 1,000 rows.
# On the embedded Delta target, and on MariaDB too with MYSQL=1. DURATION defaults to 20s.
source "$(dirname "$0")/lib.sh"
[ -x /usr/bin/wrk ] || apt-get install -y -qq wrk >/dev/null
duration="${DURATION:-20s}"
server_url="${CSVGATE_BENCH_MYSQL:-mysql://csvgate:csvgate@127.0.0.1:3306}"
export API_KEY=bench-key

# Starts `csvgate serve` with extra flags in folder $1; sets $base and $server_pid.
start_server() {
  local dir=$1 && shift
  "$csvgate" --warehouse "$dir/warehouse" --landing "$dir/landing" --invalid "$dir/invalid" \
    "$@" serve --listen 127.0.0.1:0 --api-key "$API_KEY" >/dev/null 2>"$dir/server.log" &
  server_pid=$!
  for _ in $(seq 1 100); do
    base=$(sed -n 's/^csvgate: listening on //p' "$dir/server.log")
    [ -n "$base" ] && return
    sleep 0.1
  done
  cat "$dir/server.log" >&2 && exit 1
}

# wrk's p50, p99 (ms) and requests/s for METHOD PATH_FMT BODY CONTENT_TYPE.
load() {
  METHOD=$1 PATH_FMT=$2 BODY=$3 CONTENT_TYPE=$4 \
    wrk -t1 -c1 -d"$duration" --latency -s benches/wrk/request.lua "$base" |
    awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; return v * 1000 }
         $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) } $1 == "Requests/sec:" { rps = $2 }
         END { printf "%.2f %.2f %.1f\n", p50, p99, rps }'
}

run="$work/api-run"
rm -rf "$run" && mkdir -p "$run"
python3 - "$run/rows.json" <<'PY'
import json, sys
rows = [{"id": 100000 + i, "name": f"Person {i}", "datetime": "2021-05-01T12:00:00Z",
         "department_id": 1 + i % 12, "job_id": 1 + i % 183} for i in range(1000)]
json.dump(rows, open(sys.argv[1], "w"))
PY

targets=(embedded)
[ "${MYSQL:-0}" = 1 ] && scripts/services && targets+=(mariadb)
printf '%-9s %-34s %9s %9s %9s %12s\n' target request p50_ms p99_ms req_per_s p50_vs_anchor
for target in "${targets[@]}"; do
  dir="$run/$target" && mkdir -p "$dir"
  flags=()
  if [ "$target" = mariadb ]; then
    mariadb -h127.0.0.1 -ucsvgate -pcsvgate -e "DROP DATABASE IF EXISTS csvgate_api; CREATE DATABASE csvgate_api"
    flags=(--target "$server_url/csvgate_api")
    "$csvgate" --quiet "${flags[@]}" db init
  fi
  start_server "$dir" "${flags[@]}"
  for table in departments jobs; do
    curl -sf -X PUT -H "x-api-key: $API_KEY" --data-binary "@fixtures/$table.csv" \
      "$base/globant-landing/$table.csv?wait=true" >/dev/null
  done
  read -r a50 a99 arps < <(load GET /healthz /dev/null text/plain)
  read -r p50 p99 prps < <(load PUT "/globant-landing/hired_employees/bench-%d.csv?wait=true" fixtures/hired_employees.csv "*/csv")
  read -r b50 b99 brps < <(load POST /tables/hired_employees/rows "$run/rows.json" application/json)
  for row in "GET /healthz (anchor)|$a50|$a99|$arps" "PUT 1,999-row file ?wait=true|$p50|$p99|$prps" \
             "POST 1,000 rows|$b50|$b99|$brps"; do
    IFS='|' read -r name q50 q99 rps <<<"$row"
    awk -v t="$target" -v n="$name" -v a="$q50" -v b="$q99" -v r="$rps" -v anchor="$a50" \
      'BEGIN { printf "%-9s %-34s %9.2f %9.2f %9.1f %12.1f\n", t, n, a, b, r, a / anchor }'
  done
  kill "$server_pid" && wait "$server_pid" || true
done
