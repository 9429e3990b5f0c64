"""Segments and worklist benchmark, run by hand against a large base (not in CI).

On the database made by bench/metrics_bench.py (a million customers, their orders and a recompute):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/segments_bench.py \
        [--repeat 5] [--skip-refresh] [--manager am00] [--book 5000] [--requests 30]

or on a small EMPTY database of its own, migrated and seeded here:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/segbench .venv/bin/python bench/segments_bench.py --seed 50000

It times

1. ``bench_preview``: the preview count of a 3-condition rule segment (churn risk >= 0.5, country in
   the three most common countries, no purchase in the last 60 days), compiled by
   segmentation.conditions, against the same count written by hand in SQL; goal: compiled / hand <= 2;
2. ``bench_refresh_all``: segments_refresh_all(), a first run (every membership created on a fresh
   base) and a second one (the steady state);
3. ``bench_worklist``: the "My book" page of one account manager, as a browser gets it: the view
   through Django's test Client, logged in, with the whole middleware stack. Goal: p95 under 150 ms
   for a book of 5,000 customers in a base of a million. Skipped when that user does not exist.

Each part is a function; main() calls them in turn.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")

# Customers per bulk_create batch while seeding: with their orders and metrics about 15,000 rows,
# a few MB of Python objects.
SEED_BATCH = 5_000


def timed(function, repeat: int) -> tuple[float, object]:
    """Median seconds of `repeat` runs after one warm-up run (which fills the caches), and a result."""
    result = function()
    times = []
    for _run in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


# --- Data (segments) ---------------------------------------------------------------------------------


def seed(customers: int, seed_value: int = 7) -> None:
    """A small workspace: customers, one to five orders each over two years, and hand-made metrics
    spread like a recompute's (so that the benchmark runs without bench/metrics_bench.py)."""
    import numpy as np
    from django.db import connection, transaction
    from django.utils import timezone

    from customers.models import Customer, Order
    from metrics.models import CustomerMetrics

    rng = np.random.default_rng(seed_value)
    now = timezone.now()
    countries = np.array(["GB", "FR", "DE", "ES", "NL", "ID", "MY", "IT"])
    shares = [0.4, 0.15, 0.15, 0.1, 0.08, 0.06, 0.04, 0.02]
    for start in range(0, customers, SEED_BATCH):
        size = min(SEED_BATCH, customers - start)
        with transaction.atomic():
            created = Customer.objects.bulk_create(
                Customer(external_id=f"SB-{start + i}", name=f"Bench {start + i}", country=str(country))
                for i, country in enumerate(rng.choice(countries, size=size, p=shares))
            )
            orders, rows = [], []
            for customer in created:
                days = np.sort(rng.integers(0, 730, size=int(rng.integers(1, 6))))
                for day in days:
                    orders.append(
                        Order(
                            external_id=f"SBO-{customer.pk}-{day}-{len(orders)}",
                            customer_id=customer.pk,
                            ordered_at=now - timedelta(days=int(day), hours=3),
                            gross_amount=20,
                        )
                    )
                risk = float(rng.beta(2, 2))
                rows.append(
                    CustomerMetrics(
                        customer_id=customer.pk,
                        as_of=now.date(),
                        purchases=len(days),
                        recency_days=int(days[0]),
                        net_revenue=20 * len(days),
                        predicted_clv=round(float(rng.gamma(2, 40)), 2),
                        churn_risk=risk,
                        risk_level="high" if risk >= 0.7 else "medium" if risk >= 0.4 else "low",
                        value_level=str(rng.choice(["high", "medium", "low"], p=[0.2, 0.3, 0.5])),
                        r_score=int(rng.integers(1, 6)),
                        f_score=int(rng.integers(1, 6)),
                        rfm_segment=str(rng.choice(["champions", "loyal", "at_risk", "hibernating"])),
                        pareto_top=bool(rng.random() < 0.2),
                    )
                )
            Order.objects.bulk_create(orders, batch_size=2000)
            CustomerMetrics.objects.bulk_create(rows, batch_size=2000)
        print(f"  seeded {start + size:,} customers", flush=True)
    if connection.vendor == "postgresql":
        # Fresh statistics, as autovacuum would give them a minute later: plans made for "an empty
        # table" would time the planner's ignorance, not the queries.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def data_counts() -> dict[str, int]:
    from customers.models import Customer, Order
    from metrics.models import CustomerMetrics

    return {
        "customers": Customer.objects.count(),
        "orders": Order.objects.count(),
        "customer_metrics": CustomerMetrics.objects.count(),
    }


