"""The anchor of benches/backup.sh: DuckDB's `COPY ... TO ... (FORMAT parquet)` of the same
rows a csvgate backup reads, i.e. the live files of a Delta table (its log's adds minus its
removes; the benchmark's tables have no checkpoint yet, so the JSON commits are the whole log).

usage: python duckdb_copy.py TABLE_FOLDER OUT.parquet
"""
import json
import pathlib
import sys

import duckdb

table, out = pathlib.Path(sys.argv[1]), sys.argv[2]
live = set()
for commit in sorted((table / "_delta_log").glob("*.json")):
    for line in commit.read_text().splitlines():
        action = json.loads(line)
        if "add" in action:
            live.add(action["add"]["path"])
        if "remove" in action:
            live.discard(action["remove"]["path"])
files = ", ".join(f"'{table / path}'" for path in sorted(live))
db = duckdb.connect()
db.execute(f"COPY (SELECT * FROM read_parquet([{files}])) TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
