"""Reads a csvgate snapshot's files with an independent reader (fastavro, pyarrow) and prints
their schema and rows as JSON, timestamps as microseconds since the epoch, sorted by id."""
import datetime
import json
import sys

kind, paths = sys.argv[1], sys.argv[2:]
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def plain(value):
    if isinstance(value, datetime.datetime):
        return (value - EPOCH) // datetime.timedelta(microseconds=1)
    return value


if kind == "avro":
    import fastavro

    rows = []
    for path in paths:
        with open(path, "rb") as file:
            reader = fastavro.reader(file)
            schema = reader.writer_schema
            rows.extend(reader)
else:
    import pyarrow
    import pyarrow.parquet

    table = pyarrow.concat_tables(pyarrow.parquet.read_table(path) for path in paths)
    schema = [[field.name, str(field.type), field.nullable] for field in table.schema]
    rows = table.to_pylist()
rows = [{name: plain(value) for name, value in row.items()} for row in rows]
rows.sort(key=lambda row: row["id"])
print(json.dumps({"schema": schema, "rows": rows}))
