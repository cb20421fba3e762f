#!/usr/bin/env bash
# S3 split: the split of benches/split.sh with landing, invalid and warehouse in S3 on the
# loopback server (s3s-fs, started by scripts/services), against the same split between local
# folders, in the same run, at 1M and 10M generated rows (override: ROWS="1000000"). Reports
# wall time, rows/s and peak RSS of each, and the S3/local ratios.
source "$(dirname "$0")/lib.sh"
rows_list="${ROWS:-1000000 10000000}"
scripts/services >/dev/null
s3_root="${CSVGATE_S3_ROOT:-$HOME/.cache/csvgate-s3}"
export AWS_ENDPOINT_URL=http://127.0.0.1:8014 AWS_ALLOW_HTTP=true AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=csvgate AWS_SECRET_ACCESS_KEY=csvgate-secret

printf '%-10s %-8s %9s %12s %10s %10s %10s\n' rows where wall_s rows_per_s rss_mib wall_ratio rss_ratio
for rows in $rows_list; do
  file=$(generated "$rows")
  run="$work/s3-run-$rows"
  bucket="csvgate-bench-$rows"
  rm -rf "$run" "$s3_root/$bucket" && mkdir -p "$run" "$s3_root/$bucket"
  # Uploaded through the S3 API, as landing objects arrive: the server stores the object's
  # ETag then. (A file copied into the server's folder behind its back has none, and s3s-fs
  # hashes the whole object again for every HEAD and GET of it.)
  curl -sSf --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$file" \
    "$AWS_ENDPOINT_URL/$bucket/landing/hired_employees.csv"
  local_flags=(--landing "$run/landing" --invalid "$run/invalid" --warehouse "$run/warehouse" --quiet)
  s3_flags=(--landing "s3://$bucket/landing" --invalid "s3://$bucket/invalid" --warehouse "s3://$bucket/warehouse" --quiet)
  "$csvgate" "${local_flags[@]}" ingest fixtures/departments.csv fixtures/jobs.csv
  "$csvgate" "${s3_flags[@]}" ingest fixtures/departments.csv fixtures/jobs.csv
  read -r local_wall local_rss < <(measure "$csvgate" "${local_flags[@]}" ingest "$file")
  read -r s3_wall s3_rss < <(measure "$csvgate" "${s3_flags[@]}" ingest "s3://$bucket/landing/hired_employees.csv")
  report_pair "$rows" local "$local_wall" "$local_rss" s3 "$s3_wall" "$s3_rss"
  "$csvgate" "${s3_flags[@]}" runs --last 1 --format csv | tail -1 | cut -d, -f5-9
  rm -rf "$run" "$s3_root/$bucket"
done
