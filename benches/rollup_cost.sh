#!/usr/bin/env bash
# What keeping the rollups costs a load: the same split of ROWS generated employees (default
# "1000000 10000000") into a fresh Delta warehouse with the rollups kept (the default) and with
# `CSVGATE_ROLLUPS=false`, in ROUNDS (3) interleaved rounds, then a reload of 10 % of the rows
# moved to other groups (the incremental path). With MYSQL=1, the same into a fresh MariaDB
# database at MYSQL_ROWS (1000000). Medians, and kept / not kept.
source "$(dirname "$0")/lib.sh"
rows_list="${ROWS:-1000000 10000000}"
rounds="${ROUNDS:-3}"
server="${CSVGATE_BENCH_MYSQL:-mysql://csvgate:csvgate@127.0.0.1:3306}"
mysql=(mariadb -h127.0.0.1 -ucsvgate -pcsvgate) # the user and server of $server
now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The first tenth of file $1's lines with the hire moved to the 15th of a month one to three
# later, in the next year past December: a reload that moves 10 % of the hires to other
# quarters or years. (The name starts with the table's, which tells csvgate where it goes.)
moved_tenth() {
  local out="$work/data/hired_employees_moved_$(basename "$1")"
  [ -s "$out" ] || awk -v n="$(($(wc -l <"$1") / 10))" -F, -v OFS=, '
    NR > n { exit }
    $3 ~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-/ {
      year = substr($3, 1, 4) + 0; month = substr($3, 6, 2) + 1 + NR % 3
      if (month > 12) { month -= 12; year += 1 }
      $3 = sprintf("%04d-%02d-15%s", year, month, substr($3, 11))
    }
    { print }' "$1" >"$out"
  echo "$out"
}

# Seconds of a first load and of the moved reload of file $1 into fresh folders (and a fresh
# database when $2 is "mysql"), with CSVGATE_ROLLUPS=$3.
one_round() {
  local file=$1 target=$2 rollups=$3 run="$work/rollup-run"
  rm -rf "$run" && mkdir -p "$run"
  local flags=(--landing "$run/landing" --invalid "$run/invalid" --warehouse "$run/warehouse" --quiet)
  if [ "$target" = mysql ]; then
    "${mysql[@]}" -e "DROP DATABASE IF EXISTS csvgate_rollup_bench; CREATE DATABASE csvgate_rollup_bench"
    flags+=(--target "$server/csvgate_rollup_bench")
    CSVGATE_ROLLUPS=$rollups "$csvgate" "${flags[@]}" db init
  fi
  CSVGATE_ROLLUPS=$rollups "$csvgate" "${flags[@]}" ingest fixtures/departments.csv fixtures/jobs.csv
  local start first
  start=$(now)
  CSVGATE_ROLLUPS=$rollups "$csvgate" "${flags[@]}" ingest "$file"
  first=$(echo "$(now) - $start" | bc)
  start=$(now)
  CSVGATE_ROLLUPS=$rollups "$csvgate" "${flags[@]}" ingest "$(moved_tenth "$file")"
  echo "$first $(echo "$(now) - $start" | bc)"
}

# Interleaved rounds of file $1 into target $2 ("embedded" or "mysql"); prints both medians.
compare() {
  local file=$1 target=$2 rows=$3 round
  local -a kept_first kept_moved off_first off_moved
  for round in $(seq 1 "$rounds"); do
    read -r a b < <(one_round "$file" "$target" false)
    off_first+=("$a") && off_moved+=("$b")
    read -r a b < <(one_round "$file" "$target" true)
    kept_first+=("$a") && kept_moved+=("$b")
  done
  for load in first moved; do
    local -n off="off_$load" kept="kept_$load"
    local off_s kept_s
    off_s=$(printf '%s\n' "${off[@]}" | median)
    kept_s=$(printf '%s\n' "${kept[@]}" | median)
    awk -v r="$rows" -v t="$target" -v l="$load" -v o="$off_s" -v k="$kept_s" -v all="${off[*]} | ${kept[*]}" \
      'BEGIN { printf "%-9s %-9s %-6s %10.2f %10.2f %7.3f   (%s)\n", r, t, l, o, k, k / o, all }'
  done
}

printf '%-9s %-9s %-6s %10s %10s %7s   %s\n' rows target load off_s kept_s ratio "(rounds: off | kept)"
for rows in $rows_list; do
  compare "$(generated "$rows")" embedded "$rows"
done
if [ "${MYSQL:-0}" = 1 ]; then
  scripts/services >/dev/null
  rows="${MYSQL_ROWS:-1000000}"
  compare "$(generated "$rows")" mysql "$rows"
fi
