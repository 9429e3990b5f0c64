"""Import benchmark: the product's import against PostgreSQL COPY of the same rows (the floor).

Run by hand, not in CI:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/import_bench.py \
        [--lines 1000000] [--customers 100000] [--seed 7]

It creates (or empties) the database named in DATABASE_URL, generates a seeded orders CSV of
--lines order lines for --customers customers, imports the customers, then times

1. the orders import through the same code path as the browser upload (import_job_create +
   import_job_run: parsing, validation, staging, checks and the set-based upsert), and
2. the floor: COPY of the same orders and order lines, already computed, into tables created
   LIKE the product's own (same columns, keys and indexes),

and prints both times and the ratio. A second import of the same file is timed too.
"""

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")
# The generated file is larger than the default browser upload limit (50 MB); the code path is the same.
os.environ.setdefault("IMPORT_MAX_UPLOAD_BYTES", str(1 << 30))


def generate(lines: int, customers: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    # Orders of 1-5 lines (mean 3) so that a million lines make about 330,000 orders.
    sizes = rng.integers(1, 6, size=lines // 3 + 10)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), lines) + 1]
    sizes[-1] -= sizes.sum() - lines
    n_orders = len(sizes)
    order_customer = rng.integers(1, customers + 1, size=n_orders)
    start = np.datetime64("2023-01-01T00:00:00")
    order_time = start + rng.integers(0, 730 * 86400, size=n_orders).astype("timedelta64[s]")
    order_index = np.repeat(np.arange(n_orders), sizes)
    products = rng.integers(1, 2001, size=lines)
    quantity = rng.integers(1, 13, size=lines)
    price = np.round(rng.gamma(2.0, 6.0, size=lines) + 0.5, 2)
    orders_csv = pd.DataFrame(
        {
            "order_id": np.char.add("ORD-", order_index.astype(str)),
            "customer_id": np.char.add("CUST-", order_customer[order_index].astype(str)),
            "ordered_at": pd.to_datetime(order_time[order_index]).strftime("%Y-%m-%d %H:%M:%S"),
            "sku": np.char.add("SKU-", products.astype(str)),
            "quantity": quantity,
            "unit_price": price,
        }
    )
    customers_csv = pd.DataFrame(
        {
            "external_id": [f"CUST-{i}" for i in range(1, customers + 1)],
            "name": [f"Customer {i}" for i in range(1, customers + 1)],
        }
    )
    return orders_csv, customers_csv


def reset_database() -> None:
    import psycopg2
    from django.conf import settings

    db = settings.DATABASES["default"]
    admin = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}"')
        cursor.execute(f'CREATE DATABASE "{db["NAME"]}"')
    admin.close()


def import_file(path: Path, fmt: str, user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from customers.imports.services import import_job_create, import_job_run

    upload = SimpleUploadedFile(path.name, path.read_bytes())
    started = time.perf_counter()
    job = import_job_create(user=user, uploaded_file=upload, format=fmt, run_async=False)
    job = import_job_run(job_id=job.pk)
    return time.perf_counter() - started, job


def floor(orders_csv: pd.DataFrame) -> float:
    """COPY the same orders and lines, computed beforehand, into LIKE copies of the product's tables."""
    from django.db import connection

    from customers.models import Customer, Product

    customer_ids = dict(Customer.objects.values_list("external_id", "id"))
    product_ids = dict(Product.objects.values_list("sku", "id"))
    lines = orders_csv.assign(amount=(orders_csv["quantity"] * orders_csv["unit_price"]).round(2))
    orders = lines.groupby("order_id", sort=False).agg(
        customer_id=("customer_id", "first"), ordered_at=("ordered_at", "first"), gross=("amount", "sum")
    )
    orders["id"] = np.arange(1, len(orders) + 1)
    order_rows = pd.DataFrame(
        {
            "id": orders["id"],
            "external_id": orders.index,
            "customer_id": orders["customer_id"].map(customer_ids),
            "ordered_at": orders["ordered_at"],
            "currency": "GBP",
            "kind": "purchase",
            "status": "placed",
            "gross_amount": orders["gross"].round(2),
            "refunded_amount": 0,
            "created_at": "2026-01-01 00:00:00+00",
            "updated_at": "2026-01-01 00:00:00+00",
        }
    )
    line_rows = pd.DataFrame(
        {
            "order_id": lines["order_id"].map(orders["id"]),
            "line_number": lines.groupby("order_id", sort=False).cumcount() + 1,
            "product_id": lines["sku"].map(product_ids),
            "quantity": lines["quantity"],
            "unit_price": lines["unit_price"],
            "amount": lines["amount"],
        }
    )
    buffers = []
    for frame in (order_rows, line_rows):
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False)
        buffer.seek(0)
        buffers.append(buffer)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS floor_orderline, floor_order")
        cursor.execute("CREATE TABLE floor_order (LIKE customers_order INCLUDING ALL)")
        cursor.execute("CREATE TABLE floor_orderline (LIKE customers_orderline INCLUDING ALL)")
        cursor.execute(
            "ALTER TABLE floor_orderline ADD FOREIGN KEY (order_id) REFERENCES floor_order (id),"
            " ADD FOREIGN KEY (product_id) REFERENCES customers_product (id)"
        )
        cursor.execute("ALTER TABLE floor_order ADD FOREIGN KEY (customer_id) REFERENCES customers_customer (id)")
        connection.commit() if not connection.get_autocommit() else None
        raw = cursor.cursor
        started = time.perf_counter()
        raw.copy_expert(f"COPY floor_order ({', '.join(order_rows.columns)}) FROM STDIN WITH (FORMAT csv)", buffers[0])
        raw.copy_expert(
            f"COPY floor_orderline ({', '.join(line_rows.columns)}) FROM STDIN WITH (FORMAT csv)", buffers[1]
        )
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE floor_orderline, floor_order")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if "postgres" not in os.environ.get("DATABASE_URL", ""):
        sys.exit("Set DATABASE_URL to a PostgreSQL database the benchmark may drop and re-create.")

    import django

    django.setup()
    reset_database()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    admin = get_user_model().objects.create_superuser("bench", password="bench-password-1")

    orders_csv, customers_csv = generate(args.lines, args.customers, args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="import-bench-"))
    orders_path, customers_path = workdir / "orders.csv", workdir / "customers.csv"
    orders_csv.to_csv(orders_path, index=False)
    customers_csv.to_csv(customers_path, index=False)
    print(
        f"generated {len(orders_csv):,} order lines, {orders_csv['order_id'].nunique():,} orders, "
        f"{args.customers:,} customers ({orders_path.stat().st_size / 1e6:.0f} MB)"
    )

    seconds, job = import_file(customers_path, "customers", admin)
    print(f"customers import: {seconds:.2f} s ({job.created_count:,} created)")
    seconds, job = import_file(orders_path, "orders", admin)
    assert job.status == "succeeded" and job.error_count == 0, job.message
    print(
        f"orders import (product): {seconds:.2f} s  ({job.created_count:,} orders created, "
        f"{args.lines / seconds:,.0f} lines/s)"
    )
    from customers.rollups import customer_rollups_drain

    started = time.monotonic()
    drained = customer_rollups_drain()
    print(
        f"then the rollups of its {drained:,} customers (the task the import queues after commit): "
        f"{time.monotonic() - started:.2f} s"
    )
    floor_seconds = floor(orders_csv)
    print(f"floor (COPY of the same rows into LIKE tables): {floor_seconds:.2f} s")
    print(f"ratio import / floor: {seconds / floor_seconds:.2f} (goal: <= 2)")
    again, job = import_file(orders_path, "orders", admin)
    print(
        f"second import of the same file: {again:.2f} s ({job.unchanged_count:,} unchanged, "
        f"{job.created_count + job.updated_count} changed)"
    )


if __name__ == "__main__":
    main()
