"""Reads a csvgate snapshot file with an independent reader (fastavro, pyarrow) and prints
its schema and rows as JSON, timestamps as microseconds since the epoch, sorted by id."""
import datetime
import json
import sys

kind, path = sys.argv[1:]
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def plain(value):
    if isinstance(value, datetime.datetime):
        return (value - EPOCH) // datetime.timedelta(microseconds=1)
    return value


if kind == "avro":
    import fastavro

    with open(path, "rb") as file:
        reader = fastavro.reader(file)
        schema = reader.writer_schema
        rows = list(reader)
else:
    import pyarrow.parquet

    table = pyarrow.parquet.read_table(path)
    schema = [[field.name, str(field.type), field.nullable] for field in table.schema]
    rows = table.to_pylist()
rows = [{name: plain(value) for name, value in row.items()} for row in rows]
rows.sort(key=lambda row: row["id"])
print(json.dumps({"schema": schema, "rows": rows}))
