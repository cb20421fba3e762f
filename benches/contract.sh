#!/usr/bin/env bash
# Data contracts at size (issue 25), each figure against an anchor measured in the same run:
#   1. relationship: the split of ORDERS generated retail orders (default 10M) whose customer ids
#      are checked against a table of CUSTOMERS keys (default 1M), against the same split with
#      that relationship taken out of the contract; ROUNDS (3) interleaved rounds, medians, and
#      peak RSS at 1M and at ORDERS.
#   2. Floe: Floe 0.7.0 (floe-python, benches/floe/) splitting the same orders and the generated
#      HR employees at each of ROWS (1M and 10M), against csvgate with the whole contract.
# The retail contract is examples/contracts/retail.odcs.yaml with customer ids of seven digits
# (benches/retail_gen.py writes them), so a million customers fit.
# For the HR split with the contract read from its file against the compiled dictionary, see
# `AFTER_ARGS="--contract contracts/hr.odcs.yaml" FIGURES=split benches/compare.sh 5e97e37`.
source "$(dirname "$0")/lib.sh"
orders_rows="${ORDERS:-10000000}"
customers_rows="${CUSTOMERS:-1000000}"
rows_list="${ROWS:-1000000 10000000}"
rounds="${ROUNDS:-3}"
floe_venv="$HOME/.cache/csvgate-bench/floe-venv"

# The retail contract at bench size ($1 = with | without the customer relationship).
contract_file() {
  local file="$work/retail-$1.odcs.yaml"
  sed -e 's/maxLength: 5$/maxLength: 8/' -e "s/'^C\[0-9\]{4}\$'/'^C[0-9]{7}\$'/" \
    examples/contracts/retail.odcs.yaml >"$file"
  if [ "$1" = without ]; then
    python3 - "$file" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
relationship = "        relationships:\n          - to: customers.customer_id\n"
assert relationship in text
open(path, "w").write(text.replace(relationship, ""))
PY
  fi
  echo "$file"
}

# The generated retail files of $1 orders, made once.
retail_data() {
  local folder="$work/data/retail-$1-$customers_rows"
  [ -s "$folder/orders.csv" ] || python3 benches/retail_gen.py "$1" "$customers_rows" "$folder"
  echo "$folder"
}

# "wall rss_kib" of csvgate splitting the orders of folder $1 under contract $2, the customers
# and products loaded first (not measured), into a fresh folder.
csvgate_orders() {
  local run="$work/contract-run"
  remove "$run"
  local flags=(--contract "$2" --landing "$run/landing" --invalid "$run/invalid" --warehouse "$run/warehouse" --quiet)
  "$csvgate" "${flags[@]}" ingest "$1/customers.csv" "$1/products.csv" >/dev/null
  measure "$csvgate" "${flags[@]}" ingest "$1/orders.csv"
  "$csvgate" "${flags[@]}" runs --last 1 --format csv | tail -1 | cut -d, -f5-9 >&2
  remove "$run"
}

# Makes sure Floe is installed; prints its python.
floe_python() {
  if [ ! -x "$floe_venv/bin/python" ]; then
    python3 -m venv "$floe_venv"
    "$floe_venv/bin/pip" install --quiet floe-python==0.7.0
  fi
  echo "$floe_venv/bin/python"
}

# $2 with a first row of column names, made once: Floe infers types from a file's first rows
# and fails the whole file when a later value does not parse (benches/floe/README.md); a row of
# names keeps it to rejecting the bad rows. The row itself is rejected.
guarded() {
  local copy="$work/data/guarded-$(basename "$(dirname "$2")")-$(basename "$2")"
  [ -s "$copy" ] || { echo "$1" && cat "$2"; } >"$copy"
  echo "$copy"
}

# "wall rss_kib" of Floe splitting file $2 as dataset $1.
floe_split() {
  local out="$work/floe-run"
  remove "$out"
  measure "$(floe_python)" benches/floe/run.py "$1" "$(realpath "$2")" "$out"
  python3 - "$out" <<'PY' >&2
import glob, json, sys
runs = glob.glob(f"{sys.argv[1]}/report/run_*/run.summary.json")
summary = json.load(open(runs[0]))
print("floe:", json.dumps(summary.get("results", summary))[:300])
PY
  remove "$out"
}

