#!/usr/bin/env bash
# Split throughput: csvgate (CSV → Delta table + invalid CSV) against DuckDB doing the same
# split into Parquet (line numbers, repeated ids: duckdb_split.py), and against the plainest
# DuckDB split (duckdb_plain_split.py: no line numbers, no repeated-id check), in the same run,
# at 1M and 10M generated rows (override: ROWS="1000000"). Reports wall time, rows/s and peak
# RSS (/usr/bin/time -v), and csvgate's ratios to each.
source "$(dirname "$0")/lib.sh"
rows_list="${ROWS:-1000000 10000000}"
python=$(duckdb_python)

printf '%-10s %-8s %9s %12s %10s %10s %10s\n' rows engine wall_s rows_per_s rss_mib wall_ratio rss_ratio
declare -A rss_csvgate
for rows in $rows_list; do
  file=$(generated "$rows")
  run="$work/run-$rows"
  rm -rf "$run" && mkdir -p "$run/duckdb" "$run/plain"
  flags=(--landing "$run/landing" --invalid "$run/invalid" --warehouse "$run/warehouse" --quiet)
  "$csvgate" "${flags[@]}" ingest fixtures/departments.csv fixtures/jobs.csv
  read -r duck_wall duck_rss < <(measure "$python" benches/duckdb_split.py "$file" fixtures/departments.csv fixtures/jobs.csv "$run/duckdb")
  read -r plain_wall plain_rss < <(measure "$python" benches/duckdb_plain_split.py "$file" fixtures/departments.csv fixtures/jobs.csv "$run/plain")
  read -r gate_wall gate_rss < <(measure "$csvgate" "${flags[@]}" ingest "$file")
  rss_csvgate[$rows]=$gate_rss
  report_pair "$rows" duckdb "$duck_wall" "$duck_rss" csvgate "$gate_wall" "$gate_rss"
  report_pair "$rows" plain "$plain_wall" "$plain_rss" csvgate "$gate_wall" "$gate_rss" |
    sed '2s/csvgate /vs_plain/'
  "$csvgate" "${flags[@]}" runs --last 1 --format csv | tail -1 | cut -d, -f5-9
  rm -rf "$run"
done
first=${rows_list%% *}
last=${rows_list##* }
if [ "$first" != "$last" ]; then
  awk -v a="${rss_csvgate[$first]}" -v b="${rss_csvgate[$last]}" -v f="$first" -v l="$last" \
    'BEGIN { printf "csvgate peak RSS at %s rows / at %s rows: %.2f\n", l, f, b / a }'
fi
