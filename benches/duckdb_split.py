"""The same split as `csvgate ingest` does, in DuckDB: the anchor of benches/split.sh.

Reads a hired_employees CSV as text, applies the dictionary's rules (missing fields, integers
> 0, ISO-8601 timestamps, known departments and jobs, an id repeated later in the file),
writes valid typed rows to Parquet and invalid rows, with line and reason, to CSV.

usage: python duckdb_split.py EMPLOYEES.csv DEPARTMENTS.csv JOBS.csv OUT_DIR
"""
import sys

import duckdb

employees, departments, jobs, out = sys.argv[1:5]
db = duckdb.connect()
db.execute(f"CREATE TABLE departments AS SELECT * FROM read_csv('{departments}', header=false, columns={{'id': 'BIGINT', 'department': 'VARCHAR'}})")
db.execute(f"CREATE TABLE jobs AS SELECT * FROM read_csv('{jobs}', header=false, columns={{'id': 'BIGINT', 'job': 'VARCHAR'}})")

columns = "{'id': 'VARCHAR', 'name': 'VARCHAR', 'datetime': 'VARCHAR', 'department_id': 'VARCHAR', 'job_id': 'VARCHAR'}"


def positive(name):
    typed = f"TRY_CAST(trim({name}) AS BIGINT)"
    return f"""CASE WHEN {name} IS NULL OR trim({name}) = '' THEN '{name}: missing'
        WHEN {typed} IS NULL THEN '{name}: not an integer'
        WHEN {typed} <= 0 THEN '{name}: must be greater than 0' END"""


def text(name):
    return f"""CASE WHEN {name} IS NULL OR trim({name}) = '' THEN '{name}: missing'
        WHEN length(trim({name})) > 255 THEN '{name}: longer than 255 characters' END"""


reason = f"""nullif(concat_ws('; ',
    {positive('id')}, {text('name')},
    CASE WHEN datetime IS NULL OR trim(datetime) = '' THEN 'datetime: missing'
         WHEN TRY_CAST(trim(datetime) AS TIMESTAMPTZ) IS NULL THEN 'datetime: not an ISO-8601 timestamp' END,
    coalesce({positive('department_id')},
        CASE WHEN TRY_CAST(trim(department_id) AS BIGINT) NOT IN (SELECT id FROM departments)
             THEN 'department_id: ' || trim(department_id) || ' is not an id in departments' END),
    coalesce({positive('job_id')},
        CASE WHEN TRY_CAST(trim(job_id) AS BIGINT) NOT IN (SELECT id FROM jobs)
             THEN 'job_id: ' || trim(job_id) || ' is not an id in jobs' END),
    CASE WHEN repeat_rank > 1 THEN 'id: repeats the id of an earlier row in this file' END
), '')"""

db.execute(f"""
CREATE TEMP TABLE split AS
WITH raw AS (
    SELECT *, row_number() OVER () AS line
    FROM read_csv('{employees}', header=false, delim=',', quote='"', escape='"', auto_detect=false, all_varchar=true, null_padding=true, columns={columns})
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY TRY_CAST(trim(id) AS BIGINT) ORDER BY line) AS repeat_rank FROM raw
)
SELECT id, name, datetime, department_id, job_id, line, {reason} AS reason FROM ranked
""")
db.execute(f"""COPY (
    SELECT CAST(trim(id) AS BIGINT) AS id, trim(name) AS name, CAST(trim(datetime) AS TIMESTAMPTZ) AS datetime,
           CAST(trim(department_id) AS BIGINT) AS department_id, CAST(trim(job_id) AS BIGINT) AS job_id
    FROM split WHERE reason IS NULL
) TO '{out}/valid.parquet' (FORMAT parquet)""")
db.execute(f"COPY (SELECT * FROM split WHERE reason IS NOT NULL ORDER BY line) TO '{out}/invalid.csv' (HEADER)")
valid, invalid = db.execute("SELECT count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE reason IS NOT NULL) FROM split").fetchone()
print(f"duckdb: {valid} valid, {invalid} invalid", file=sys.stderr)
