""" "Bought together": which products are bought in the same basket, computed by the database from the
order lines in a few set-based statements (docs/recommendations.md).

A basket is one purchase order that was neither refunded nor cancelled, as the set of its products
(lines with a positive quantity). Baskets of more than RECOMMEND_BASKET_CAP products are left out of
the pairs. For each pair of products seen together in at least RECOMMEND_MIN_TOGETHER baskets, the
score says how much more often they go together than their popularity alone would make them:
cosine, ``together / sqrt(baskets of a * baskets of b)``, by default, so that a best-seller, which
is in many baskets with everything, does not top every list. Each product keeps its
RECOMMEND_PAIRS_KEPT best (``ProductPair``), and ``ProductSales`` keeps each product's baskets,
buyers and latest price. Both tables are replaced in one transaction: readers see the previous
figures until it commits.

Run after every metrics recompute (metrics.reactions, on ``metrics.recomputed``), and by
``bench/recommend_bench.py`` with a cut-off.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dt_time

from django.db import connection, transaction
from django.utils import timezone

from .. import conf

logger = logging.getLogger(__name__)

# The score of a pair (a, b) seen together in t baskets, a in na and b in nb, of n baskets in all.
# Written in SQL so that the ranking happens in the database; the names are the only input.
SCORES = {
    "cosine": "p.together / sqrt(CAST(sa.baskets AS DOUBLE PRECISION) * sb.baskets)",
    "lift": "p.together * CAST(%(n)s AS DOUBLE PRECISION) / (CAST(sa.baskets AS DOUBLE PRECISION) * sb.baskets)",
    "count": "CAST(p.together AS DOUBLE PRECISION)",
}


@dataclass(frozen=True)
class PairsComputed:
    baskets: int  # baskets (purchase orders) counted
    baskets_paired: int  # of which within the cap and of two products or more
    products: int  # products with sales
    pairs: int  # rows of ProductPair written (both directions)
    seconds: float


def _temp_tables_drop(cursor) -> None:
    for name in ("rec_lines", "rec_sizes", "rec_support", "rec_pairs"):
        cursor.execute(f"DROP TABLE IF EXISTS {name}")


def _analyze(cursor, *tables: str) -> None:
    # Autovacuum never analyses temporary tables: without their sizes the planner guesses a
    # thousand rows and picks nested loops over millions.
    if connection.vendor == "postgresql":
        for table in tables:
            cursor.execute(f"ANALYZE {table}")


@transaction.atomic
def product_pairs_recompute(*, until: datetime | None = None, score: str | None = None) -> PairsComputed:
    """Replace ProductPair and ProductSales with what the orders before ``until`` (all: None) say."""
    score = score or conf.get("RECOMMEND_SCORE")
    if score not in SCORES:
        raise ValueError(f"unknown score {score!r}; one of {', '.join(SCORES)}")
    cap, keep = int(conf.get("RECOMMEND_BASKET_CAP")), int(conf.get("RECOMMEND_PAIRS_KEPT"))
    min_together = int(conf.get("RECOMMEND_MIN_TOGETHER"))
    started, now = time.monotonic(), timezone.now()
    until_sql = "AND o.ordered_at < %(until)s" if until is not None else ""
    params = {"until": until, "cap": cap, "keep": keep, "min_together": min_together, "now": now}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One recompute at a time (a second waits, then replaces the first's rows); readers go on.
            cursor.execute("LOCK TABLE metrics_productpair, metrics_productsales IN EXCLUSIVE MODE")
            # A statement run once a night gains nothing from JIT compiling (0.6 s on Online Retail).
            cursor.execute("SET LOCAL jit = off")
        _temp_tables_drop(cursor)
        # Each basket's products, once each, with the price paid (the highest, when a product has
        # two lines in one order).
        cursor.execute(
            f"""CREATE TEMP TABLE rec_lines AS
            SELECT l.order_id, o.customer_id, o.ordered_at, o.currency, l.product_id, max(l.unit_price) AS price
            FROM customers_orderline l JOIN customers_order o ON o.id = l.order_id
            WHERE o.kind = 'purchase' AND o.status = 'placed' AND l.quantity > 0 {until_sql}
            GROUP BY l.order_id, o.customer_id, o.ordered_at, o.currency, l.product_id""",  # noqa: S608 - fixed fragments; values are parameters
            params,
        )
        cursor.execute(
            """CREATE TEMP TABLE rec_sizes AS
            SELECT order_id, count(*) AS products FROM rec_lines GROUP BY order_id""",
        )
        cursor.execute(
            "SELECT count(*), sum(CASE WHEN products BETWEEN 2 AND %(cap)s THEN 1 ELSE 0 END) FROM rec_sizes", params
        )
        baskets, baskets_paired = cursor.fetchone()
        params["n"] = baskets
        _analyze(cursor, "rec_lines", "rec_sizes")
        # How many baskets within the cap hold each product: the popularity the score divides by.
        cursor.execute(
            """CREATE TEMP TABLE rec_support AS
            SELECT l.product_id, count(*) AS baskets
            FROM rec_lines l JOIN rec_sizes s ON s.order_id = l.order_id
            WHERE s.products <= %(cap)s GROUP BY l.product_id""",  # noqa: S608 - fixed fragments; values are parameters
            params,
        )
        # Each pair once (a < b), counted over the baskets within the cap.
        cursor.execute(
            """CREATE TEMP TABLE rec_pairs AS
            SELECT x.product_id AS a, y.product_id AS b, count(*) AS together
            FROM rec_sizes s
            JOIN rec_lines x ON x.order_id = s.order_id
            JOIN rec_lines y ON y.order_id = s.order_id AND x.product_id < y.product_id
            WHERE s.products BETWEEN 2 AND %(cap)s
            GROUP BY x.product_id, y.product_id
            HAVING count(*) >= %(min_together)s""",
            params,
        )
        _analyze(cursor, "rec_support", "rec_pairs")
        cursor.execute("DELETE FROM metrics_productpair")
        cursor.execute("DELETE FROM metrics_productsales")
        cursor.execute(
            f"""INSERT INTO metrics_productpair (product_id, rank, related_id, together, score, computed_at)
            SELECT product_id, rank, related_id, together, score, %(now)s FROM (
                SELECT product_id, related_id, together, score,
                       row_number() OVER (PARTITION BY product_id ORDER BY score DESC, together DESC, related_id)
                           AS rank
                FROM (
                    SELECT p.a AS product_id, p.b AS related_id, p.together, {SCORES[score]} AS score
                    FROM rec_pairs p JOIN rec_support sa ON sa.product_id = p.a JOIN rec_support sb ON sb.product_id = p.b
                    UNION ALL
                    SELECT p.b, p.a, p.together, {SCORES[score]}
                    FROM rec_pairs p JOIN rec_support sa ON sa.product_id = p.a JOIN rec_support sb ON sb.product_id = p.b
                ) AS scored
            ) AS ranked
            WHERE rank <= %(keep)s""",  # noqa: S608 - SCORES' fixed expressions; values are parameters
            params,
        )
        pairs = cursor.rowcount
        # Every product sold: its baskets (all of them, whatever their size), buyers and latest price.
        cursor.execute(
            """INSERT INTO metrics_productsales
                (product_id, baskets, buyers, price, currency, last_sold_at, computed_at)
            SELECT g.product_id, g.baskets, g.buyers, latest.price, latest.currency, latest.ordered_at, %(now)s
            FROM (SELECT product_id, count(*) AS baskets, count(DISTINCT customer_id) AS buyers
                  FROM rec_lines GROUP BY product_id) AS g
            JOIN (SELECT product_id, price, currency, ordered_at,
                         row_number() OVER (PARTITION BY product_id ORDER BY ordered_at DESC, order_id DESC) AS n
                  FROM rec_lines) AS latest ON latest.product_id = g.product_id AND latest.n = 1""",
            params,
        )
        products = cursor.rowcount
        _temp_tables_drop(cursor)
    result = PairsComputed(baskets or 0, baskets_paired or 0, products, pairs, time.monotonic() - started)
    logger.info(
        "metrics.product_pairs_recomputed baskets=%s paired=%s products=%s pairs=%s seconds=%.2f",
        result.baskets,
        result.baskets_paired,
        result.products,
        result.pairs,
        result.seconds,
    )
    return result


def product_pairs_recompute_for_run(*, run_id: int) -> PairsComputed | None:
    """After the metrics recompute ``run_id``: the orders up to the end of its as-of day (the
    workspace's), so that the pairs describe the same history as the run's scores. None when the
    run is gone (a newer one replaced it: that one's event recomputes the pairs)."""
    from ..models import RecomputeRun

    run = RecomputeRun.objects.filter(pk=run_id).only("as_of").first()
    if run is None:
        return None
    until = timezone.make_aware(datetime.combine(run.as_of + timedelta(days=1), dt_time.min))
    return product_pairs_recompute(until=until)
