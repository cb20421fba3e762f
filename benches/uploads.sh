#!/usr/bin/env bash
# Group commit under load: PUT of the real 1,999-row hired_employees file with ?wait=true, each
# request a new key, against `csvgate serve`:
#   - the anchor: GET /healthz on the same server, one connection;
#   - p50 with one client, then uploads/s with CLIENTS (16) clients, with the CPU the clients
#     (wrk) took: they share the machine's cores with the server;
# on the embedded warehouse in a folder, then on an S3 warehouse (s3s-fs on loopback) behind
# benches/delay_proxy.py, which holds each conditional write (a Delta commit) COMMIT_DELAY_MS
# (60: what one takes on AWS S3). Each with group commit (the default) and without
# (CSVGATE_GROUP_MAX=1: one commit per upload). DURATION (20s) per line. Every upload carries
# the same 1,929 valid ids: one commit per upload replaces them each time, a group writes its
# newest file's rows only (the later wins) and counts every file's.
source "$(dirname "$0")/lib.sh"
duration="${DURATION:-20s}"
clients="${CLIENTS:-16}"
delay_ms="${COMMIT_DELAY_MS:-60}"
proxy_port="${PROXY_PORT:-8024}"
export API_KEY=bench-key
scripts/services >/dev/null
s3_root="${CSVGATE_S3_ROOT:-$HOME/.cache/csvgate-s3}"
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null

run="$work/uploads-run"
rm -rf "$run" && mkdir -p "$run"
# The default of 8 uploads streaming at once would answer some of 16 clients 429.
printf '[api]\nmax_concurrent_uploads = 64\n' >"$run/csvgate.toml"
export CSVGATE_CONFIG="$run/csvgate.toml"

# PUT of the employees file with ?wait=true over $1 connections: p50, p99, requests/s, wrk's
# cores; each run's keys numbered from $2.
put_load() {
  REQUEST_OFFSET=$2 load_with "$1" PUT "/globant-landing/hired_employees/bench-%d.csv?wait=true" \
    fixtures/hired_employees.csv text/csv
}

# One server ($1: a name; the rest: its flags): the anchor, one client, $clients clients.
measure_server() {
  local name=$1 && shift
  local dir="$run/$name" && mkdir -p "$dir"
  start_server "$dir" "$@"
  load_reference_tables
  read -r a50 _ _ < <(load GET /healthz /dev/null text/plain)
  read -r p50 p99 rps cpu < <(put_load 1 0)
  read -r m50 m99 mrps mcpu < <(put_load "$clients" 1000000)
  kill "$server_pid" && wait "$server_pid" || true
  commits_per_upload "$name" "$dir/server.log" >>"$run/commits.txt"
  for row in "GET /healthz (anchor)|1|$a50|-|-|-" "PUT ?wait=true|1|$p50|$p99|$rps|$cpu" \
             "PUT ?wait=true|$clients|$m50|$m99|$mrps|$mcpu"; do
    IFS='|' read -r request conns q50 q99 qrps qcpu <<<"$row"
    printf '%-26s %-22s %7s %9.2f %9s %9s %9s %9.1f\n' "$name" "$request" "$conns" "$q50" "$q99" "$qrps" "$qcpu" \
      "$(awk -v a="$q50" -v b="$a50" 'BEGIN { print a / b }')"
  done
}

# How many data commits the employees' uploads took on server $1 (log $2): a group logs each of
# its objects with `objects=N`, an object committed alone logs `object processed`.
commits_per_upload() {
  python3 - "$1" "$2" <<'PY'
import re, sys
ansi = re.compile(r"\x1b\[[0-9;]*m")
uploads = commits = 0.0
for line in open(sys.argv[2], errors="replace"):
    line = ansi.sub("", line)
    if "hired_employees" not in line or not re.search(r'status="?done', line):
        continue
    grouped = re.search(r"objects=(\d+)", line)
    if "committed with its group" in line and grouped:
        uploads, commits = uploads + 1, commits + 1 / int(grouped.group(1))
    elif "object processed" in line:
        uploads, commits = uploads + 1, commits + 1
if commits:
    print(f"{sys.argv[1]}: {uploads:.0f} uploads in {commits:.0f} data commits, {uploads / commits:.2f} per commit")
PY
}

printf '%-26s %-22s %7s %9s %9s %9s %9s %9s\n' server request clients p50_ms p99_ms req_per_s wrk_cores p50_vs_anchor
measure_server embedded-grouped
CSVGATE_GROUP_MAX=1 measure_server embedded-one-per-upload

python3 benches/delay_proxy.py "$proxy_port" 127.0.0.1:8014 "$delay_ms" "$run/requests.log" >"$run/proxy.log" 2>&1 &
proxy_pid=$!
trap 'kill $proxy_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do grep -q listening "$run/proxy.log" && break; sleep 0.1; done
grep -q listening "$run/proxy.log" || { cat "$run/proxy.log" >&2; exit 1; }
export AWS_ENDPOINT_URL="http://127.0.0.1:$proxy_port" AWS_ALLOW_HTTP=true AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=csvgate AWS_SECRET_ACCESS_KEY=csvgate-secret
for group in 64 1; do
  bucket="csvgate-uploads-$group"
  rm -rf "${s3_root:?}/$bucket" && mkdir -p "$s3_root/$bucket"
  s3=(--landing "s3://$bucket/landing" --invalid "s3://$bucket/invalid" --warehouse "s3://$bucket/warehouse")
  label=s3-${delay_ms}ms-grouped
  [ "$group" = 1 ] && label=s3-${delay_ms}ms-one-per-upload
  CSVGATE_API_BUCKET=globant-landing CSVGATE_GROUP_MAX=$group measure_server "$label" "${s3[@]}"
  rm -rf "${s3_root:?}/$bucket"
done
kill "$proxy_pid" && wait "$proxy_pid" || true
tail -1 "$run/proxy.log"
cat "$run/commits.txt"

# What an upload asks of the store, per bucket (grouped, one commit per upload): requests by
# kind over the uploads the landing bucket received (the server's start and the reference
# tables' loads count too, a few per cent); the health check's listing of the warehouse (the
# anchor's one request) is left out.
python3 - "$run/requests.log" <<'PY'
import collections, re, sys
kinds = collections.defaultdict(collections.Counter)
for line in open(sys.argv[1]):
    fields = line.split()
    if len(fields) < 3:
        continue
    method, target = fields[1], fields[2]
    match = re.match(r"/(csvgate-uploads-\d+)(/[^?]*)?(\?.*)?", target)
    if not match or "delimiter=" in target:
        continue
    bucket, path, query = match.group(1), match.group(2) or "", match.group(3) or ""
    if method == "PUT" and "/landing/hired_employees/" in path:
        kinds[bucket]["uploads"] += 1
    kind = "list" if "list-type" in query else "delete" if method in ("POST", "DELETE") else method
    kinds[bucket]["conditional PUT" if line.rstrip().endswith("conditional") else kind] += 1
for bucket, counts in sorted(kinds.items()):
    uploads = max(counts.pop("uploads"), 1)
    total = sum(counts.values())
    shares = ", ".join(f"{kind} {n / uploads:.1f}" for kind, n in counts.most_common())
    print(f"{bucket}: {total / uploads:.1f} requests per upload ({shares})")
PY
