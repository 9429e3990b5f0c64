"""Metrics benchmark: the full recompute against a bare SQL GROUP BY (the floor).

Run by hand, not in CI:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/metricsbench .venv/bin/python bench/metrics_bench.py \
        [--customers 1000000] [--orders 10000000] [--seed 7]

It drops and recreates the database named in DATABASE_URL (unless --reuse), migrates it, and seeds
it with COPY: --customers customers whose purchases follow the BG/NBD story (gamma-distributed
purchase rates, beta-distributed drop-out after each purchase, gamma spend), about --orders orders
over three years up to today, 1-2 lines each, 4% of them refunds, and account managers with a book
history; then it builds the per-customer rollups every writer of orders keeps (customers.rollups),
timed apart. Then it times

1. the floor: one SQL GROUP BY customer_id over the orders computing count, sum, min and max
   date into a temporary table;
2. the full recompute through the product's service (metrics_recompute in this process, as
   `manage.py recompute_metrics --sync` runs it), as of today, after last night's run as of
   yesterday (untimed: every nightly run starts from the model and rows of the one before): load,
   summary, fit, scoring, the write of every CustomerMetrics row and every dashboard snapshot, until
   the run is marked succeeded; the back-test that follows (its own task in production) is timed apart;
3. the BG/NBD fit alone on the per-customer summary, from the default start and from last night's model;
4. the refresh of one customer after a new order (median and 95th percentile of --refreshes),

and prints the figures and the ratio of (2) to (1).
"""

import argparse
import io
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")

# Three years of history: enough for 24 months of time series plus a year of cohorts before them.
HISTORY_DAYS = 3 * 365
MANAGERS = 20
PRODUCTS = 500
REFUND_SHARE = 0.04
COPY_ROWS = 1_000_000  # rows per COPY buffer: ~60 MB of CSV text at most


def reset_database() -> None:
    import psycopg2
    from django.conf import settings

    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        sys.exit("DATABASE_URL must name a PostgreSQL database (it is dropped and recreated).")
    admin = psycopg2.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"] or None, dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}"')
        cursor.execute(f'CREATE DATABASE "{db["NAME"]}"')
    admin.close()