# Removes folder $1, again if a file appeared in it meanwhile.
remove() { rm -rf "$1" 2>/dev/null || { sleep 1 && rm -rf "$1"; }; }

median() { python3 -c 'import statistics, sys; print(statistics.median(float(v) for v in sys.argv[1:]))' "$@"; }

echo "== 1. a relationship into $customers_rows customer keys, $orders_rows orders, $rounds rounds"
with=$(contract_file with)
without=$(contract_file without)
big=$(retail_data "$orders_rows")
declare -a wall_with wall_without rss_with rss_without
for round in $(seq 1 "$rounds"); do
  order=(with without)
  [ $((round % 2)) = 0 ] && order=(without with)
  for variant in "${order[@]}"; do
    contract=$with
    [ "$variant" = without ] && contract=$without
    # Into a variable first: `read < <(…)` would return at the first line and leave the rest
    # of the function running beside the next round.
    measured=$(csvgate_orders "$big" "$contract")
    read -r wall rss <<<"$measured"
    awk -v r="$round" -v v="$variant" -v w="$wall" -v m="$rss" 'BEGIN { printf "round %s %-8s %8.2f s %8.1f MiB\n", r, v, w, m / 1024 }'
    if [ "$variant" = with ]; then wall_with+=("$wall") rss_with+=("$rss"); else wall_without+=("$wall") rss_without+=("$rss"); fi
  done
done
mw=$(median "${wall_with[@]}") mo=$(median "${wall_without[@]}")
rw=$(median "${rss_with[@]}") ro=$(median "${rss_without[@]}")
awk -v mw="$mw" -v mo="$mo" -v rw="$rw" -v ro="$ro" 'BEGIN {
  printf "median wall: with %.2f s, without %.2f s: with / without %.3f\n", mw, mo, mw / mo
  printf "median peak RSS: with %.1f MiB, without %.1f MiB: with / without %.3f\n", rw / 1024, ro / 1024, rw / ro }'
small=$(retail_data 1000000)
measured=$(csvgate_orders "$small" "$with")
read -r _ rss_small <<<"$measured"
awk -v a="$rss_small" -v b="$rw" -v n="$orders_rows" 'BEGIN {
  printf "peak RSS with the relationship at %s orders / at 1M: %.2f\n", n, b / a }'

echo "== 2. csvgate against Floe 0.7.0"
printf '%-10s %-16s %-8s %9s %12s %10s %10s %10s\n' rows dataset engine wall_s rows_per_s rss_mib wall_ratio rss_ratio
hr_names="id,name,datetime,department_id,job_id"
order_names="order_id,customer_id,sku,quantity,unit_price,ordered_on,note"
for rows in $rows_list; do
  folder=$(retail_data "$rows")
  measured=$(floe_split orders "$(guarded "$order_names" "$folder/orders.csv")")
  read -r floe_wall floe_rss <<<"$measured"
  measured=$(csvgate_orders "$folder" "$with")
  read -r gate_wall gate_rss <<<"$measured"
  report_pair "$rows" floe "$floe_wall" "$floe_rss" csvgate "$gate_wall" "$gate_rss" | sed 's/^\(\S*\s*\)/\1retail_orders    /'
  file=$(generated "$rows")
  measured=$(floe_split hired_employees "$(guarded "$hr_names" "$file")")
  read -r floe_wall floe_rss <<<"$measured"
  run="$work/contract-run" && remove "$run"
  flags=(--landing "$run/landing" --invalid "$run/invalid" --warehouse "$run/warehouse" --quiet)
  "$csvgate" "${flags[@]}" ingest fixtures/departments.csv fixtures/jobs.csv
  read -r gate_wall gate_rss < <(measure "$csvgate" "${flags[@]}" ingest "$file")
  remove "$run"
  report_pair "$rows" floe "$floe_wall" "$floe_rss" csvgate "$gate_wall" "$gate_rss" | sed 's/^\(\S*\s*\)/\1hired_employees  /'
done
