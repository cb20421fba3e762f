"""The plainest split a DuckDB user would write: the second anchor of benches/split.sh.

Reads a hired_employees CSV with every column as text, applies the dictionary's rules as CASE
expressions, and COPYs the valid rows, typed, to Parquet and the invalid ones, with a reason,
to CSV. Unlike duckdb_split.py (csvgate's own output in DuckDB), it keeps no line numbers and
does not look for an id repeated later in the file: no window over the whole file.

usage: python duckdb_plain_split.py EMPLOYEES.csv DEPARTMENTS.csv JOBS.csv OUT_DIR
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


reason = f"""nullif(concat_ws('; ',
    {positive('id')},
    CASE WHEN name IS NULL OR trim(name) = '' THEN 'name: missing' END,
    CASE WHEN datetime IS NULL OR trim(datetime) = '' THEN 'datetime: missing'
         WHEN TRY_CAST(trim(datetime) AS TIMESTAMPTZ) IS NULL THEN 'datetime: not an ISO-8601 timestamp' END,
    coalesce({positive('department_id')},
        CASE WHEN TRY_CAST(trim(department_id) AS BIGINT) NOT IN (SELECT id FROM departments)
             THEN 'department_id: unknown' END),
    coalesce({positive('job_id')},
        CASE WHEN TRY_CAST(trim(job_id) AS BIGINT) NOT IN (SELECT id FROM jobs)
             THEN 'job_id: unknown' END)
), '')"""

db.execute(f"""
CREATE TEMP TABLE split AS
SELECT *, {reason} AS reason
FROM read_csv('{employees}', header=false, delim=',', quote='"', escape='"', auto_detect=false, all_varchar=true, null_padding=true, columns={columns})
""")
db.execute(f"""COPY (
    SELECT CAST(trim(id) AS BIGINT) AS id, trim(name) AS name, CAST(trim(datetime) AS TIMESTAMPTZ) AS datetime,
           CAST(trim(department_id) AS BIGINT) AS department_id, CAST(trim(job_id) AS BIGINT) AS job_id
    FROM split WHERE reason IS NULL
) TO '{out}/valid.parquet' (FORMAT parquet)""")
db.execute(f"COPY (SELECT * FROM split WHERE reason IS NOT NULL) TO '{out}/invalid.csv' (HEADER)")
valid, invalid = db.execute("SELECT count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE reason IS NOT NULL) FROM split").fetchone()
print(f"duckdb plain: {valid} valid, {invalid} invalid", file=sys.stderr)
