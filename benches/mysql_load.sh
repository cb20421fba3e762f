#!/usr/bin/env bash
# CSV → MariaDB: csvgate (read, validate, stage with LOAD DATA LOCAL, upsert + ledger in one
# transaction) against, in the same run, (a) the load limit: a raw LOAD DATA LOCAL INFILE of a
# file holding only the valid rows into an empty table, and (b) a naive row-at-a-time INSERT
# (autocommit) of the first NAIVE_ROWS valid rows. Rates are valid rows loaded per second.
# Needs MariaDB (scripts/services). ROWS defaults to 1000000.
source "$(dirname "$0")/lib.sh"
scripts/services
rows="${ROWS:-1000000}"
naive_rows="${NAIVE_ROWS:-20000}"
server="${CSVGATE_BENCH_MYSQL:-mysql://csvgate:csvgate@127.0.0.1:3306}"
mysql=(mariadb -h127.0.0.1 -ucsvgate -pcsvgate --local-infile=1)
file=$(generated "$rows")
run="$work/mysql-run" && rm -rf "$run" && mkdir -p "$run"
now() { date +%s.%N; }
fresh_db() { "${mysql[@]}" -e "DROP DATABASE IF EXISTS $1; CREATE DATABASE $1"; }
flags=(--landing "$run/landing" --invalid "$run/invalid" --warehouse "$run/warehouse" --quiet)

# csvgate, end to end.
fresh_db csvgate_bench
target=(--target "$server/csvgate_bench")
"$csvgate" "${flags[@]}" "${target[@]}" db init
"$csvgate" "${flags[@]}" "${target[@]}" ingest fixtures/departments.csv fixtures/jobs.csv
start=$(now)
"$csvgate" "${flags[@]}" "${target[@]}" ingest "$file"
gate_s=$(echo "$(now) - $start" | bc)
valid=$("${mysql[@]}" -N csvgate_bench -e "SELECT COUNT(*) FROM hired_employees")

# The valid rows only, as the load limit's input: drop the lines csvgate rejected (the
# second-to-last column of its invalid-rows files).
python3 - "$file" "$run/valid.csv" "$run"/invalid/hired_employees/*.csv <<'PY'
import csv, sys
source, out, invalid_files = sys.argv[1], sys.argv[2], sys.argv[3:]
skip = set()
for name in invalid_files:
    with open(name, newline="") as invalid:
        rows = csv.reader(invalid)
        next(rows)
        skip.update(int(row[-2]) for row in rows)
with open(source, newline="") as src, open(out, "w", newline="") as dst:
    for number, line in enumerate(src, start=1):
        if number not in skip:
            dst.write(line)
PY

# (a) raw LOAD DATA LOCAL INFILE into an empty table of the same schema.
fresh_db csvgate_raw
"$csvgate" --quiet --target "$server/csvgate_raw" db init
"${mysql[@]}" csvgate_raw -e "INSERT INTO departments SELECT * FROM csvgate_bench.departments; INSERT INTO jobs SELECT * FROM csvgate_bench.jobs"
start=$(now)
"${mysql[@]}" csvgate_raw -e "LOAD DATA LOCAL INFILE '$run/valid.csv' INTO TABLE hired_employees
  FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\n'
  (id, name, @datetime, department_id, job_id) SET datetime = STR_TO_DATE(@datetime, '%Y-%m-%dT%H:%i:%sZ')"
raw_s=$(echo "$(now) - $start" | bc)
raw_rows=$("${mysql[@]}" -N csvgate_raw -e "SELECT COUNT(*) FROM hired_employees")

# (b) naive: one INSERT statement per row, autocommit.
"${mysql[@]}" csvgate_raw -e "DELETE FROM hired_employees"
head -n "$naive_rows" "$run/valid.csv" | python3 -c '
import csv, sys
for id_, name, at, dep, job in csv.reader(sys.stdin):
    name = name.replace("\\", "\\\\").replace("\x27", "\\\x27")
    print(f"INSERT INTO hired_employees VALUES ({id_}, \x27{name}\x27, \x27{at[:-1]}\x27, {dep}, {job});")
' > "$run/naive.sql"
start=$(now)
"${mysql[@]}" csvgate_raw < "$run/naive.sql"
naive_s=$(echo "$(now) - $start" | bc)

printf '%-28s %10s %9s %12s %8s\n' method rows seconds rows_per_s vs_raw
report() { awk -v m="$1" -v r="$2" -v s="$3" -v rr="$raw_rows" -v rs="$raw_s" \
  'BEGIN { printf "%-28s %10d %9.2f %12.0f %8.2f\n", m, r, s, r / s, (r / s) / (rr / rs) }'; }
report "raw LOAD DATA (limit)" "$raw_rows" "$raw_s"
report "csvgate ingest" "$valid" "$gate_s"
report "naive INSERT per row" "$naive_rows" "$naive_s"
"${mysql[@]}" -e "DROP DATABASE csvgate_bench; DROP DATABASE csvgate_raw"
