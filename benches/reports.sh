#!/usr/bin/env bash
# Q1/Q2 speed: DataFusion over the Delta warehouse, over the rows and from the hires_by_quarter
# rollup end to end (criterion, benches/reports.rs), against DuckDB
# over the same Parquet files, in the same run, at the fixture size and at 1M and 10M generated
# rows (override: ROWS="1000000"). With MYSQL=1, MariaDB too (loaded at each size; slow at 10M),
# over the rows and from its rollup. Then `GET /reports/q1` and `/reports/q2` on a warm
# `csvgate serve` over the same data, under wrk (one connection, DURATION each): p50 against
# `GET /healthz` on the same server.
source "$(dirname "$0")/lib.sh"
duration="${DURATION:-10s}"
export API_KEY=bench-key
rows_list="${ROWS:-1000000 10000000}"
server="${CSVGATE_BENCH_MYSQL:-mysql://csvgate:csvgate@127.0.0.1:3306}"
python=$(duckdb_python)
[ "${MYSQL:-0}" = 1 ] && scripts/services

# p50 of GET /reports/q1 and q2 (year 2021) on a server over folder $1's data (size $2), started
# with the rest as flags and warmed by one request each, against GET /healthz.
served() {
  local run=$1 rows=$2 && shift 2
  local empty="$run/empty" && : >"$empty"
  # The flags after the folders and --quiet (the server says where it listens).
  start_server "$run" "${@:8}"
  trap 'kill "$server_pid" 2>/dev/null || true' EXIT
  curl -sf -H "x-api-key: $API_KEY" "$base/reports/q1?year=2021" >/dev/null
  curl -sf -H "x-api-key: $API_KEY" "$base/reports/q2?year=2021" >/dev/null
  local measured
  measured=$(load GET /healthz "$empty" text/plain) && read -r anchor _ <<<"$measured"
  for query in q1 q2; do
    measured=$(load GET "/reports/$query?year=2021" "$empty" text/plain)
    read -r p50 _ rps <<<"$measured"
    awk -v r="$rows" -v q="$query" -v p="$p50" -v a="$anchor" -v n="$rps" \
      'BEGIN { printf "%-10s GET /reports/%s p50 %.3f ms (%.0f/s), healthz p50 %.3f ms: %.1fx\n", r, q, p, n, a, p / a }'
  done
  kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
}

printf '%-10s %-6s %-12s %10s %10s\n' rows query engine seconds vs_duckdb
for rows in fixtures $rows_list; do
  run="$work/reports-$rows" && rm -rf "$run"
  flags=(--landing "$run/landing" --invalid "$run/invalid" --warehouse "$run/warehouse" --quiet)
  mysql_env=()
  if [ "${MYSQL:-0}" = 1 ]; then
    mariadb -h127.0.0.1 -ucsvgate -pcsvgate -e "DROP DATABASE IF EXISTS csvgate_reports; CREATE DATABASE csvgate_reports"
    flags+=(--target "$server/csvgate_reports" --mirror-parquet)
    "$csvgate" "${flags[@]}" db init
    mysql_env=(CSVGATE_BENCH_MYSQL_DB="$server/csvgate_reports")
  fi
  if [ "$rows" = fixtures ]; then
    "$csvgate" "${flags[@]}" ingest fixtures/
  else
    file=$(generated "$rows")
    "$csvgate" "${flags[@]}" ingest fixtures/departments.csv fixtures/jobs.csv "$file"
  fi
  env CSVGATE_BENCH_WAREHOUSE="$run/warehouse" "${mysql_env[@]}" \
    cargo bench --locked --quiet --bench reports -- --noplot >/dev/null 2>&1
  duck=$("$python" benches/duckdb_reports.py "$run/warehouse" 10)
  duck_q1=$(awk '$1 == "q1" { print $2 }' <<<"$duck")
  duck_q2=$(awk '$1 == "q2" { print $2 }' <<<"$duck")
  for query in Q1 Q2; do
    duck=$([ "$query" = Q1 ] && echo "$duck_q1" || echo "$duck_q2")
    engines=(datafusion rollup)
    [ "${MYSQL:-0}" = 1 ] && engines+=(mariadb mariadb_rollup)
    print_query_times "$rows" "$query" "$duck" "${engines[@]}"
  done
  served "$run" "$rows" "${flags[@]}"
  rm -rf "$run"
done
