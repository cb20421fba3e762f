"""Copies the live Parquet files of each Delta table of a warehouse into OUT/<table>/, read
from the Delta log by the `deltalake` package (not by csvgate): the files of each table's
current version only, where a glob of its folder would also read files a replace removed.

    live_parquet.py WAREHOUSE OUT TABLE... [--tamper TABLE COLUMN VALUE]

--tamper rewrites the first row of TABLE's first file with COLUMN set to VALUE (an integer),
the negative control: a reader that passes the untouched files must fail that one.
"""

import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable


def copy_live(warehouse: Path, out: Path, table: str) -> list[Path]:
    folder = out / table
    folder.mkdir(parents=True)
    copies = []
    for uri in DeltaTable(str(warehouse / table)).file_uris():
        source = Path(uri.removeprefix("file://"))
        copies.append(Path(shutil.copy(source, folder / source.name)))
    return copies


def tamper(path: Path, column: str, value: int) -> None:
    rows = pq.read_table(path)
    index = rows.schema.get_field_index(column)
    values = rows.column(index).to_pylist()
    values[0] = value
    changed = pa.array(values, type=rows.schema.field(index).type)
    pq.write_table(rows.set_column(index, rows.schema.field(index), changed), path)


if __name__ == "__main__":
    args = sys.argv[1:]
    tampered = None
    if "--tamper" in args:
        at = args.index("--tamper")
        tampered, args = args[at + 1 : at + 4], args[:at]
    warehouse, out, tables = Path(args[0]), Path(args[1]), args[2:]
    files = {table: copy_live(warehouse, out, table) for table in tables}
    if tampered:
        table, column, value = tampered
        tamper(files[table][0], column, int(value))
    print(sum(len(copies) for copies in files.values()))