def simulate(customers: int, orders: int, seed: int, today: date) -> tuple[pd.DataFrame, np.ndarray]:
    """Orders (customer index, day offset, amount) following BG/NBD, scaled to about `orders`."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, HISTORY_DAYS, size=customers)
    window = HISTORY_DAYS - first  # days from the first purchase to today
    rate = rng.gamma(0.9, 1.0, size=customers)  # relative purchase rate, scaled below
    dropout = rng.beta(1.0, 6.0, size=customers)
    alive_purchases = rng.geometric(dropout)  # purchases made before dropping out (>= 1)
    # Scale the rates so that the expected number of orders is about what was asked for.
    target_repeats = max(orders - customers, 0)
    scale = 1.0
    for _ in range(20):
        expected = np.minimum(rate * scale * window, alive_purchases - 1).sum()
        if expected <= 0:
            break
        scale *= target_repeats / expected
    repeats = np.minimum(rng.poisson(rate * scale * window), alive_purchases - 1)
    owner = np.repeat(np.arange(customers), repeats)
    # Given a Poisson count, purchase times are uniform over the window; a customer who dropped out
    # early keeps the first ones, which is close enough for a benchmark.
    offsets = first[owner] + (rng.random(owner.size) * window[owner]).astype("int64")
    spend = rng.gamma(3.0, 15.0, size=customers)
    days = np.concatenate([first, offsets])
    who = np.concatenate([np.arange(customers), owner])
    amount = np.round(rng.gamma(4.0, spend[who] / 4.0) + 1.0, 2)
    refund = rng.random(who.size) < REFUND_SHARE
    amount = np.where(refund, -np.round(amount / 2, 2), amount)
    frame = pd.DataFrame({"customer": who, "day": days, "amount": amount})
    return frame.sort_values(["day", "customer"], ignore_index=True), first


def copy_frame(cursor, table: str, frame: pd.DataFrame, not_null: tuple[str, ...] = ()) -> None:
    """COPY `frame` into `table`; `not_null` columns read an empty field as "" rather than NULL."""
    options = "FORMAT csv" + (f", FORCE_NOT_NULL ({', '.join(not_null)})" if not_null else "")
    for start in range(0, len(frame), COPY_ROWS):
        buffer = io.StringIO()
        frame.iloc[start : start + COPY_ROWS].to_csv(buffer, index=False, header=False)
        buffer.seek(0)
        cursor.copy_expert(f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN WITH ({options})", buffer)


def seed(customers: int, orders: int, seed_value: int) -> dict:
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from customers import roles

    today = date.today()
    start_day = today - timedelta(days=HISTORY_DAYS)
    started = time.monotonic()
    frame, first = simulate(customers, orders, seed_value, today)
    rng = np.random.default_rng(seed_value + 1)
    group = Group.objects.get_or_create(name=roles.ACCOUNT_MANAGER)[0]
    managers = []
    for i in range(MANAGERS):
        user = User.objects.create_user(username=f"manager{i}", first_name=f"Manager {i}")
        user.groups.add(group)
        managers.append(user.pk)
    now = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M:%S+00")
    ids = np.arange(1, customers + 1)
    manager = np.asarray(managers)[rng.integers(0, MANAGERS, size=customers)]
    countries = np.array(["United Kingdom", "Germany", "France", "Spain", "Indonesia", "Malaysia", "Australia"])
    customer_rows = pd.DataFrame(
        {
            "id": ids,
            "external_id": np.char.add("B", ids.astype(str)),
            "name": np.char.add("Customer ", ids.astype(str)),
            "email": "",
            "phone": "",
            "company": "",
            "country": countries[rng.integers(0, len(countries), size=customers)],
            "language": "en",
            "time_zone": "UTC",
            "account_manager_id": manager,
            "acquisition_source": "",
            "marketing_consent": False,
            "consent_source": "",
            "notes": "",
            "created_at": now,
            "updated_at": now,
        }
    )
    # A book history: every customer assigned at their first purchase; 10% changed hands since.
    assigned_at = pd.to_datetime(start_day) + pd.to_timedelta(first, unit="D")
    moved = rng.random(customers) < 0.1
    moved_at = assigned_at + pd.to_timedelta(((HISTORY_DAYS - first) * rng.random(customers)).astype(int), unit="D")
    previous = np.asarray(managers)[rng.integers(0, MANAGERS, size=customers)]
    stamp = "%Y-%m-%d %H:%M:%S+00"
    assignments = pd.concat(
        [
            pd.DataFrame(
                {
                    "customer_id": ids[moved],
                    "manager_id": previous[moved],
                    "started_at": assigned_at[moved].strftime(stamp),
                    "ended_at": moved_at[moved].strftime(stamp),
                }
            ),
            pd.DataFrame(
                {
                    "customer_id": ids,
                    "manager_id": manager,
                    "started_at": np.where(moved, moved_at.strftime(stamp), assigned_at.strftime(stamp)),
                    "ended_at": None,
                }
            ),
        ]
    )
    n = len(frame)
    order_ids = np.arange(1, n + 1)
    seconds = rng.integers(8 * 3600, 20 * 3600, size=n)
    ordered_at = (pd.to_datetime(start_day) + pd.to_timedelta(frame["day"], unit="D")) + pd.to_timedelta(
        seconds, unit="s"
    )
    amount = frame["amount"].to_numpy()
    order_rows = pd.DataFrame(
        {
            "id": order_ids,
            "external_id": np.char.add("O", order_ids.astype(str)),
            "customer_id": frame["customer"].to_numpy() + 1,
            "ordered_at": ordered_at.dt.strftime(stamp),
            "currency": "GBP",
            "kind": np.where(amount < 0, "refund", "purchase"),
            "status": "placed",
            "gross_amount": amount,
            "refunded_amount": 0,
            "created_at": now,
            "updated_at": now,
        }
    )
    # 1-2 lines per order; each customer favours a few products, so upsell is not universal.
    two = rng.random(n) < 0.5
    line_order = np.concatenate([order_ids, order_ids[two]])
    line_number = np.concatenate([np.ones(n, dtype=int), np.full(two.sum(), 2)])
    customer_of_line = order_rows["customer_id"].to_numpy()[line_order - 1]
    favourite = (customer_of_line * 7919) % PRODUCTS
    product = np.where(rng.random(line_order.size) < 0.7, favourite, rng.integers(0, PRODUCTS, size=line_order.size))
    line_amount = np.round(amount[line_order - 1] / np.where(two[line_order - 1], 2, 1), 2)
    line_rows = pd.DataFrame(
        {
            "order_id": line_order,
            "line_number": line_number,
            "product_id": product + 1,
            "quantity": np.where(line_amount < 0, -1, 1),
            "unit_price": np.abs(line_amount),
            "amount": line_amount,
        }
    )
    products = pd.DataFrame(
        {
            "id": np.arange(1, PRODUCTS + 1),
            "sku": [f"SKU{i}" for i in range(1, PRODUCTS + 1)],
            "name": [f"Product {i}" for i in range(1, PRODUCTS + 1)],
            "category": "",
        }
    )
    with connection.cursor() as cursor:
        copy_frame(cursor, "customers_product", products, not_null=("category",))
        blank = ("email", "phone", "company", "acquisition_source", "consent_source", "notes")
        copy_frame(cursor, "customers_customer", customer_rows, not_null=blank)
        copy_frame(cursor, "customers_accountassignment", assignments)
        copy_frame(cursor, "customers_order", order_rows)
        copy_frame(cursor, "customers_orderline", line_rows)
        for table in ("customers_customer", "customers_order", "customers_orderline", "customers_product"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cursor.execute("ANALYZE")
    seconds = time.monotonic() - started
    # The per-customer rollups every writer of orders keeps (an import maintains them as it merges);
    # built here in one statement from the COPYed orders, and timed apart.
    from customers.rollups import customer_rollups_rebuild

    started = time.monotonic()
    customer_rollups_rebuild()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customerday")
        cursor.execute("ANALYZE customers_customerupsell")
    return {"orders": n, "lines": len(line_rows), "seconds": seconds, "rollups_seconds": time.monotonic() - started}


def time_floor() -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        started = time.monotonic()
        cursor.execute(
            "CREATE TEMP TABLE bench_floor AS SELECT customer_id, count(*) AS orders, sum(net_amount) AS revenue, "
            "min(ordered_at::date) AS first_day, max(ordered_at::date) AS last_day "
            "FROM customers_order GROUP BY customer_id"
        )
        elapsed = time.monotonic() - started
        cursor.execute("DROP TABLE bench_floor")
    return elapsed


def time_fit() -> tuple[float, float, float]:
    from django.utils import timezone

    from metrics.analytics import bgnbd_fit, summary_from_daily
    from metrics.models import ModelVersion
    from metrics.selectors import customer_daily_frame
    from metrics.services import model_params

    as_of = timezone.localdate()
    started = time.monotonic()
    daily = customer_daily_frame(as_of=as_of)
    load = time.monotonic() - started
    summary = summary_from_daily(daily.sort_values(["customer_id", "day"]), as_of=pd.Timestamp(as_of))
    buyers = summary[summary["purchases"] > 0]
    started = time.monotonic()
    bgnbd_fit(buyers["x"], buyers["t_x"], buyers["T"])
    cold = time.monotonic() - started
    yesterday = ModelVersion.objects.filter(as_of=as_of - timedelta(days=1)).order_by("-id").first()
    started = time.monotonic()
    bgnbd_fit(buyers["x"], buyers["t_x"], buyers["T"], start=model_params(yesterday)[0])
    return load, cold, time.monotonic() - started


def time_refresh(samples: int, customers: int, seed_value: int) -> list[float]:
    from decimal import Decimal

    from django.utils import timezone

    from customers.models import Order
    from metrics.services import metrics_refresh_customer

    rng = np.random.default_rng(seed_value + 2)
    stamp = int(time.time())
    times = []
    for i, customer_id in enumerate(rng.choice(np.arange(1, customers + 1), size=samples, replace=False)):
        Order.objects.create(
            external_id=f"BENCH-NEW-{stamp}-{i}",
            customer_id=int(customer_id),
            ordered_at=timezone.now(),
            gross_amount=Decimal("42.00"),
        )
        started = time.perf_counter()
        metrics_refresh_customer(customer_id=int(customer_id))
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--refreshes", type=int, default=50)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database seeded by an earlier run (migrate it, seed nothing)"
    )
    parser.add_argument("--seed-only", action="store_true", help="seed the database and stop")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    if args.reuse:
        call_command("migrate", verbosity=0)
        from customers.models import Customer

        args.customers = Customer.objects.count()
        print(f"Reusing the seeded database: {args.customers:,} customers.")
    else:
        reset_database()
        call_command("migrate", verbosity=0)
        seeded = seed(args.customers, args.orders, args.seed)
        print(
            f"Seeded {args.customers:,} customers, {seeded['orders']:,} orders, {seeded['lines']:,} lines "
            f"with COPY in {seeded['seconds']:.1f} s; customer rollups built in {seeded['rollups_seconds']:.1f} s."
        )
        if args.seed_only:
            return

    from metrics.models import RecomputeRun
    from metrics.services import metrics_recompute

    floor = time_floor()
    print(f"(1) floor, SQL GROUP BY customer_id into a temp table: {floor:.2f} s")

    # Last night's run, as of yesterday: tonight's starts from its model and rewrites its rows, as
    # every nightly run does after the first.
    from django.utils import timezone

    today = timezone.localdate()
    started = time.monotonic()
    last_night = metrics_recompute(as_of=today - timedelta(days=1))
    assert last_night.status == RecomputeRun.Status.SUCCEEDED, last_night.message
    print(f"    last night's run (as of {today - timedelta(days=1)}, untimed): {time.monotonic() - started:.1f} s")

    started = time.monotonic()
    run = metrics_recompute(as_of=today)
    total = time.monotonic() - started
    assert run.status == RecomputeRun.Status.SUCCEEDED, run.message
    full = (run.finished_at - run.started_at).total_seconds()
    print(
        f"(2) full recompute as of {today} (load, summary, fit, scoring, {run.customers_scored:,} rows written, "
        f"every snapshot): {full:.2f} s"
    )
    print(f"    then the back-test (its own task in production): {total - full:.2f} s more")
    print(f"    {run.message}")

    load, fit_cold, fit_warm = time_fit()
    print(
        f"(3) BG/NBD fit alone on the summary: {fit_cold:.2f} s from the default start, {fit_warm:.2f} s from "
        f"last night's model (loading the daily frame: {load:.2f} s)"
    )

    times = np.asarray(time_refresh(args.refreshes, args.customers, args.seed)) * 1000
    print(
        f"(4) refresh of one customer after a new order: median {np.median(times):.1f} ms, "
        f"p95 {np.percentile(times, 95):.1f} ms over {len(times)}"
    )
    print(f"Ratio full recompute / floor: {full / floor:.1f}")


if __name__ == "__main__":
    main()
