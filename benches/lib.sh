# Shared set-up of the benchmark scripts (sourced, not run): the release binary, a work folder
# (BENCH_DIR, default .bench), generated input files, and DuckDB from PyPI in a venv there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/csvgate-target}"
work="${BENCH_DIR:-.bench}"
mkdir -p "$work/data"
# One bench-profile build serves the binary and the criterion benches (same features, no second
# compile); a script that needs a cargo feature sets BENCH_FEATURES before sourcing this.
# A script that brings its own binaries (compare.sh) sets BENCH_NO_BUILD=1.
features=()
[ -n "${BENCH_FEATURES:-}" ] && features=(--features "$BENCH_FEATURES")
[ "${BENCH_NO_BUILD:-0}" = 1 ] || cargo bench --no-run --locked --quiet "${features[@]}"
# CSVGATE_BIN runs another binary where its speed is not what is measured (loading a database).
csvgate="${CSVGATE_BIN:-$CARGO_TARGET_DIR/release/csvgate}"

# Makes sure $work/venv has DuckDB; prints the venv's python.
duckdb_python() {
  if [ ! -x "$work/venv/bin/python" ]; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet duckdb
  fi
  echo "$work/venv/bin/python"
}

# The generated hired_employees file of $1 rows (seed 42), made once and kept in $work/data.
generated() {
  local file="$work/data/hired_employees_$1.csv"
  [ -s "$file" ] || "$csvgate" --quiet gen --rows "$1" --seed 42 --out "$file"
  echo "$file"
}

# Starts `$csvgate serve` with extra flags in folder $1 (API key $API_KEY), its buckets folders
# of $1 unless the flags name a warehouse; sets $base and $server_pid.
start_server() {
  local dir=$1 && shift
  local folders=(--warehouse "$dir/warehouse" --landing "$dir/landing" --invalid "$dir/invalid")
  [[ " $* " == *" --warehouse "* ]] && folders=()
  "$csvgate" "${folders[@]}" "$@" serve --listen 127.0.0.1:0 --api-key "$API_KEY" >/dev/null 2>"$dir/server.log" &
  server_pid=$!
  for _ in $(seq 1 100); do
    base=$(sed -n 's/^csvgate: listening on //p' "$dir/server.log")
    [ -n "$base" ] && return
    sleep 0.1
  done
  cat "$dir/server.log" >&2 && exit 1
}

# PUTs the departments and jobs fixtures into the server at $base, so employees can be loaded.
load_reference_tables() {
  for table in departments jobs; do
    curl -sf -X PUT -H "x-api-key: $API_KEY" --data-binary "@fixtures/$table.csv" \
      "$base/globant-landing/$table.csv?wait=true" >/dev/null
  done
}

# wrk's p50, p99 (ms, to the microsecond wrk records: a `GET /healthz` takes ~0.15 ms, so two
# decimals would be a 7 % step) and requests/s for METHOD PATH_FMT BODY CONTENT_TYPE against
# $base, one connection for $duration.
load() {
  load_with 1 "$@" | cut -d' ' -f1-3
}

# `load` with $1 connections (two wrk threads past one), then the cores wrk itself used (user
# and system CPU over wall time: the clients share the machine with the server). Requests are
# numbered from REQUEST_OFFSET (0), so that runs in one server use keys of their own.
load_with() {
  local connections=$1 threads=1 out
  shift
  [ "$connections" -gt 1 ] && threads=2
  [ -x /usr/bin/wrk ] || apt-get install -y -qq wrk >/dev/null
  [ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
  out=$(mktemp)
  METHOD=$1 PATH_FMT=$2 BODY=$3 CONTENT_TYPE=$4 REQUEST_OFFSET=${REQUEST_OFFSET:-0} \
    /usr/bin/time -f "%U %S %e" -o "$out.time" \
    wrk -t"$threads" -c"$connections" -d"$duration" --latency -s benches/wrk/request.lua "$base" >"$out"
  awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; return v * 1000 }
       $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) } $1 == "Requests/sec:" { rps = $2 }
       END { printf "%.3f %.3f %.1f ", p50, p99, rps }' "$out"
  # GNU time puts a "Command exited with non-zero status" line first when wrk fails.
  tail -1 "$out.time" | awk '{ printf "%.2f\n", ($1 + $2) / $3 }'
  rm -f "$out" "$out.time"
}

# Runs a command under /usr/bin/time -v; prints "seconds peak_kib".
measure() {
  [ -x /usr/bin/time ] || apt-get install -y time >/dev/null
  local log
  log=$(mktemp)
  /usr/bin/time -v "$@" 2>"$log" >/dev/null || { cat "$log" >&2; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  rm -f "$log"
  echo "$wall $rss"
}

# Prints the rows of an anchor and of what is measured against it, with the ratios to the anchor:
# report_pair ROWS ANCHOR WALL RSS_KIB OTHER WALL RSS_KIB
report_pair() {
  local rows=$1
  for side in "$2 $3 $4" "$5 $6 $7"; do
    read -r name wall rss <<<"$side"
    awk -v r="$rows" -v e="$name" -v w="$wall" -v m="$rss" -v aw="$3" -v am="$4" \
      'BEGIN { printf "%-10s %-8s %9.2f %12.0f %10.1f %10.2f %10.2f\n", r, e, w, r / w, m / 1024, w / aw, m / am }'
  done
}


# Mean of a criterion benchmark of the group `reports` ($1, e.g. Q1_datafusion), in seconds.
criterion_mean() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mean"]["point_estimate"] / 1e9)' \
    "$CARGO_TARGET_DIR/criterion/reports/$1/new/estimates.json"
}

# Prints query $2's rows at size $1: DuckDB's $3 seconds (the anchor), then the criterion mean of
# each engine named after it, with its ratio to the anchor.
print_query_times() {
  local rows=$1 query=$2 anchor=$3 engine seconds
  shift 3
  awk -v r="$rows" -v q="$query" -v s="$anchor" 'BEGIN { printf "%-10s %-6s %-12s %10.4f %10.2f\n", r, q, "duckdb", s, 1 }'
  for engine in "$@"; do
    seconds=$(criterion_mean "${query}_${engine}")
    awk -v r="$rows" -v q="$query" -v e="$engine" -v s="$seconds" -v d="$anchor" \
      'BEGIN { printf "%-10s %-6s %-12s %10.4f %10.2f\n", r, q, e, s, s / d }'
  done
}
