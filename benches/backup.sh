#!/usr/bin/env bash
# Backup and restore of the hired_employees table, each format, against anchors measured in the
# same run: DuckDB's COPY of the same rows to Parquet (embedded warehouse, at 1M and 10M
# generated rows; override with ROWS="1000000"), and mysqldump of the same table (MariaDB, at
# MYSQL_ROWS, default 1M; MYSQL_ROWS=0 skips it). Wall time, rows/s, file size and peak RSS
# (/usr/bin/time -v); ratios to the anchor.
source "$(dirname "$0")/lib.sh"
rows_list="${ROWS:-1000000 10000000}"
mysql_rows="${MYSQL_ROWS:-1000000}"
python=$(duckdb_python)

header() {
  printf '%-9s %-16s %8s %11s %9s %9s %10s %9s\n' rows step wall_s rows_per_s file_mib rss_mib wall_ratio rss_ratio
}
# row ROWS STEP WALL RSS_KIB FILE_BYTES ANCHOR_WALL ANCHOR_RSS_KIB
row() {
  awk -v r="$1" -v s="$2" -v w="$3" -v m="$4" -v f="$5" -v aw="$6" -v am="$7" \
    'BEGIN { printf "%-9s %-16s %8.2f %11.0f %9.1f %9.1f %10.2f %9.2f\n", r, s, w, r / w, f / 1048576, m / 1024, w / aw, m / am }'
}
# The newest snapshot of hired_employees in the backups folder $1: its id.
newest() { ls "$1/hired_employees" | sort | tail -1; }

# Backs up and restores hired_employees of the deployment "$@" in each format, printing a row
# each against the anchor; records csvgate's backup RSS per format in rss_backup[FORMAT-ROWS].
declare -A rss_backup
backup_and_restore() {
  local rows=$1 backups=$2 anchor_wall=$3 anchor_rss=$4
  shift 4
  local parquet_wall=""
  for format in parquet avro; do
    read -r wall rss < <(measure "$csvgate" "$@" backup --table hired_employees --format "$format")
    local id size
    id=$(newest "$backups")
    # A Parquet snapshot of the warehouse is its live files copied: the data files together.
    size=$(find "$backups/hired_employees/$id" -name 'data*' -printf '%s\n' | awk '{ s += $1 } END { print s }')
    row "$rows" "backup-$format" "$wall" "$rss" "$size" "$anchor_wall" "$anchor_rss"
    rss_backup[$format-$rows]=$rss
    [ "$format" = parquet ] && parquet_wall=$wall
    [ "$format" = avro ] && awk -v a="$wall" -v p="$parquet_wall" 'BEGIN { printf "          avro backup / parquet backup: %.2f\n", a / p }'
    read -r wall rss < <(measure "$csvgate" "$@" restore hired_employees --snapshot "$id")
    row "$rows" "restore-$format" "$wall" "$rss" "$size" "$anchor_wall" "$anchor_rss"
  done
}

echo "embedded warehouse (anchor: DuckDB COPY TO parquet of the same rows)"
header
for rows in $rows_list; do
  file=$(generated "$rows")
  run="$work/backup-$rows"
  rm -rf "$run" && mkdir -p "$run"
  flags=(--landing "$run/landing" --invalid "$run/invalid" --warehouse "$run/warehouse" --backups "$run/backups" --quiet)
  "$csvgate" "${flags[@]}" ingest fixtures/departments.csv fixtures/jobs.csv "$file"
  valid=$("$csvgate" "${flags[@]}" sql "SELECT count(*) AS n FROM hired_employees" --format csv | tail -1)
  read -r duck_wall duck_rss < <(measure "$python" benches/duckdb_copy.py "$run/warehouse/hired_employees" "$run/duckdb.parquet")
  row "$valid" duckdb-copy "$duck_wall" "$duck_rss" "$(stat -c %s "$run/duckdb.parquet")" "$duck_wall" "$duck_rss"
  backup_and_restore "$valid" "$run/backups" "$duck_wall" "$duck_rss" "${flags[@]}"
  rm -rf "$run"
done
first=${rows_list%% *}
last=${rows_list##* }
if [ "$first" != "$last" ]; then
  for format in parquet avro; do
    awk -v a="${rss_backup[$format-$first]:-0}" -v b="${rss_backup[$format-$last]:-0}" -v f="$format" \
      'BEGIN { if (a > 0) printf "%s backup peak RSS, largest / smallest run: %.2f\n", f, b / a }'
  done
fi

[ "$mysql_rows" = 0 ] && exit 0
scripts/services >/dev/null
echo "MariaDB (anchor: mysqldump --single-transaction of the same table)"
header
server="${CSVGATE_BENCH_MYSQL:-mysql://csvgate:csvgate@127.0.0.1:3306}"
mysql=(mariadb -h127.0.0.1 -ucsvgate -pcsvgate)
run="$work/backup-mysql"
rm -rf "$run" && mkdir -p "$run"
"${mysql[@]}" -e "DROP DATABASE IF EXISTS csvgate_backup_bench; CREATE DATABASE csvgate_backup_bench"
flags=(--landing "$run/landing" --invalid "$run/invalid" --warehouse "$run/warehouse" --backups "$run/backups" --quiet --target "$server/csvgate_backup_bench")
"$csvgate" "${flags[@]}" db init
"$csvgate" "${flags[@]}" ingest fixtures/departments.csv fixtures/jobs.csv "$(generated "$mysql_rows")"
valid=$("${mysql[@]}" -N csvgate_backup_bench -e "SELECT COUNT(*) FROM hired_employees")
read -r dump_wall dump_rss < <(measure sh -c "mysqldump -h127.0.0.1 -ucsvgate -pcsvgate --single-transaction csvgate_backup_bench hired_employees > '$run/dump.sql'")
row "$valid" mysqldump "$dump_wall" "$dump_rss" "$(stat -c %s "$run/dump.sql")" "$dump_wall" "$dump_rss"
backup_and_restore "$valid" "$run/backups" "$dump_wall" "$dump_rss" "${flags[@]}"
"${mysql[@]}" -e "DROP DATABASE csvgate_backup_bench"
rm -rf "$run"
