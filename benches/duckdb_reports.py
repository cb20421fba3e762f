"""Q1 and Q2 in DuckDB over a csvgate Delta warehouse's Parquet files: the anchor of
benches/reports.sh. Valid for a warehouse loaded by appends only (no MERGE has replaced files),
which is how the script builds it.

usage: python duckdb_reports.py WAREHOUSE RUNS  → prints "q1 <median s>" and "q2 <median s>"
"""
import statistics
import sys
import time

import duckdb

warehouse, runs = sys.argv[1], int(sys.argv[2])
db = duckdb.connect()
for table in ("departments", "jobs", "hired_employees"):
    db.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{warehouse}/{table}/*.parquet')")
db.execute("SET TimeZone = 'UTC'")

Q1 = """
SELECT d.department, j.job,
    SUM(CASE WHEN quarter(e.datetime) = 1 THEN 1 ELSE 0 END) AS Q1,
    SUM(CASE WHEN quarter(e.datetime) = 2 THEN 1 ELSE 0 END) AS Q2,
    SUM(CASE WHEN quarter(e.datetime) = 3 THEN 1 ELSE 0 END) AS Q3,
    SUM(CASE WHEN quarter(e.datetime) = 4 THEN 1 ELSE 0 END) AS Q4
FROM hired_employees e JOIN departments d ON d.id = e.department_id JOIN jobs j ON j.id = e.job_id
WHERE year(e.datetime) = 2021
GROUP BY d.department, j.job ORDER BY d.department, j.job
"""
Q2 = """
WITH hires AS (
    SELECT d.id, d.department, COUNT(e.id) AS hired
    FROM departments d LEFT JOIN hired_employees e ON e.department_id = d.id AND year(e.datetime) = 2021
    GROUP BY d.id, d.department
)
SELECT id, department, hired FROM hires WHERE hired > (SELECT AVG(hired) FROM hires)
ORDER BY hired DESC, department
"""
for name, sql in (("q1", Q1), ("q2", Q2)):
    db.execute(sql).fetchall()  # warm-up, as criterion does
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        db.execute(sql).fetchall()
        times.append(time.perf_counter() - start)
    print(name, statistics.median(times))
