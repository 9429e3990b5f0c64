"""Loyalty benchmark: bulk earning against a COPY of the same ledger rows, and concurrent
redemptions against the API. Run by hand, on a database of its own (it empties the tables it uses):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_loyalty .venv/bin/python bench/loyalty_bench.py \
        [--orders 1000000] [--customers 100000] [--redemptions 200]

1. Data: ``--customers`` customers, all members, and ``--orders`` one-line purchases, written with
   ``INSERT ... SELECT generate_series`` (not timed), all marked as written by one import job.
2. Bulk earning: ``services.import_points_earn(job_id)``, as the ``orders.imported`` reaction runs it
   (lock the members, one ``INSERT ... SELECT`` of the earning rules, the balances re-summed), timed.
3. The same ledger rows copied out, the ledger emptied, and the rows ``COPY``-ed back in (with the
   table's indexes and constraints in place, as the earning wrote them), timed. Goal: earning within
   2x the COPY.
4. ``--redemptions`` concurrent POST /api/v1/loyalty/redemptions/ from as many threads (their own
   connections), for members with room for 2 each, of a reward with a stock of a quarter of them.
   Goal: no error other than the expected refusals (out of stock, balance), no balance or stock
   below zero, a ledger that adds up.
"""

import argparse
import io
import os
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")


