"""Related products on Online Retail: are "bought together" recommendations better than the best-sellers?
Run by hand, on a database of its own (it drops and re-creates it):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_recommend TIME_ZONE=Europe/London \\
        .venv/bin/python bench/recommend_bench.py [--cutoff 2011-09-09] [--days 91] [--reuse]

1. ``/work/shared/data/online_retail.csv.gz`` (or ``$RETENTION_SHARED_DATA``) through the product's
   own import (``online-retail``), as an upload would go (not timed).
2. For each score of ``metrics.services.recommendations.SCORES``: the product's recompute of the pairs
   with the orders before the cut-off (timed), then every judged customer's top 5 through the product's
   chunked read (``metrics.recommendations.customers_recommendations``, what before the cut-off is
   owned; timed), bought together only and filled with best-sellers as the product serves them.
3. The baseline: the five best-selling products (baskets before the cut-off) each customer does not
   already have (``metrics.analytics.recommend.most_popular``).
4. Judged: every customer with a purchase before the cut-off and one in the ``--days`` after it; a
   hit: at least one of their five was bought in that window (hit rate@5); precision@5: the share of
   the five that were bought. Neither refunded nor cancelled orders count as bought.
5. The recompute over the whole history (what the nightly run does), timed.
6. With ``--scale N``: the tables emptied and N generated orders written with ``INSERT ... SELECT
   generate_series`` (not timed): N/10 customers, 20,000 products in 1,000 themes, 1 to 7 lines an
   order mostly from one theme, 5% refunded or cancelled; then the recompute (timed) and the read of
   5,000 customers' recommendations in one chunk (timed).
"""

import argparse
import os
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")

K = 5


def data_file() -> Path:
    configured = os.environ.get("RETENTION_SHARED_DATA")
    folder = Path(configured) if configured else ROOT.parents[1] / "shared" / "data"
    if not (folder / "online_retail.csv.gz").exists():
        folder = Path("/work/shared/data")
    return folder / "online_retail.csv.gz"


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


def import_online_retail() -> float:
    from customers.imports.services import import_job_create_from_path, import_job_run

    started = time.perf_counter()
    job = import_job_run(job_id=import_job_create_from_path(user=None, path=data_file(), format="online-retail").pk)
    if job.status != "succeeded":
        sys.exit(f"import failed: {job.message}")
    return time.perf_counter() - started


def frames(cutoff: datetime, end: datetime):
    """(owned before the cut-off, bought in the window) of the judged customers, as DataFrames."""
    import pandas as pd
    from django.db import connection

    def read(sql: str, params) -> pd.DataFrame:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return pd.DataFrame(cursor.fetchall(), columns=["customer_id", "product_id"])

    lines = """SELECT DISTINCT o.customer_id, l.product_id FROM customers_order o
        JOIN customers_orderline l ON l.order_id = o.id
        WHERE o.kind = 'purchase' AND l.quantity > 0 AND o.ordered_at >= %s AND o.ordered_at < %s"""
    # Owned as the product reads it (not cancelled); bought in the window: kept purchases only.
    owned = read(lines + " AND o.status <> 'cancelled'", [datetime(1900, 1, 1, tzinfo=cutoff.tzinfo), cutoff])
    bought = read(lines + " AND o.status = 'placed'", [cutoff, end])
    bought = bought[bought["customer_id"].isin(owned["customer_id"].unique())]
    return owned, bought


def generate(orders: int) -> None:
    """``orders`` synthetic orders (see the module's docstring), replacing every order and customer."""
    from django.db import connection

    customers = max(orders // 10, 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE customers_orderline, customers_order, customers_customer, customers_product, "
            "metrics_productpair, metrics_productsales CASCADE"
        )
        cursor.execute(
            "INSERT INTO customers_customer (id, external_id, name, email, phone, company, country, language, "
            "time_zone, acquisition_source, marketing_consent, consent_source, notes, created_at, updated_at) "
            "SELECT g, 'B' || g, 'Customer ' || g, '', '', '', 'GB', 'en', 'UTC', '', false, '', '', now(), now() "
            "FROM generate_series(1, %s) g",
            [customers],
        )
        cursor.execute(
            "INSERT INTO customers_product (id, sku, name, category) "
            "SELECT g, 'SKU-' || g, 'Product ' || g, '' FROM generate_series(1, 20000) g"
        )
        # A theme per order (skewed: some themes sell far more), its lines mostly from that theme.
        cursor.execute(
            "INSERT INTO customers_order (id, external_id, customer_id, ordered_at, currency, kind, status, "
            "gross_amount, refunded_amount, created_at, updated_at) "
            "SELECT g, 'O' || g, 1 + (g::bigint * 7919) %% %s, now() - (g %% 700) * interval '1 day' - interval '1 hour', "
            "'GBP', 'purchase', CASE WHEN g %% 40 = 0 THEN 'cancelled' WHEN g %% 40 = 1 THEN 'refunded' "
            "ELSE 'placed' END, 10, 0, now(), now() FROM generate_series(1, %s) g",
            [customers, orders],
        )
        cursor.execute(
            "INSERT INTO customers_orderline (order_id, line_number, product_id, quantity, unit_price, amount) "
            "SELECT o.id, n, CASE WHEN random() < 0.8 THEN t.theme * 20 + 1 + floor(random() * 20)::int "
            "ELSE 1 + floor(random() * 20000)::int END, 1, 5, 5 "
            "FROM customers_order o "
            "CROSS JOIN LATERAL (SELECT floor(power(random(), 2) * 1000)::int AS theme, "
            "1 + floor(power(random(), 2) * 7)::int AS lines WHERE o.id > 0) AS t "
            "CROSS JOIN LATERAL generate_series(1, t.lines) AS n"
        )
        cursor.execute("ANALYZE")