# --- 1. Preview: compiled rule vs hand-written SQL ---------------------------------------------------


def _top_countries() -> list[str]:
    from django.db.models import Count

    from customers.models import Customer

    rows = Customer.objects.exclude(country="").values("country").annotate(n=Count("id")).order_by("-n")[:3]
    return [row["country"] for row in rows]


def bench_preview(*, repeat: int = 5) -> dict:
    from django.db import connection
    from django.utils import timezone

    from segmentation.conditions import segment_definition_clean
    from segmentation.services import segment_matching_customers

    countries = _top_countries()
    definition = segment_definition_clean(
        {
            "op": "and",
            "rules": [
                {"field": "metrics.churn_risk", "operator": "gte", "value": 0.5},
                {"field": "customer.country", "operator": "in", "value": countries},
                {"field": "behaviour.purchase", "operator": "not_within", "value": 60},
            ],
        }
    )

    def compiled() -> int:
        return segment_matching_customers(definition).count()

    placeholders = ", ".join(["%s"] * len(countries))
    hand_sql = f"""
        SELECT count(*) FROM customers_customer c
        JOIN metrics_customermetrics m ON m.customer_id = c.id
        WHERE c.archived_at IS NULL AND m.churn_risk >= %s AND c.country IN ({placeholders})
          AND NOT EXISTS (SELECT 1 FROM customers_order o
                          WHERE o.customer_id = c.id AND o.net_amount > 0 AND o.ordered_at >= %s)
    """

    def hand() -> int:
        since = timezone.now() - timedelta(days=60)
        with connection.cursor() as cursor:
            cursor.execute(hand_sql, [0.5, *countries, since])
            return cursor.fetchone()[0]

    compiled_seconds, compiled_count = timed(compiled, repeat)
    hand_seconds, hand_count = timed(hand, repeat)
    ratio = compiled_seconds / hand_seconds if hand_seconds else float("nan")
    print(f"\n1. Preview count, 3 conditions (churn risk >= 0.5, country in {countries}, no purchase in 60 days)")
    print(f"   compiled rule : {compiled_seconds * 1000:9.1f} ms  ({compiled_count:,} customers)")
    print(f"   hand SQL      : {hand_seconds * 1000:9.1f} ms  ({hand_count:,} customers)")
    print(f"   ratio         : {ratio:9.2f}   (goal <= 2){'' if compiled_count == hand_count else '  COUNTS DIFFER'}")
    return {"preview_compiled_s": compiled_seconds, "preview_hand_s": hand_seconds, "preview_ratio": ratio}


# --- 2. Refresh of every segment ---------------------------------------------------------------------


def bench_refresh_all() -> dict:
    from segmentation.models import Segment, SegmentMembership
    from segmentation.services import segments_refresh_all

    results = {}
    for label in ("first", "second"):
        started = time.perf_counter()
        refreshed = segments_refresh_all()
        seconds = time.perf_counter() - started
        entered = sum(result.entered for result in refreshed)
        exited = sum(result.exited for result in refreshed)
        results[f"refresh_{label}_s"] = seconds
        print(
            f"\n2. Refresh of all {len(refreshed)} active segments ({label} run): {seconds:.1f} s, "
            f"{entered:,} entries, {exited:,} exits"
        )
    largest = Segment.objects.filter(is_active=True).order_by("-member_count")[:3]
    print("   largest:", ", ".join(f"{s.name} ({s.member_count:,})" for s in largest))
    print(f"   open memberships: {SegmentMembership.objects.filter(exited_at__isnull=True).count():,}")
    return results


# --- 3. Worklist (helper D) ----------------------------------------------------------------------------

