#!/usr/bin/env bash
# Q1/Q2 at 1M and 10M generated rows (override: ROWS="10000000"): embedded DataFusion, a
# Ballista cluster of csvgate processes on loopback, and DuckDB over the same Parquet files as
# the anchor, all in the same run; at each size the cluster's answers must equal the embedded
# engine's, byte for byte. Both clusters have the machine's two cores as task slots: one
# executor of two slots, then two executors of one slot each, so what the second shows is the
# cost of spreading a query over processes, not a speed-up. The employees are loaded as 20
# files, as a warehouse fed by many uploads is: Ballista splits a scan into tasks by whole
# files, so one big file would be one task on one executor.
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
# Starts a scheduler and $1 executors of $2 task slots each, and waits until all registered.
# Executors log each task they run, to count how the work was spread.
start_cluster() {
  rm -f "$run/logs/"*.log
  "$csvgate" "${cluster[@]}" ballista scheduler --listen 127.0.0.1:0 2>"$run/logs/scheduler.log" &
  pids+=($!)
  wait_for_log "listening on df://"
  scheduler=$(grep -o 'df://[0-9.:]*' "$run/logs/scheduler.log" | head -1)
  for executor in $(seq "$1"); do
    CSVGATE_LOG=warn,ballista_executor::executor_server=info \
      "$csvgate" "${cluster[@]}" ballista executor --scheduler "$scheduler" --vcores "$2" \
      --port $((50160 + 2 * executor)) --grpc-port $((50161 + 2 * executor)) \
      2>"$run/logs/executor$executor.log" &
    pids+=($!)
  done
  wait_for_log "$1 executors registered"
}
stop_cluster() {
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
}
# How many tasks each executor ran, on stderr.
tasks_per_executor() {
  for log in "$run/logs/"executor*.log; do
    printf '%s: %s tasks  ' "$(basename "$log" .log)" "$(grep -c 'Execute task' "$log")"
  done >&2
  echo >&2
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
  run="$work/ballista-$rows" && rm -rf "$run" && mkdir -p "$run/logs" "$run/parts"
  # The cluster's processes log at info (their "N executors registered" is waited for).
  cluster=(--landing "$run/landing" --invalid "$run/invalid" --warehouse "$run/warehouse")
  flags=("${cluster[@]}" --quiet)
  split -d -a 2 -n l/20 --additional-suffix=.csv "$(generated "$rows")" "$run/parts/hired_employees-"
  "$csvgate" "${flags[@]}" ingest fixtures/departments.csv fixtures/jobs.csv
  "$csvgate" "${flags[@]}" ingest "$run/parts"
  # The same two cores as one executor of two slots, then as two executors of one slot each.
  start_cluster 1 2
  same_answers
  bench 1 ""
  tasks_per_executor
  stop_cluster
  start_cluster 2 1
  same_answers
  bench 2 ballista_2
  tasks_per_executor
  stop_cluster
  duck=$("$python" benches/duckdb_reports.py "$run/warehouse" 10)
  for query in Q1 Q2; do
    anchor=$(awk -v q="${query,,}" '$1 == q { print $2 }' <<<"$duck")
    print_query_times "$rows" "$query" "$anchor" datafusion ballista_1 ballista_2
  done
  rm -rf "$run"
done
