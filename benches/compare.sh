#!/usr/bin/env bash
# Before and after: the release binaries of two commits, measured in interleaved rounds so both
# see the same machine (a busy 2-core box drifts by more than the 5 % we look for):
#   - the split of 1M and 10M generated rows (as split.sh: wall seconds, peak RSS);
#   - PUT of the real 1,999-row file with ?wait=true, as the ratio of its p50 to the p50 of
#     GET /healthz on the same server (as api.sh, one connection, DURATION each, default 10s).
# Prints every round, then the medians with after/before ratios.
#   benches/compare.sh BEFORE [AFTER]    (commits; AFTER defaults to HEAD; ROUNDS default 5;
#                                          FIGURES="split put" by default, or one of them;
#                                          AFTER_ARGS: global flags of AFTER's splits, such as
#                                          "--contract contracts/hr.odcs.yaml")
# Each commit is built once, in a worktree outside the clone, into the shared target folder (the
# dependencies compile once when the two lock files agree); the binaries are kept by commit id.
BENCH_NO_BUILD=1 source "$(dirname "$0")/lib.sh"
before=$(git rev-parse --short "${1:?usage: benches/compare.sh BEFORE [AFTER]}")
after=$(git rev-parse --short "${2:-HEAD}")
rounds="${ROUNDS:-5}"
rows_list="${ROWS:-1000000 10000000}"
figures="${FIGURES:-split put}"
duration="${DURATION:-10s}"
export API_KEY=bench-key
revs="$HOME/.cache/csvgate-revs"

# The release binary of commit $1, built once and kept as $revs/bin/csvgate-$1.
binary_of() {
  local commit=$1 tree="$revs/tree-$1" bin="$revs/bin/csvgate-$1"
  if [ ! -x "$bin" ]; then
    mkdir -p "$revs/bin"
    [ -d "$tree" ] || git worktree add --detach "$tree" "$commit" >&2
    (cd "$tree" && cargo build --release --locked --quiet --bin csvgate) >&2
    cp "$CARGO_TARGET_DIR/release/csvgate" "$bin"
  fi
  echo "$bin"
}

# "wall rss_kib" of one split of $1 rows by the binary in $csvgate, into a fresh folder.
split_once() {
  local file run="$work/compare-run"
  file=$(generated "$1")
  rm -rf "$run"
  local flags=(--landing "$run/landing" --invalid "$run/invalid" --warehouse "$run/warehouse" --quiet "${extra[@]}")
  "$csvgate" "${flags[@]}" ingest fixtures/departments.csv fixtures/jobs.csv >/dev/null
  measure "$csvgate" "${flags[@]}" ingest "$file"
  rm -rf "$run"
}

# "healthz_p50 put_p50 ratio" of one server of the binary in $csvgate.
put_ratio_once() {
  local dir="$work/compare-api"
  rm -rf "$dir" && mkdir -p "$dir"
  start_server "$dir"
  load_reference_tables
  local a50 p50 _
  read -r a50 _ _ < <(load GET /healthz /dev/null text/plain)
  read -r p50 _ _ < <(load PUT "/globant-landing/hired_employees/bench-%d.csv?wait=true" fixtures/hired_employees.csv "*/csv")
  kill "$server_pid" && wait "$server_pid" || true
  rm -rf "$dir"
  awk -v a="$a50" -v p="$p50" 'BEGIN { printf "%.3f %.3f %.3f\n", a, p, p / a }'
}

bin_before=$(binary_of "$before")
bin_after=$(binary_of "$after")
csvgate=$bin_after
[[ " $figures " == *" split "* ]] || rows_list=""
for rows in $rows_list; do generated "$rows" >/dev/null; done

results="$work/compare-$before-$after.tsv"
: >"$results"
printf '%-6s %-9s %-22s %10s %10s\n' round commit figure value rss_mib
for round in $(seq 1 "$rounds"); do
  # Alternate which binary goes first, so neither always runs on a cooler machine.
  order=("$before" "$after")
  [ $((round % 2)) = 0 ] && order=("$after" "$before")
  for commit in "${order[@]}"; do
    csvgate="$revs/bin/csvgate-$commit"
    extra=()
    # shellcheck disable=SC2206 # flags, split on blanks
    [ "$commit" = "$after" ] && extra=(${AFTER_ARGS:-})
    for rows in $rows_list; do
      # Into a variable first: `read < <(…)` returns at the first line, leaving the rest of
      # split_once (its clean-up) running beside the next split.
      measured=$(split_once "$rows")
      read -r wall rss <<<"$measured"
      printf '%s\t%s\tsplit_%s_s\t%s\t%s\n' "$round" "$commit" "$rows" "$wall" "$rss" >>"$results"
    done
    [[ " $figures " == *" put "* ]] || continue
    read -r a50 p50 ratio < <(put_ratio_once)
    printf '%s\t%s\tput_vs_healthz\t%s\t0\n' "$round" "$commit" "$ratio" >>"$results"
    printf '%s\t%s\tput_p50_ms\t%s\t0\n' "$round" "$commit" "$p50" >>"$results"
    printf '%s\t%s\thealthz_p50_ms\t%s\t0\n' "$round" "$commit" "$a50" >>"$results"
  done
done
awk -F'\t' '{ printf "%-6s %-9s %-22s %10s %10.1f\n", $1, $2, $3, $4, $5 / 1024 }' "$results"

echo
printf '%-22s %12s %12s %12s %14s\n' figure "$before" "$after" after/before "rss after/before"
python3 - "$results" "$before" "$after" <<'PY'
import csv, statistics, sys
path, before, after = sys.argv[1:]
values = {}
for round_, commit, figure, value, rss in csv.reader(open(path), delimiter="\t"):
    values.setdefault(figure, {}).setdefault(commit, []).append((float(value), float(rss)))
for figure, by_commit in values.items():
    median = lambda commit, i: statistics.median(v[i] for v in by_commit[commit])
    b, a = median(before, 0), median(after, 0)
    rss = median(after, 1) / median(before, 1) if median(before, 1) else float("nan")
    print(f"{figure:<22} {b:>12.3f} {a:>12.3f} {a / b:>12.3f} {rss:>14.3f}")
PY
