"""Reads csvgate's Delta warehouse with engines csvgate does not contain (Python deltalake,
Polars) and prints what they see as JSON: each table's protocol and row count, the timestamp
column's type, and Q2 of a year worked out with Polars' own operators (not csvgate's SQL)."""
import datetime
import json
import sys

import deltalake
import polars as pl

root, year = sys.argv[1], int(sys.argv[2])
seen = {}
for name in ["departments", "jobs", "hired_employees"]:
    table = deltalake.DeltaTable(f"{root}/{name}")
    protocol = table.protocol()
    seen[name] = {
        "deltalake_rows": table.to_pyarrow_table().num_rows,
        "polars_rows": pl.read_delta(f"{root}/{name}").height,
        "reader_version": protocol.min_reader_version,
        "writer_version": protocol.min_writer_version,
        "reader_features": protocol.reader_features or [],
    }

employees = pl.read_delta(f"{root}/hired_employees")
departments = pl.read_delta(f"{root}/departments")
start = datetime.datetime(year, 1, 1, tzinfo=datetime.timezone.utc)
end = datetime.datetime(year + 1, 1, 1, tzinfo=datetime.timezone.utc)
hired = (
    employees.filter((pl.col("datetime") >= start) & (pl.col("datetime") < end))
    .group_by("department_id")
    .agg(pl.len().alias("hired"))
)
per_department = departments.join(
    hired, left_on="id", right_on="department_id", how="left"
).with_columns(pl.col("hired").fill_null(0))
mean = per_department["hired"].mean()
above = per_department.filter(pl.col("hired") > mean).sort(
    ["hired", "department"], descending=[True, False]
)
q2 = [f"{row['id']},{row['department']},{row['hired']}" for row in above.iter_rows(named=True)]
print(json.dumps({
    "tables": seen,
    "datetime_type": str(employees.schema["datetime"]),
    "q2": q2,
}))
