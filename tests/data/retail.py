"""The retail example's data, and what its contract makes of it, computed without csvgate.

    retail.py generate DIR   writes customers.csv, products.csv and orders.csv (no header),
                             seeded, with every kind of violation the contract names
    retail.py expect DIR     prints, as JSON, per table the rows kept, the rejected rows per
                             reason, and the exact sum of each kept decimal column
    retail.py measure DIR    prints, as JSON, the value of each dataset rule of the contract
                             over the kept rows, by `table: rule`
    retail.py revenue DIR    prints, as CSV, the kept orders of 2024 and their exact revenue by
                             month (examples/queries/*/revenue_by_month.sql's answer)

The rules are written here from examples/contracts/retail.odcs.yaml and the README's table of
what each ODCS field means, not from csvgate's code: the test compares the two readings.
"""

import csv
import datetime
import json
import random
import re
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

BLANKS = " \t\r\n"


def generate(folder: Path) -> None:
    rng = random.Random(20261204)
    customers = []
    for n in range(1, 201):
        row = [f"C{n:04d}", f"Customer {n}", f"c{n}@shop.example", rng.choice(["retail", "business", "vip", ""]), f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"]
        customers.append(row)
    broken_customers = [
        ["", "No id", "", "", "2023-01-01"],
        ["C12345", "Id too long", "", "", "2023-01-01"],
        ["X0001", "Id of another shape", "", "", "2023-01-01"],
        ["C0201", "", "", "", "2023-01-01"],
        ["C0202", "N" * 101, "", "", "2023-01-01"],
        ["C0203", "Bad mail", "not-a-mail", "", "2023-01-01"],
        ["C0204", "Bad segment", "", "wholesale", "2023-01-01"],
        ["C0205", "Bad day", "", "", "2023-02-30"],
        ["C0206", "No day", "", "", ""],
        ["C0007", "Seven again", "", "", "2023-01-01"],
        ["C0208", "Two problems", "x@y", "none", "yesterday"],
        ["C0209", "Vip without mail", "", "vip", "2023-01-01"],
    ]
    customers += broken_customers
    products = []
    for n in range(1, 51):
        price = f"{rng.randint(1, 99999) / 100:.2f}"
        weight = "" if n % 5 == 0 else f"{rng.randint(0, 5000) / 10}"
        products.append([f"ABC-{n:03d}", f"Product {n}", price, rng.choice(["true", "false", "TRUE", "1", "0"]), weight])
    products += [
        ["abc-001", "Lower-case sku", "1.00", "true", ""],
        ["ABC-051", "X", "1.00", "true", ""],
        ["ABC-052", "Three decimals", "1.005", "true", ""],
        ["ABC-053", "Nine digits", "123456789.00", "true", ""],
        ["ABC-054", "Free", "0", "true", ""],
        ["ABC-055", "Negative", "-3.50", "true", ""],
        ["ABC-056", "Not a price", "12,50", "true", ""],
        ["ABC-057", "Maybe", "1.00", "maybe", ""],
        ["ABC-058", "Too heavy", "1.00", "true", "1000.5"],
        ["ABC-059", "Lighter than air", "1.00", "true", "-1"],
        ["ABC-060", "Heavy as what", "1.00", "true", "NaN"],
        ["ABC-003", "Three again", "2.00", "false", ""],
        ["ABC-061", "Leading zeros", "0007.50", "false", "1e2"],
    ]
    orders = []
    for n in range(1, 2001):
        customer = f"C{rng.randint(1, 215):04d}"  # 201 and up are not kept customers
        sku = f"ABC-{rng.randint(1, 62):03d}"  # 51 and up are mostly not kept products
        quantity = str(rng.randint(1, 20))
        price = f"{rng.randint(0, 99999) / 100:.2f}"
        day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        note = rng.choice(["", "", "gift", "call first, ring twice"])
        orders.append([str(n), customer, sku, quantity, price, day, note])
    orders += [
        ["x1", "C0001", "ABC-001", "1", "1.00", "2024-01-01", ""],
        ["0", "C0001", "ABC-001", "1", "1.00", "2024-01-01", ""],
        ["2001", "C0001", "ABC-001", "0", "1.00", "2024-01-01", ""],
        ["2002", "C0001", "ABC-001", "1001", "1.00", "2024-01-01", ""],
        ["2003", "C0001", "ABC-001", "1", "1.001", "2024-01-01", ""],
        ["2004", "C0001", "ABC-001", "1", "1.00", "2024-13-01", ""],
        ["2005", "C0001", "ABC-001", "1", "1.00", "2024-01-01", "n" * 201],
        ["2006", "C0001", "ABC-001", "1", "1.00", "2024-01-01"],
        ["17", "C0001", "ABC-001", "1", "1.00", "2024-01-01", "seventeen again"],
        ["2007", "", "", "", "", "", ""],
    ]
    for name, rows in [("customers", customers), ("products", products), ("orders", orders)]:
        with open(folder / f"{name}.csv", "w", newline="") as out:
            csv.writer(out, lineterminator="\n").writerows(rows)


# The contract, column by column: (name, required, check), each check giving the first problem
# of a non-empty trimmed value, or None.


def text(max_chars=None, min_chars=None, pattern=None):
    def check(value):
        if min_chars is not None and len(value) < min_chars:
            return f"shorter than {min_chars} characters"
        if max_chars is not None and len(value) > max_chars:
            return f"longer than {max_chars} characters"
        if pattern is not None and not re.search(pattern, value):
            return f"does not match {pattern}"
        return None

    return check


def one_of(max_chars, values):
    def check(value):
        if len(value) > max_chars:
            return f"longer than {max_chars} characters"
        return None if value in values else f"not one of {', '.join(values)}"

    return check


def integer(minimum=None, maximum=None):
    def check(value):
        if not re.fullmatch(r"[+-]?[0-9]+", value):
            return "not an integer"
        return out_of_bounds(int(value), minimum, maximum)

    return check


def out_of_bounds(number, minimum, maximum):
    """An inclusive bound `number` breaks, or None."""
    if minimum is not None and number < minimum:
        return f"must be at least {minimum}"
    if maximum is not None and number > maximum:
        return f"must be at most {maximum}"
    return None


def decimal(precision, scale, minimum=None, greater_than=None):
    def check(value):
        if not re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", value):
            return "not a decimal number"
        whole, _, fraction = value.lstrip("+-").partition(".")
        if len(fraction) > scale:
            return f"more than {scale} digits after the point"
        if len(whole.lstrip("0")) > precision - scale:
            return f"more than {precision - scale} digits before the point"
        number = Decimal(value)
        if greater_than is not None and number <= greater_than:
            return f"must be greater than {greater_than}"
        return out_of_bounds(number, minimum, None)

    return check


def number(minimum=None, maximum=None):
    def check(value):
        if not re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", value):
            return "not a number"
        return out_of_bounds(float(value), minimum, maximum)

    return check


def date(value):
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return "not a date (yyyy-MM-dd)"
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return "not a date (yyyy-MM-dd)"
    return None


def boolean(value):
    return None if value.lower() in ("true", "false", "1", "0") else "not true or false"


TABLES = {
    "customers": [
        ("customer_id", True, text(5, pattern=r"^C[0-9]{4}$")),
        ("name", True, text(100)),
        ("email", False, text(254, pattern=r"^[^@ ]+@[^@ ]+\.[a-z]{2,}$")),
        ("segment", False, one_of(20, ["retail", "business", "vip"])),
        ("signed_up", True, date),
    ],
    "products": [
        ("sku", True, text(7, pattern=r"^[A-Z]{3}-[0-9]{3}$")),
        ("title", True, text(120, min_chars=2)),
        ("unit_price", True, decimal(10, 2, greater_than=0)),
        ("active", True, boolean),
        ("weight_kg", False, number(minimum=0, maximum=1000)),
    ],
    "orders": [
        ("order_id", True, integer(minimum=1)),
        ("customer_id", True, text(5)),
        ("sku", True, text(7)),
        ("quantity", True, integer(minimum=1, maximum=1000)),
        ("unit_price", True, decimal(10, 2, minimum=0)),
        ("ordered_on", True, date),
        ("note", False, text(200)),
    ],
}
KEYS = {"customers": "customer_id", "products": "sku", "orders": "order_id"}
REFERENCES = {"orders": {"customer_id": "customers", "sku": "products"}}
DECIMALS = {"products": ["unit_price"], "orders": ["unit_price"]}


def order_total(fields):
    """orders.unit_price's custom rule, `quantity * unit_price <= 15000`, over typed values: a
    quantity that is no integer is NULL in SQL, and a NULL comparison passes."""
    quantity = fields[3].strip(BLANKS)
    if not re.fullmatch(r"[+-]?[0-9]+", quantity):
        return None
    total = int(quantity) * Decimal(fields[4].strip(BLANKS))
    return "order total above 15000" if total > 15000 else None


def expect(folder: Path) -> dict:
    return kept_and_rejected(folder)[0]


def measure(folder: Path) -> dict:
    """The contract's dataset rules (`type: sql`, `rowCount`) over the rows kept."""
    kept = kept_and_rejected(folder)[1]
    big = [row for row in kept["orders"] if int(row["quantity"]) * Decimal(row["unit_price"]) > 10000]
    return {
        "orders: orders are loaded": len(kept["orders"]),
        "orders: few orders above 10000": len(big),
        "products: most weights are known": sum(1 for row in kept["products"] if row["weight_kg"] == ""),
    }


def revenue(folder: Path) -> str:
    by_month = {}
    for row in kept_and_rejected(folder)[1]["orders"]:
        if row["ordered_on"].startswith("2024-"):
            month = int(row["ordered_on"][5:7])
            orders, total = by_month.get(month, (0, Decimal("0.00")))
            by_month[month] = (orders + 1, total + int(row["quantity"]) * Decimal(row["unit_price"]))
    lines = ["month,orders,revenue"] + [f"{m},{n},{t:.2f}" for m, (n, t) in sorted(by_month.items())]
    return "\n".join(lines) + "\n"


def kept_and_rejected(folder: Path) -> tuple[dict, dict]:
    kept_keys = {}
    kept_rows = {}
    result = {}
    for table, columns in TABLES.items():
        with open(folder / f"{table}.csv", newline="") as source:
            rows = list(csv.reader(source))
        seen = set()
        kept, reasons = [], Counter()
        for fields in rows:
            problems = []
            if len(fields) != len(columns):
                problems.append(f"row: expected {len(columns)} fields, found {len(fields)}")
            fields = fields[: len(columns) - 1] + [",".join(fields[len(columns) - 1 :])] if len(fields) > len(columns) else fields
            values = {}
            for index, (name, required, check) in enumerate(columns):
                value = fields[index].strip(BLANKS) if index < len(fields) else ""
                values[name] = value
                if value == "":
                    if required:
                        problems.append(f"{name}: missing")
                    continue
                problem = check(value)
                if problem is None and (table, name) == ("orders", "unit_price"):
                    problem = order_total(fields)
                if problem is None and name in REFERENCES.get(table, {}):
                    target = REFERENCES[table][name]
                    if value not in kept_keys[target]:
                        problem = f"{value} is not an id in {target}"
                if problem is not None:
                    problems.append(f"{name}: {problem}")
            if table == "customers" and values["segment"] == "vip" and values["email"] == "":
                # The table's rule, `segment <> 'vip' OR email IS NOT NULL`: NULL passes.
                problems.append("row: a vip has an email")
            key = values[KEYS[table]]
            key = (str(int(key)) if re.fullmatch(r"\+?[0-9]+", key) else None) if table == "orders" else (key or None)
            if key is not None:
                if key in seen:
                    problems.append(f"{KEYS[table]}: repeats the id of an earlier row in this file")
                seen.add(key)
            if problems:
                reasons["; ".join(problems)] += 1
            else:
                kept.append(values)
        kept_keys[table] = {row[KEYS[table]] for row in kept}
        kept_rows[table] = kept
        sums = {column: str(sum((Decimal(row[column]).quantize(Decimal("0.01")) for row in kept), Decimal("0.00"))) for column in DECIMALS.get(table, [])}
        result[table] = {"kept": len(kept), "rejected": dict(reasons), "sums": sums}
    return result, kept_rows


if __name__ == "__main__":
    command, folder = sys.argv[1], Path(sys.argv[2])
    if command == "generate":
        generate(folder)
    elif command == "revenue":
        print(revenue(folder), end="")
    elif command == "measure":
        print(json.dumps(measure(folder), indent=1, sort_keys=True))
    else:
        print(json.dumps(expect(folder), indent=1, sort_keys=True))