# Requests before timing: the first ones fill Django's URL, template and translation caches and
# PostgreSQL's buffer cache, which a page that is used all day always finds warm.
WARMUP_REQUESTS = 3


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def ensure_book(username: str, size: int) -> None:
    """Give account manager `username` (created if missing) a book of `size` customers, taken evenly
    across the base and reassigned with their history, as a manager of a big base would have."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from customers import roles
    from customers.models import Customer

    user, _created = get_user_model().objects.get_or_create(username=username, defaults={"first_name": username})
    user.groups.add(Group.objects.get_or_create(name=roles.ACCOUNT_MANAGER)[0])
    current = Customer.objects.filter(account_manager=user, archived_at__isnull=True).count()
    if current >= size:
        return
    total = Customer.objects.count()
    step = max(total // size, 1)
    with transaction.atomic(), connection.cursor() as cursor:
        chosen = (
            "SELECT id FROM customers_customer WHERE id %% %s = 0 AND account_manager_id IS DISTINCT FROM %s LIMIT %s"
        )
        params = [step, user.pk, size - current]
        cursor.execute(f"CREATE TEMP TABLE bench_book ON COMMIT DROP AS {chosen}", params)
        cursor.execute(
            "UPDATE customers_accountassignment SET ended_at = now() WHERE ended_at IS NULL "
            "AND customer_id IN (SELECT id FROM bench_book)"
        )
        cursor.execute(
            "UPDATE customers_customer SET account_manager_id = %s WHERE id IN (SELECT id FROM bench_book)", [user.pk]
        )
        cursor.execute(
            "INSERT INTO customers_accountassignment (customer_id, manager_id, started_at) "
            "SELECT id, %s, now() FROM bench_book",
            [user.pk],
        )
    print(f"Gave {username} a book of {Customer.objects.filter(account_manager=user).count():,} customers.")


def bench_worklist(manager_username: str, *, requests: int = 30) -> dict:
    """Time GET /my-book/ for ``manager_username``: p50 and p95 in ms of ``requests`` requests."""
    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse

    from customers.models import Customer

    # Not setup_test_environment(): it instruments every template render (a context copy per include),
    # which production does not pay. Only the test Client's host needs letting through.
    allowed_hosts = override_settings(ALLOWED_HOSTS=["testserver"])
    allowed_hosts.enable()
    manager = get_user_model().objects.get(username=manager_username)
    book_size = Customer.objects.filter(account_manager=manager, archived_at__isnull=True).count()
    base_size = Customer.objects.count()
    client = Client()
    client.force_login(manager)
    url = reverse("worklist:home")
    for _i in range(WARMUP_REQUESTS):
        assert client.get(url).status_code == 200
    timings = []
    for _i in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with override_settings(DEBUG=True):
        reset_queries()
        client.get(url)
        queries = len(connection.queries)
    allowed_hosts.disable()
    result = {
        "book": book_size,
        "base": base_size,
        "requests": requests,
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(_percentile(timings, 0.95), 1),
        "queries": queries,
    }
    print(
        f"worklist of {manager_username}: book {book_size:,} of {base_size:,} customers; "
        f"{requests} requests p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, {queries} queries (goal p95 < 150 ms)"
    )
    return result


# --- main ----------------------------------------------------------------------------------------------


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per preview query (median); default 5")
    parser.add_argument("--seed", type=int, default=0, help="create this many customers first (empty database)")
    parser.add_argument("--skip-refresh", action="store_true", help="leave out the refresh of all segments")
    parser.add_argument("--manager", default="am00", help="username of the account manager whose worklist to time")
    parser.add_argument("--requests", type=int, default=30, help="timed worklist requests")
    parser.add_argument(
        "--book", type=int, default=0, help="first give --manager a book of this many customers (e.g. 5000)"
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    if args.seed:
        call_command("migrate", verbosity=0)
        if data_counts()["customers"]:
            sys.exit("--seed needs an empty database; this one has customers. Leave out --seed to use them.")
        print(f"Seeding {args.seed:,} customers…")
        seed(args.seed)
    counts = data_counts()
    summary = ", ".join(f"{name} {count:,}" for name, count in counts.items())
    print(f"Database: {connection.vendor} {connection.settings_dict.get('NAME')}; {summary}")
    if not counts["customer_metrics"]:
        sys.exit(
            "CustomerMetrics is empty: run bench/metrics_bench.py (customers, orders and a recompute) first, "
            "or run this benchmark with --seed N on an empty database."
        )
    if connection.vendor != "postgresql":
        print("Note: not PostgreSQL; the figures say little about production.")

    if args.book:
        ensure_book(args.manager, args.book)
    results = bench_preview(repeat=args.repeat)
    if not args.skip_refresh:
        results.update(bench_refresh_all())
    if get_user_model().objects.filter(username=args.manager).exists():
        print()
        results["worklist"] = bench_worklist(args.manager, requests=args.requests)
    else:
        print(f"\n3. Worklist: skipped, there is no user {args.manager!r} (--manager).")
    return results


if __name__ == "__main__":
    main()