def reuse_data(*, orders: int) -> str | None:
    """The job of the data a previous run left, when it holds as many orders: its ledger emptied."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_order")
        if cursor.fetchone()[0] != orders:
            return None
        cursor.execute(
            "TRUNCATE loyalty_ledgerentry, loyalty_redemption, loyalty_reward, loyalty_tierchange, "
            "contact_plans_message CASCADE"
        )
        cursor.execute("UPDATE loyalty_member SET points = 0, tier_id = NULL")
        cursor.execute("DELETE FROM loyalty_earningrule WHERE kind <> 'base'")
        cursor.execute(
            "INSERT INTO loyalty_earningrule (kind, name, value, sku, category, starts_at, created_at) "
            "SELECT 'base', 'One per unit', 1, '', '', now() - interval '5 years', now() "
            "WHERE NOT EXISTS (SELECT 1 FROM loyalty_earningrule)"
        )
        cursor.execute("ANALYZE")
        cursor.execute("SELECT id FROM customers_importjob LIMIT 1")
        return str(cursor.fetchone()[0])


def setup_data(*, customers: int, orders: int) -> str:
    import uuid

    from django.db import connection

    job = str(uuid.uuid4())
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE loyalty_ledgerentry, loyalty_redemption, loyalty_reward, loyalty_tierchange, loyalty_member, "
            "loyalty_earningrule, loyalty_tier, customers_orderline, customers_order, customers_customer, "
            "customers_importjob, customers_product, contact_plans_message CASCADE"
        )
        cursor.execute(
            "INSERT INTO customers_importjob (id, format, status, original_name, path, created_at, total_bytes, "
            "processed_bytes, rows_read, rows_skipped, error_count, created_count, updated_count, unchanged_count, "
            "message, language) "
            "VALUES (%s, 'orders', 'succeeded', 'bench.csv', '/nonexistent', now(), 0, 0, 0, 0, 0, 0, 0, 0, '', 'en')",
            [job],
        )
        cursor.execute(
            "INSERT INTO customers_customer (id, external_id, name, email, phone, company, country, language, "
            "time_zone, acquisition_source, marketing_consent, consent_source, notes, created_at, updated_at) "
            "SELECT g, 'B' || g, 'Customer ' || g, '', '', '', 'GB', 'en', 'UTC', '', false, '', '', now(), now() "
            "FROM generate_series(1, %s) g",
            [customers],
        )
        cursor.execute(
            "INSERT INTO loyalty_member (customer_id, enrolled_at, points) "
            "SELECT g, now() - interval '3 years', 0 FROM generate_series(1, %s) g",
            [customers],
        )
        cursor.execute("INSERT INTO customers_product (id, sku, name, category) VALUES (1, 'SKU-1', 'Thing', 'Food')")
        cursor.execute(
            "INSERT INTO customers_order (id, external_id, customer_id, ordered_at, currency, kind, status, "
            "gross_amount, refunded_amount, import_job_id, created_at, updated_at) "
            "SELECT g, 'O' || g, 1 + g %% %s, now() - (g %% 700) * interval '1 day', 'GBP', 'purchase', 'placed', "
            "10 + g %% 90, 0, %s, now(), now() FROM generate_series(1, %s) g",
            [customers, job, orders],
        )
        cursor.execute(
            "INSERT INTO customers_orderline (order_id, line_number, product_id, quantity, unit_price, amount) "
            "SELECT id, 1, 1, 1, gross_amount, gross_amount FROM customers_order"
        )
        cursor.execute(
            "INSERT INTO loyalty_earningrule (kind, name, value, sku, category, starts_at, created_at) "
            "VALUES ('base', 'One per unit', 1, '', '', now() - interval '5 years', now())"
        )
        cursor.execute("ANALYZE")
    return job


def bulk_earning(job: str) -> float:
    from loyalty import services

    started = time.perf_counter()
    awarded = services.import_points_earn(job_id=job)
    seconds = time.perf_counter() - started
    print(f"bulk earning: {awarded:,} orders in {seconds:.1f} s")
    return seconds


def copy_same_rows() -> float:
    from django.db import connection, transaction

    columns = "member_id, kind, source, points, reason, order_id, expires_at, occurred_at, created_at"
    buffer = io.StringIO()
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY (SELECT {columns} FROM loyalty_ledgerentry) TO STDOUT", buffer)
        cursor.execute("TRUNCATE loyalty_ledgerentry CASCADE")
    buffer.seek(0)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.copy_expert(f"COPY loyalty_ledgerentry ({columns}) FROM STDIN", buffer)
    seconds = time.perf_counter() - started
    print(f"COPY of the same rows: {seconds:.1f} s")
    return seconds


def concurrent_redemptions(count: int, threads: int) -> None:
    """``count`` requests from ``threads`` threads at once, each with its own connection (as many
    as a server's workers would hold: PostgreSQL's max_connections bounds it, not the requests)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.test import APIClient

    from customers import roles
    from loyalty import selectors
    from loyalty.models import Member, Reward

    admin, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_superuser": True})
    admin._role_names = {roles.ADMINISTRATOR}
    members = list(Member.objects.order_by("pk").values_list("pk", flat=True)[: count // 2])
    Member.objects.update(points=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE loyalty_ledgerentry, loyalty_redemption CASCADE")
        cursor.execute(
            "INSERT INTO loyalty_ledgerentry (member_id, kind, source, points, reason, created_by_id, occurred_at, "
            "created_at) SELECT customer_id, 'adjust', 'user', 250, 'bench', %s, now(), now() FROM loyalty_member "
            "WHERE customer_id = ANY(%s)",
            [admin.pk, members],
        )
    Member.objects.filter(pk__in=members).update(points=250)
    reward = Reward.objects.create(name="Bench reward", points_cost=100, stock=count // 4)
    barrier = threading.Barrier(min(count, threads))
    outcomes: Counter = Counter()
    lock = threading.Lock()
    timings: list[float] = []

    def redeem(member_id: int) -> None:
        client = APIClient()
        client.force_authenticate(admin)
        try:
            barrier.wait(timeout=0.001 if barrier.broken else None)
        except threading.BrokenBarrierError:
            pass
        started = time.perf_counter()
        try:
            response = client.post(
                "/api/v1/loyalty/redemptions/", {"customer_id": member_id, "reward_id": reward.pk}, format="json"
            )
            outcome = str(response.status_code)
            if response.status_code == 400:
                outcome += " " + " ".join(m for ms in response.json()["error"]["fields"].values() for m in ms)
        except Exception as exc:  # an error the goal forbids: counted, shown
            outcome = f"error {type(exc).__name__}: {exc}"
        with lock:
            outcomes[outcome] += 1
            timings.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(redeem, [members[i % len(members)] for i in range(count)]))
    seconds = time.perf_counter() - started
    barrier.abort()
    reward.refresh_from_db()
    below = Member.objects.filter(points__lt=0).count()
    drift = selectors.balance_drift()
    timings.sort()
    print(
        f"{count} redemptions from {threads} threads in {seconds:.1f} s (p50 {timings[len(timings) // 2] * 1000:.0f} ms, "
        f"p95 {timings[int(len(timings) * 0.95)] * 1000:.0f} ms)"
    )
    for outcome, n in outcomes.most_common():
        print(f"  {n:4d} x {outcome[:100]}")
    print(f"  stock left {reward.stock}, members below zero {below}, balances off the ledger {len(drift)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--redemptions", type=int, default=200)
    parser.add_argument("--threads", type=int, default=40)
    parser.add_argument("--redemptions-only", action="store_true", help="on the data of a previous run")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("The loyalty benchmark needs PostgreSQL (DATABASE_URL).")
    call_command("migrate", verbosity=0)
    if args.redemptions_only:
        concurrent_redemptions(args.redemptions, args.threads)
        return
    started = time.perf_counter()
    job = reuse_data(orders=args.orders) or setup_data(customers=args.customers, orders=args.orders)
    print(f"data: {args.customers:,} members, {args.orders:,} orders in {time.perf_counter() - started:.1f} s")
    earning = bulk_earning(job)
    copy = copy_same_rows()
    print(f"bulk earning / COPY: {earning / copy:.2f}x (goal: within 2x)")
    concurrent_redemptions(args.redemptions, args.threads)


if __name__ == "__main__":
    main()
