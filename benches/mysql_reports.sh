#!/usr/bin/env bash
# Q1/Q2 on MariaDB without a rollup, at 1M and 10M generated rows (ROWS to change): the
# committed queries (queries/mysql/) against the naive SQL a user first writes
# (benches/mysql_naive/: YEAR()/QUARTER() on every row), on the same data in the same run. Whole
# runs through the mariadb client, RUNS (3) of each, interleaved, median reported; each
# answer checked equal to the naive one; EXPLAIN of both printed. InnoDB's buffer pool is set
# to POOL (4G) first: what a server of this data needs (see benches/README.md).
source "$(dirname "$0")/lib.sh"
scripts/services
rows_list="${ROWS:-1000000 10000000}"
runs="${RUNS:-3}"
year="${YEAR:-2021}"
server="${CSVGATE_BENCH_MYSQL:-mysql://csvgate:csvgate@127.0.0.1:3306}"
db=csvgate_mysql_reports
mysql=(mariadb -h127.0.0.1 -ucsvgate -pcsvgate --local-infile=1)
run="$work/mysql-reports" && rm -rf "$run" && mkdir -p "$run"
mariadb -uroot -e "SET GLOBAL innodb_buffer_pool_size = $(numfmt --from=iec "${POOL:-4G}")"
now() { date +%s.%N; }

# The text of query file $1 with the year written in, as the client sends it.
with_year() { sed "s/:year/$year/g" "$1"; }

# Seconds of one whole run of query file $1 (its answer kept in $2).
timed() {
  local start
  start=$(now)
  with_year "$1" | "${mysql[@]}" -N -B "$db" >"$2"
  echo "$(now) - $start" | bc
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%-10s %-6s %-10s %10s %10s\n' rows query sql seconds vs_naive
for rows in $rows_list; do
  "${mysql[@]}" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
  flags=(--landing "$run/landing" --invalid "$run/invalid" --warehouse "$run/warehouse"
    --target "$server/$db" --quiet)
  rm -rf "$run/landing" "$run/invalid" "$run/warehouse"
  "$csvgate" "${flags[@]}" db init
  "$csvgate" "${flags[@]}" ingest fixtures/departments.csv fixtures/jobs.csv "$(generated "$rows")"
  "${mysql[@]}" "$db" -e "ANALYZE TABLE hired_employees, departments, jobs" >/dev/null
  for query in q1 q2; do
    naive=benches/mysql_naive/$query.sql
    committed=$(ls queries/mysql/"$query"_*.sql)
    for sql in naive committed; do
      file=$([ "$sql" = naive ] && echo "$naive" || echo "$committed")
      echo "EXPLAIN $rows $query $sql:" >>"$run/explain.txt"
      (echo "EXPLAIN"; with_year "$file") | "${mysql[@]}" -t "$db" >>"$run/explain.txt"
    done
    : >"$run/naive.s" && : >"$run/committed.s"
    for _ in $(seq 1 "$runs"); do
      timed "$naive" "$run/naive.out" >>"$run/naive.s"
      timed "$committed" "$run/committed.out" >>"$run/committed.s"
      cmp -s "$run/naive.out" "$run/committed.out" ||
        { echo "$query at $rows: the answers differ" >&2; diff "$run/naive.out" "$run/committed.out" | head >&2; exit 1; }
    done
    naive_s=$(median <"$run/naive.s")
    committed_s=$(median <"$run/committed.s")
    for sql in naive committed; do
      seconds=$([ "$sql" = naive ] && echo "$naive_s" || echo "$committed_s")
      awk -v r="$rows" -v q="$query" -v s="$sql" -v t="$seconds" -v a="$naive_s" \
        'BEGIN { printf "%-10s %-6s %-10s %10.3f %10.3f\n", r, q, s, t, t / a }'
    done
  done
done
echo "plans: $run/explain.txt"
"${mysql[@]}" -e "DROP DATABASE $db"
