#!/usr/bin/env bash
# Ingest throughput with 1, 2 and 4 workers (`csvgate ingest --workers N`) over the same
# FILES (20) files of ROWS (500,000) generated employees with ids of their own, between local
# folders and in S3 on the loopback server (s3s-fs, started by scripts/services), in the same
# run: wall time, rows/s, and the speed-up against 1 worker. Then what bounds the speed-up
# beyond the cores: the time of one load of a one-row file (a Delta commit, its held ledger
# entry and the ledger append), over COMMITS (50) such files one after another.
source "$(dirname "$0")/lib.sh"
rows="${ROWS:-500000}"
files="${FILES:-20}"
commits="${COMMITS:-50}"
scripts/services >/dev/null
export AWS_ENDPOINT_URL=http://127.0.0.1:8014 AWS_ALLOW_HTTP=true AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=csvgate AWS_SECRET_ACCESS_KEY=csvgate-secret
s3_root="${CSVGATE_S3_ROOT:-$HOME/.cache/csvgate-s3}"
bucket=csvgate-bench-workers

# Landing files: one generated file cut into $files parts, so each has ids of its own.
land="$work/workers-land"
rm -rf "$land" && mkdir -p "$land/hired_employees" "$land/one-row/hired_employees"
split -d -a 2 -l "$rows" --additional-suffix=.csv "$(generated $((rows * files)))" \
  "$land/hired_employees/part-"
for i in $(seq -w 1 "$commits"); do
  echo "$((900000000 + 10#$i)),Person $i,2021-03-11T09:30:00Z,1,1" >"$land/one-row/hired_employees/one-$i.csv"
done

put() { # put FILE KEY: uploads through the S3 API, as landing objects arrive
  curl -sSf --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$1" "$AWS_ENDPOINT_URL/$bucket/$2"
}

# flags WHERE: the locations of a fresh deployment, its landing holding the files.
fresh() {
  local where=$1 run="$work/workers-run"
  rm -rf "$run" "$s3_root/$bucket" && mkdir -p "$run"
  case $where in
    local) flags=(--landing "$land" --invalid "$run/invalid" --warehouse "$run/warehouse" --quiet) ;;
    s3)
      mkdir -p "$s3_root/$bucket"
      for file in "$land"/hired_employees/*.csv; do put "$file" "landing/hired_employees/${file##*/}"; done
      for file in "$land"/one-row/hired_employees/*.csv; do put "$file" "landing/one-row/hired_employees/${file##*/}"; done
      flags=(--landing "s3://$bucket/landing" --invalid "s3://$bucket/invalid" --warehouse "s3://$bucket/warehouse" --quiet) ;;
  esac
  "$csvgate" "${flags[@]}" ingest fixtures/departments.csv fixtures/jobs.csv
}

source_of() { # source_of WHERE FOLDER
  case $1 in
    local) echo "$land/$2" ;;
    s3) echo "s3://$bucket/landing/$2/" ;;
  esac
}

total=$((rows * files))
printf '%-6s %-8s %9s %12s %9s\n' where workers wall_s rows_per_s speed_up
for where in local s3; do
  one=""
  for workers in 1 2 4; do
    fresh "$where"
    read -r wall _ < <(measure "$csvgate" "${flags[@]}" ingest --workers "$workers" "$(source_of "$where" hired_employees)")
    one=${one:-$wall}
    awk -v e="$where" -v n="$workers" -v w="$wall" -v t="$total" -v o="$one" \
      'BEGIN { printf "%-6s %-8s %9.2f %12.0f %9.2f\n", e, n, w, t / w, o / w }'
    loaded=$("$csvgate" "${flags[@]}" sql "SELECT count(*) FROM hired_employees" --format csv | tail -1)
    [ "$loaded" -gt 0 ] || { echo "nothing loaded" >&2; exit 1; }
  done
done

echo
printf '%-6s %8s %9s %14s\n' where loads wall_s ms_per_load
for where in local s3; do
  fresh "$where"
  read -r wall _ < <(measure "$csvgate" "${flags[@]}" ingest "$(source_of "$where" one-row/hired_employees)")
  awk -v e="$where" -v n="$commits" -v w="$wall" \
    'BEGIN { printf "%-6s %8d %9.2f %14.1f\n", e, n, w, 1000 * w / n }'
done
rm -rf "$land" "$work/workers-run" "$s3_root/$bucket"
