#!/usr/bin/env python3
"""Run Floe (floe-python 0.7.0) on one headerless CSV with the configs in this folder.

    python run.py DATASET INPUT OUT [--guard-row]

DATASET is hired_employees, orders, customers or products. INPUT is the CSV file (or a folder /
glob of them), OUT the folder for the accepted Delta table, the rejected CSV parts and the run
reports (use a fresh one per run). Prints one JSON line of counts and the time `floe.run` took.

--guard-row copies INPUT into OUT with a first row made of the column names, and runs on the
copy. Floe reads the first 100 rows to infer types before it reads the file; when one numeric
column is all numbers there but a later value is not (`J88`, `3.5`), that read fails and Floe
rejects the whole file (see README.md). A row of names makes every column text to that read, so
only the bad rows are rejected. The guard row itself is rejected (its key is not an integer); the
counts printed are corrected for it, and the run fails if it was not rejected.
"""

import argparse
import csv
import glob
import json
import os
import shutil
import sys
import time

import floe

HERE = os.path.dirname(os.path.abspath(__file__))
# dataset: (config, variable naming its input, columns in file order as in the config)
DATASETS = {
    "hired_employees": (
        "hired_employees.floe.yml",
        "INPUT",
        ["id", "name", "datetime", "department_id", "job_id"],
    ),
    "orders": (
        "retail.floe.yml",
        "ORDERS_INPUT",
        ["order_id", "customer_id", "sku", "quantity", "unit_price", "ordered_on", "note"],
    ),
    "customers": (
        "retail.floe.yml",
        "CUSTOMERS_INPUT",
        ["customer_id", "name", "email", "segment", "signed_up"],
    ),
    "products": (
        "retail.floe.yml",
        "PRODUCTS_INPUT",
        ["sku", "title", "unit_price", "active", "weight_kg"],
    ),
}
RETAIL_VARS = ("ORDERS_INPUT", "CUSTOMERS_INPUT", "PRODUCTS_INPUT")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("input")
    parser.add_argument("out")
    parser.add_argument("--guard-row", action="store_true")
    args = parser.parse_args()

    config_name, input_var, names = DATASETS[args.dataset]
    config = os.path.join(HERE, config_name)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    source = os.path.abspath(args.input)
    if args.guard_row:
        source = os.path.join(out, "_guarded_" + os.path.basename(args.input))
        with open(source, "wb") as dst, open(args.input, "rb") as src:
            dst.write((",".join(names) + "\n").encode())
            shutil.copyfileobj(src, dst, 1 << 20)

    variables = {"OUT": out}
    if config_name == "retail.floe.yml":
        # Every {{VAR}} must resolve; entities not selected never read theirs.
        variables.update({name: "/nonexistent/not-selected.csv" for name in RETAIL_VARS})
    variables[input_var] = source

    started = time.perf_counter()
    outcome = floe.run(config, entities=[args.dataset], profile_vars=variables)
    elapsed = time.perf_counter() - started

    results = dict(outcome.summary["results"])
    report = outcome.entity_reports[0]
    whole_file_rejections = [
        {"file": f["input_file"], "error": (f.get("mismatch") or {}).get("error")}
        for f in report.get("files", [])
        if (f.get("mismatch") or {}).get("error")
    ]
    line = {
        "dataset": args.dataset,
        "input": os.path.abspath(args.input),
        "elapsed_s": round(elapsed, 3),
        "status": outcome.summary["run"]["status"],
        "rows_total": results["rows_total"],
        "accepted_total": results["accepted_total"],
        "rejected_total": results["rejected_total"],
        "errors_total": results["errors_total"],
        "whole_file_rejections": whole_file_rejections,
        "accepted": os.path.join(out, "accepted", args.dataset),
        "rejected": os.path.join(out, "rejected", args.dataset),
        "report": outcome.summary["report"]["report_file"],
    }
    if args.guard_row and results["rows_total"] > 0:
        guard_errors = None
        for part in glob.glob(os.path.join(line["rejected"], "part-*.csv")):
            with open(part, newline="", encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    if row.get("__floe_row_index") == "0":
                        guard_errors = len(json.loads(row["__floe_errors"]))
        if guard_errors is None:
            sys.exit("the guard row was not rejected: counts cannot be corrected")
        line["guard_row"] = True
        line["rows_total"] -= 1
        line["rejected_total"] -= 1
        line["errors_total"] -= guard_errors
        if line["rejected_total"] == 0 and line["status"] == "rejected":
            line["status"] = "success"
    print(json.dumps(line))


if __name__ == "__main__":
    main()
