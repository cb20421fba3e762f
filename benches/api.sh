#!/usr/bin/env bash
# HTTP API under load (wrk, one connection, so latency is per request, not queueing):
#   - the anchor: GET /healthz, the server's floor, measured in the same run;
#   - PUT of the real 1,999-row hired_employees file with ?wait=true (stored, validated,
#     loaded, ledger written, answer sent), each request a new key;
#   - POST /tables/hired_employees/rows with 1,000 rows.
# On the embedded Delta target, and on MariaDB too with MYSQL=1. DURATION defaults to 20s.
source "$(dirname "$0")/lib.sh"
duration="${DURATION:-20s}"
server_url="${CSVGATE_BENCH_MYSQL:-mysql://csvgate:csvgate@127.0.0.1:3306}"
export API_KEY=bench-key

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
  load_reference_tables
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
