#!/usr/bin/env bash
# Where an embedded upload's time goes, and whether it grows with uploads: PUTS (default 600)
# PUTs of the real 1,999-row file with ?wait=true, one after another (curl), on a fresh
# warehouse, with stage spans logged (CSVGATE_LOG=csvgate=debug). Prints, per stage and for the
# client, the p50 in ms of PUTs 6–55 and of the last 50. With S3=1, the buckets are on s3s-fs
# behind benches/delay_proxy.py holding each conditional write COMMIT_DELAY_MS (60), as in
# benches/uploads.sh (PUTS then defaults to 150).
source "$(dirname "$0")/lib.sh"
dir="$work/api-stages"
rm -rf "$dir" && mkdir -p "$dir"
buckets=(--warehouse "$dir/warehouse" --landing "$dir/landing" --invalid "$dir/invalid")
puts="${PUTS:-600}"
if [ "${S3:-0}" = 1 ]; then
  puts="${PUTS:-150}"
  scripts/services >/dev/null
  s3_root="${CSVGATE_S3_ROOT:-$HOME/.cache/csvgate-s3}" proxy_port="${PROXY_PORT:-8024}"
  rm -rf "${s3_root:?}/csvgate-stages" && mkdir -p "$s3_root/csvgate-stages"
  python3 benches/delay_proxy.py "$proxy_port" 127.0.0.1:8014 "${COMMIT_DELAY_MS:-60}" >"$dir/proxy.log" 2>&1 &
  proxy_pid=$!
  for _ in $(seq 1 50); do grep -q listening "$dir/proxy.log" && break; sleep 0.1; done
  export AWS_ENDPOINT_URL="http://127.0.0.1:$proxy_port" AWS_ALLOW_HTTP=true AWS_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=csvgate AWS_SECRET_ACCESS_KEY=csvgate-secret CSVGATE_API_BUCKET=globant-landing
  buckets=(--warehouse s3://csvgate-stages/warehouse --landing s3://csvgate-stages/landing
    --invalid s3://csvgate-stages/invalid)
fi
CSVGATE_LOG=csvgate=debug "$csvgate" "${buckets[@]}" serve --listen 127.0.0.1:0 --api-key stages \
  >/dev/null 2>"$dir/server.log" &
server_pid=$!
trap 'kill "$server_pid" ${proxy_pid:-} 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  base=$(sed -n 's/^csvgate: listening on //p' "$dir/server.log")
  [ -n "$base" ] && break
  sleep 0.1
done
put() { curl -sf -o /dev/null -w '%{time_total}\n' -X PUT -H "x-api-key: stages" --data-binary "@$1" "$base/globant-landing/$2?wait=true"; }
put fixtures/departments.csv departments.csv >/dev/null
put fixtures/jobs.csv jobs.csv >/dev/null
for i in $(seq 1 "$puts"); do put fixtures/hired_employees.csv "hired_employees/stages-$i.csv"; done >"$dir/client.txt"
kill "$server_pid" && wait "$server_pid" 2>/dev/null || true

python3 - "$dir/server.log" "$dir/client.txt" <<'PY'
import collections, re, statistics, sys
ansi = re.compile(r"\x1b\[[0-9;]*m")
unit = {"ns": 1e-6, "µs": 1e-3, "ms": 1.0, "s": 1000.0}
def ms(text):
    value, suffix = re.match(r"([\d.]+)(ns|µs|ms|s)$", text).groups()
    return float(value) * unit[suffix]
stages = collections.defaultdict(list)
for line in open(sys.argv[1], errors="replace"):
    line = ansi.sub("", line)
    if " close time.busy=" not in line:
        continue
    name = re.sub(r"\{[^}]*\}", "", re.split(r" (?:DEBUG|INFO) ", line)[1].split(": ")[0])
    busy, idle = re.search(r"time.busy=(\S+) time.idle=(\S+)", line).groups()
    stages[name.replace("process:", "")].append(ms(busy) + ms(idle))
# The first two spans of each stage are the reference tables' uploads.
stages["PUT (client)"] = [0, 0] + [float(t) * 1000 for t in open(sys.argv[2])]
print(f"{'stage':<28} {'p50 6-55':>9} {'p50 last 50':>12}")
for name, times in stages.items():
    if len(times) >= 100:
        print(f"{name:<28} {statistics.median(times[7:57]):>9.2f} {statistics.median(times[-50:]):>12.2f}")
PY