def as_frame(recommendations: dict):
    import pandas as pd

    rows = [
        (customer_id, r.product_id, rank)
        for customer_id, items in recommendations.items()
        for rank, r in enumerate(items, start=1)
    ]
    return pd.DataFrame(rows, columns=["customer_id", "product_id", "rank"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cutoff", type=date.fromisoformat, default=date(2011, 9, 9))
    parser.add_argument("--days", type=int, default=91)
    parser.add_argument("--reuse", action="store_true", help="keep the database of a previous run")
    parser.add_argument("--scale", type=int, default=0, help="then time the recompute on this many generated orders")
    args = parser.parse_args()
    if "postgres" not in os.environ.get("DATABASE_URL", ""):
        sys.exit("Set DATABASE_URL to a PostgreSQL database the benchmark may drop and re-create.")

    import django

    django.setup()
    if not args.reuse:
        reset_database()
    import pandas as pd
    from django.core.management import call_command
    from django.utils import timezone

    from metrics import conf
    from metrics.analytics.recommend import most_popular, score_at_k
    from metrics.models import ProductPair, ProductSales
    from metrics.recommendations import customers_recommendations
    from metrics.services.recommendations import SCORES, product_pairs_recompute

    call_command("migrate", verbosity=0)
    from customers.models import Order

    if not Order.objects.exists():
        print(f"import of {data_file().name}: {import_online_retail():.1f} s")
    cutoff = timezone.make_aware(datetime.combine(args.cutoff, datetime.min.time()))
    end = cutoff + timedelta(days=args.days)
    owned, bought = frames(cutoff, end)
    judged = sorted(bought["customer_id"].unique().tolist())
    print(
        f"cut-off {args.cutoff} ({timezone.get_current_timezone_name()}), window {args.days} days: "
        f"{owned['customer_id'].nunique():,} customers with a purchase before, {len(judged):,} of them buy again "
        f"({len(bought):,} customer-products)"
    )

    rows = []
    for score in SCORES:
        computed = product_pairs_recompute(until=cutoff, score=score)
        started = time.perf_counter()
        filled = customers_recommendations(customer_ids=judged, limit=K, until=cutoff)
        read_seconds = time.perf_counter() - started
        only_together = customers_recommendations(customer_ids=judged, limit=K, until=cutoff, popular=False)
        pure = score_at_k(as_frame(only_together), bought, k=K)
        full = score_at_k(as_frame(filled), bought, k=K)
        served = sum(1 for items in only_together.values() if len(items) == K)
        rows.append((f"bought together, {score}", pure, f"{served:,} of {len(judged):,} get 5"))
        rows.append((f"bought together, {score}, filled with best-sellers", full, f"read {read_seconds:.2f} s"))
        print(
            f"  {score}: {computed.baskets:,} baskets ({computed.baskets_paired:,} paired), "
            f"{computed.pairs:,} pairs kept, recompute {computed.seconds:.2f} s"
        )
    popularity = pd.DataFrame(
        ProductSales.objects.values_list("product_id", "baskets"), columns=["product_id", "baskets"]
    )
    baseline = score_at_k(most_popular(owned, popularity, judged, k=K), bought, k=K)
    rows.append(("baseline: the 5 best-sellers not owned", baseline, ""))

    print(f"\n| recommendations | customers | hit rate@{K} | precision@{K} | |")
    print("|---|---|---|---|---|")
    for name, result, note in rows:
        print(f"| {name} | {result.customers:,} | {result.hit_rate:.3f} | {result.precision:.4f} | {note} |")

    whole = product_pairs_recompute(score=conf.get("RECOMMEND_SCORE"))
    print(
        f"\nnightly recompute, whole history ({conf.get('RECOMMEND_SCORE')}): {whole.baskets:,} baskets, "
        f"{whole.products:,} products, {whole.pairs:,} pairs kept ({ProductPair.objects.count():,} rows): "
        f"{whole.seconds:.2f} s"
    )

    if args.scale:
        from customers.models import Customer

        started = time.perf_counter()
        generate(args.scale)
        lines = Order.objects.count(), Customer.objects.count()
        print(f"\ngenerated {lines[0]:,} orders of {lines[1]:,} customers in {time.perf_counter() - started:.0f} s")
        scaled = product_pairs_recompute()
        print(
            f"recompute: {scaled.baskets:,} baskets ({scaled.baskets_paired:,} paired), {scaled.products:,} products, "
            f"{scaled.pairs:,} pairs kept: {scaled.seconds:.1f} s"
        )
        chunk = list(Customer.objects.order_by("id").values_list("id", flat=True)[:5000])
        started = time.perf_counter()
        served = customers_recommendations(customer_ids=chunk, limit=K)
        print(
            f"recommendations of {len(chunk):,} customers in one chunk: {time.perf_counter() - started:.2f} s "
            f"({sum(len(v) for v in served.values()):,} rows)"
        )


if __name__ == "__main__":
    main()
