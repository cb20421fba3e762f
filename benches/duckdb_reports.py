"""Q1 and Q2 in DuckDB over a csvgate Delta warehouse's Parquet files: the anchor of
benches/reports.sh. DuckDB runs the very text of queries/datafusion/*.sql (the dialect both
engines share), so the two engines answer the same SQL over the same files. Valid for a
warehouse loaded by appends only (no file replaced), which is how the script builds it.

usage: python duckdb_reports.py WAREHOUSE RUNS  → prints "q1 <median s>" and "q2 <median s>"
"""
import pathlib
import statistics
import sys
import time

import duckdb

QUERIES = pathlib.Path(__file__).resolve().parent.parent / "queries" / "datafusion"
YEAR = 2021

warehouse, runs = sys.argv[1], int(sys.argv[2])
db = duckdb.connect()
for table in ("departments", "jobs", "hired_employees"):
    db.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{warehouse}/{table}/*.parquet')")
db.execute("SET TimeZone = 'UTC'")

for name, file in (("q1", "q1_hires_by_quarter.sql"), ("q2", "q2_departments_above_mean.sql")):
    sql = (QUERIES / file).read_text()
    db.execute(sql, {"year": YEAR}).fetchall()  # warm-up, as criterion does
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        db.execute(sql, {"year": YEAR}).fetchall()
        times.append(time.perf_counter() - start)
    print(name, statistics.median(times))
