#!/usr/bin/env bash
# Memory of one hostile line: the generated employees file (ROWS rows, default 100,000) as the
# anchor, against the same file with one 100 MB line in its middle, once as a plain field and
# once as a quoted field that never closes. Each line is cut at the record budget
# ([ingest] max_record_bytes, 1 MiB) and kept as one rejected row, so peak RSS must stay
# within 1.2 of the anchor's (benches/README.md) however long the line is.
source "$(dirname "$0")/lib.sh"
rows="${ROWS:-100000}"
line_bytes="${LINE_BYTES:-100000000}"
file=$(generated "$rows")
half=$((rows / 2))

# The generated file with one line of $line_bytes bytes after its first half: $1 is what
# opens the long field ('' or '"').
with_long_line() {
  local out="$work/data/hired_employees_long_line_${rows}_${line_bytes}_$2.csv"
  if [ ! -s "$out" ]; then
    {
      head -n "$half" "$file"
      printf '999999999,%s' "$1"
      head -c "$line_bytes" /dev/zero | tr '\0' x
      printf ',2021-01-01T00:00:00Z,1,1\n'
      tail -n +"$((half + 1))" "$file"
    } >"$out"
  fi
  echo "$out"
}

printf '%-10s %-8s %9s %12s %10s %10s %10s\n' rows input wall_s rows_per_s rss_mib wall_ratio rss_ratio
run="$work/run-long-line"
flags=(--landing "$run/landing" --invalid "$run/invalid" --warehouse "$run/warehouse" --quiet)
ingest() {
  rm -rf "$run" && mkdir -p "$run"
  "$csvgate" "${flags[@]}" ingest fixtures/departments.csv fixtures/jobs.csv
  measure "$csvgate" "${flags[@]}" ingest "$1"
}
# Rows read, valid and invalid of the last run.
counts() {
  "$csvgate" "${flags[@]}" runs --last 1 --format csv | tail -1 | cut -d, -f7-9
}
read -r anchor_wall anchor_rss < <(ingest "$file")
report_pair "$rows" anchor "$anchor_wall" "$anchor_rss" anchor "$anchor_wall" "$anchor_rss" | sed -n 1p
echo "anchor rows read,valid,invalid: $(counts)"
for opener in plain quoted; do
  quote=''
  [ "$opener" = quoted ] && quote='"'
  long=$(with_long_line "$quote" "$opener")
  read -r wall rss < <(ingest "$long")
  report_pair "$rows" anchor "$anchor_wall" "$anchor_rss" "$opener" "$wall" "$rss" | sed -n 2p
  echo "$opener rows read,valid,invalid: $(counts)"
done
rm -rf "$run"
