"""Generated files of the retail example at benchmark sizes, seeded:

    retail_gen.py ORDERS CUSTOMERS DIR

writes DIR/customers.csv (CUSTOMERS rows), DIR/products.csv (1,000) and DIR/orders.csv (ORDERS),
no header, in the columns of examples/contracts/retail.odcs.yaml, with customer ids of seven
digits (`C0000001`) so a million customers fit: benches/contract.sh widens the contract's
customer id to match. About 3 % of the orders break a rule: an unknown customer or product, a
quantity out of bounds, a third decimal, an impossible day, a missing customer, a repeated
order id. Every numeric field holds a number (Floe fails a whole file otherwise; see
benches/floe/README.md), so both tools judge the same rows.
"""

import random
import sys
from pathlib import Path

SEGMENTS = ["retail", "business", "vip", ""]
NOTES = ["", "", "gift", "\"call first, ring twice\""]  # written as CSV quotes it
PRODUCTS = 1000


def customers(out, count, rng):
    for n in range(1, count + 1):
        segment = SEGMENTS[n % 4]
        email = f"c{n}@shop.example"
        out.write(f"C{n:07d},Customer {n},{email},{segment},2023-{n % 12 + 1:02d}-{n % 28 + 1:02d}\n")


def products(out, rng):
    for n in range(1, PRODUCTS + 1):
        price = f"{rng.randint(1, 99999) / 100:.2f}"
        out.write(f"ABC-{n:03d},Product {n},{price},true,{n % 500}\n")


def orders(out, count, known_customers, rng):
    random = rng.random
    randint = rng.randint
    lines = []
    for n in range(1, count + 1):
        order_id, customer, sku = n, f"C{randint(1, known_customers):07d}", f"ABC-{randint(1, PRODUCTS):03d}"
        quantity, price = randint(1, 20), f"{randint(0, 49999) / 100:.2f}"
        day = f"2024-{randint(1, 12):02d}-{randint(1, 28):02d}"
        roll = random()
        if roll < 0.03:
            kind = int(roll * 1000) % 8
            if kind == 0:
                customer = f"C{known_customers + randint(1, 1000):07d}"
            elif kind == 1:
                sku = f"ZZZ-{randint(1, 999):03d}"
            elif kind == 2:
                quantity = 1001
            elif kind == 3:
                price = price + "5"
            elif kind == 4:
                day = "2024-02-30"
            elif kind == 5:
                customer = ""
            elif kind == 6 and n > 1:
                order_id = n - 1
            else:
                quantity = 0
        lines.append(f"{order_id},{customer},{sku},{quantity},{price},{day},{NOTES[n % 4]}\n")
        if len(lines) == 100_000:
            out.writelines(lines)
            lines.clear()
    out.writelines(lines)


def main():
    count, known, folder = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261204)
    with open(folder / "customers.csv", "w") as out:
        customers(out, known, rng)
    with open(folder / "products.csv", "w") as out:
        products(out, rng)
    with open(folder / "orders.csv", "w") as out:
        orders(out, count, known, rng)


if __name__ == "__main__":
    main()
