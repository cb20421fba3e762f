#!/usr/bin/env bash
# Q1/Q2 at 1M and 10M generated rows (override: ROWS="10000000"): embedded DataFusion, a
# Ballista cluster of csvgate processes on loopback with one executor and then two, and DuckDB
# over the same Parquet files as the anchor, all in the same run; at each size the cluster's
# answers must equal the embedded engine's, byte for byte. Each executor runs two tasks at once
# (the machine's cores), so on one 2-core machine the second executor adds no cores: what it
# shows is the cost of spreading a query over processes, not a speed-up.
BENCH_FEATURES=ballista
source "$(dirname "$0")/lib.sh"
rows_list="${ROWS:-1000000 10000000}"
python=$(duckdb_python)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

# Polls until the scheduler's log has line $1 (a state, not a fixed sleep), for at most a minute.
wait_for_log() {
  for _ in $(seq 600); do
    grep -q "$1" "$run/logs/scheduler.log" && return 0
    sleep 0.1
  done
  echo "scheduler never logged '$1'" >&2 && cat "$run/logs/"*.log >&2 && exit 1
}
# Starts executor $1 and waits until the scheduler has $1 executors.
start_executor() {
  "$csvgate" "${flags[@]}" ballista executor --scheduler "$scheduler" --vcores 2 \
    --port $((50160 + 2 * $1)) --grpc-port $((50161 + 2 * $1)) 2>"$run/logs/executor$1.log" &
  pids+=($!)
  wait_for_log "$1 executors registered"
}
# Criterion over this warehouse; $1 names the Ballista run, $2 filters the benchmarks.
bench() {
  env CSVGATE_BENCH_WAREHOUSE="$run/warehouse" CSVGATE_BENCH_BALLISTA="$scheduler" \
    CSVGATE_BENCH_BALLISTA_LABEL="$1" \
    cargo bench --locked --quiet --features ballista --bench reports -- --noplot "$2" >/dev/null 2>&1
}
# Fails unless the cluster answers Q1 and Q2 as the embedded engine does.
same_answers() {
  for query in q1 q2; do
    cmp <("$csvgate" "${flags[@]}" report "$query" --format csv) \
      <("$csvgate" "${flags[@]}" report "$query" --format csv --engine ballista --scheduler "$scheduler") ||
      { echo "$query: the cluster's answer differs from the embedded engine's" >&2 && exit 1; }
  done
}

printf '%-10s %-6s %-12s %10s %10s\n' rows query engine seconds vs_duckdb
for rows in $rows_list; do
  run="$work/ballista-$rows" && rm -rf "$run" && mkdir -p "$run/logs"
  flags=(--landing "$run/landing" --invalid "$run/invalid" --warehouse "$run/warehouse" --quiet)
  "$csvgate" "${flags[@]}" ingest fixtures/departments.csv fixtures/jobs.csv "$(generated "$rows")"
  "$csvgate" "${flags[@]}" ballista scheduler --listen 127.0.0.1:0 2>"$run/logs/scheduler.log" &
  pids+=($!)
  wait_for_log "listening on df://"
  scheduler=$(grep -o 'df://[0-9.:]*' "$run/logs/scheduler.log" | head -1)
  start_executor 1
  same_answers
  bench 1 ""
  start_executor 2
  same_answers
  bench 2 ballista_2
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
  duck=$("$python" benches/duckdb_reports.py "$run/warehouse" 10)
  for query in Q1 Q2; do
    anchor=$(awk -v q="${query,,}" '$1 == q { print $2 }' <<<"$duck")
    awk -v r="$rows" -v q="$query" -v s="$anchor" 'BEGIN { printf "%-10s %-6s %-12s %10.4f %10.2f\n", r, q, "duckdb", s, 1 }'
    for engine in datafusion ballista_1 ballista_2; do
      seconds=$(criterion_mean "${query}_${engine}")
      awk -v r="$rows" -v q="$query" -v e="$engine" -v s="$seconds" -v d="$anchor" \
        'BEGIN { printf "%-10s %-6s %-12s %10.4f %10.2f\n", r, q, e, s, s / d }'
    done
  done
  rm -rf "$run"
done
