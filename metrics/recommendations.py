"""Reads of "bought together" (the tables metrics.services.recommendations fills each night).

- ``customers_recommendations(customer_ids=...)``: for a chunk of customers at once (bulk sends), in
  one statement: the products most often bought with what each customer bought (the sum of the pair
  scores over their products), never one they already have (bought and not cancelled), the best
  ``limit``; when those are fewer than ``limit``, best-sellers they do not have fill the list
  (``reason`` says which is which).
- ``customer_recommendations(customer_id=...)``: the same for one customer.
- ``order_recommendations(order_id=..., customer_id=...)``: for the acknowledgement of a purchase,
  what goes with that order's products first, then with the customer's others.
- ``product_related(product_id=...)``: a product's related products, best first.

The caller has checked that the user may see the customers (customers.selectors.customer_visible_to):
these take ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

from django.db import connection

from customers.models import Product

from . import conf
from .models import ProductPair, ProductSales

BOUGHT_TOGETHER, POPULAR = "bought_together", "popular"

# Best-sellers that may fill a customer's list: a customer owning all of the first 100 is rare, and
# a larger pool would be joined with every customer of a chunk for nothing.
POPULAR_POOL = 100

# Customers per statement of customers_recommendations: the ids travel as parameters.
CHUNK_MAX = 5_000


@dataclass(frozen=True)
class Recommendation:
    product_id: int
    sku: str
    name: str
    score: float
    reason: str  # BOUGHT_TOGETHER or POPULAR
    price: Decimal | None  # the latest price paid (ProductSales); None when it never sold
    currency: str

    @property
    def url(self) -> str:
        return product_url(self.sku)


def product_url(sku: str) -> str:
    """The shop's page of a product (PRODUCT_URL with "{sku}"), or "" when none is configured."""
    pattern = conf.get("PRODUCT_URL")
    return pattern.replace("{sku}", quote(sku, safe="")) if pattern else ""


def _sql(count: int, *, until: datetime | None, popular: bool, order_basis: bool = False) -> str:
    ids = ", ".join(["(%s)"] * count)
    # With an order as the basis, what goes with that order's products comes first (tier 1), then
    # what goes with the customer's other products (tier 2); best-sellers last (tier 3).
    in_order = "max(CASE WHEN o.id = %s THEN 1 ELSE 0 END)" if order_basis else "0"
    until_sql = "AND o.ordered_at < %s" if until is not None else ""
    fill = (
        f"""UNION ALL
        SELECT c.customer_id, p.product_id, CAST(p.baskets AS DOUBLE PRECISION), 3
        FROM chunk c CROSS JOIN (
            SELECT product_id, baskets FROM metrics_productsales ORDER BY baskets DESC, product_id LIMIT {POPULAR_POOL}
        ) AS p
        WHERE NOT EXISTS (SELECT 1 FROM owned w WHERE w.customer_id = c.customer_id AND w.product_id = p.product_id)"""  # noqa: S608 - fixed fragments; values are parameters
        if popular
        else ""
    )
    return f"""
    WITH chunk (customer_id) AS (VALUES {ids}),
    owned AS (
        -- What each customer has: bought and not cancelled; only what they kept (neither refunded nor
        -- cancelled) counts towards what goes with it.
        SELECT o.customer_id, l.product_id, max(CASE WHEN o.status = 'placed' THEN 1 ELSE 0 END) AS kept,
               {in_order} AS in_order
        FROM customers_order o JOIN customers_orderline l ON l.order_id = o.id
        WHERE o.customer_id IN (SELECT customer_id FROM chunk) AND o.kind = 'purchase'
          AND o.status <> 'cancelled' AND l.quantity > 0 {until_sql}
        GROUP BY o.customer_id, l.product_id
    ),
    candidates AS (
        SELECT w.customer_id, pp.related_id AS product_id, sum(pp.score) AS score, 2 - w.in_order AS tier
        FROM owned w JOIN metrics_productpair pp ON pp.product_id = w.product_id
        WHERE (w.kept = 1 OR w.in_order = 1) AND NOT EXISTS (
            SELECT 1 FROM owned x WHERE x.customer_id = w.customer_id AND x.product_id = pp.related_id)
        GROUP BY w.customer_id, pp.related_id, w.in_order
        {fill}
    ),
    ranked AS (
        SELECT customer_id, product_id, score, tier,
               row_number() OVER (PARTITION BY customer_id ORDER BY tier, score DESC, product_id) AS n
        FROM (SELECT customer_id, product_id, score, tier,
                     row_number() OVER (PARTITION BY customer_id, product_id ORDER BY tier) AS first
              FROM candidates) AS deduplicated
        WHERE first = 1
    )
    SELECT r.customer_id, r.product_id, p.sku, p.name, r.score, r.tier, s.price, s.currency
    FROM ranked r JOIN customers_product p ON p.id = r.product_id
    LEFT JOIN metrics_productsales s ON s.product_id = r.product_id
    WHERE r.n <= %s
    ORDER BY r.customer_id, r.n"""  # noqa: S608 - fixed fragments; values are parameters


def _recommendation(row) -> Recommendation:
    _customer_id, product_id, sku, name, score, tier, price, currency = row
    return Recommendation(
        product_id=product_id,
        sku=sku,
        name=name,
        score=float(score),
        reason=BOUGHT_TOGETHER if tier < 3 else POPULAR,
        price=price,
        currency=currency or "",
    )


def customers_recommendations(
    *, customer_ids: Sequence[int], limit: int | None = None, until: datetime | None = None, popular: bool = True
) -> dict[int, list[Recommendation]]:
    """Each customer's recommendations, best first (a customer with none maps to []).

    ``until``: only orders before it count as owned (the bench's cut-off; the pairs are whatever the
    last recompute wrote). ``popular``: fill with best-sellers (False: bought together only).
    """
    limit = conf.get("RECOMMEND_LIMIT") if limit is None else limit
    ids = list(dict.fromkeys(int(i) for i in customer_ids))
    result: dict[int, list[Recommendation]] = {i: [] for i in ids}
    if not ids or limit <= 0:
        return result
    with connection.cursor() as cursor:
        for start in range(0, len(ids), CHUNK_MAX):
            chunk = ids[start : start + CHUNK_MAX]
            params = [*chunk, *([until] if until is not None else []), limit]
            cursor.execute(_sql(len(chunk), until=until, popular=popular), params)
            for row in cursor.fetchall():
                result[row[0]].append(_recommendation(row))
    return result


def customer_recommendations(*, customer_id: int, limit: int | None = None) -> list[Recommendation]:
    return customers_recommendations(customer_ids=[customer_id], limit=limit)[customer_id]


def order_recommendations(*, order_id: int, customer_id: int, limit: int | None = None) -> list[Recommendation]:
    """For the acknowledgement of one purchase: what goes with that order's products first, then
    with the customer's other products, then best-sellers; never what the customer has."""
    limit = conf.get("RECOMMEND_LIMIT") if limit is None else limit
    if limit <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_sql(1, until=None, popular=True, order_basis=True), [customer_id, order_id, limit])
        return [_recommendation(row) for row in cursor.fetchall()]


def recommendations_because(*, customer_id: int, product_ids: Sequence[int]) -> dict[int, list[Product]]:
    """For the customer page: which of the customer's own products each recommended product goes with
    (best pair first), to say "bought with ..."."""
    owned = Product.objects.filter(
        order_lines__order__customer_id=customer_id,
        order_lines__order__kind="purchase",
        order_lines__order__status="placed",
        order_lines__quantity__gt=0,
    ).values("id")
    pairs = (
        ProductPair.objects.filter(related_id__in=list(product_ids), product_id__in=owned)
        .select_related("product")
        .order_by("related_id", "-score", "product_id")
    )
    because: dict[int, list[Product]] = {}
    for pair in pairs:
        because.setdefault(pair.related_id, []).append(pair.product)
    return because


@dataclass(frozen=True)
class Related:
    product: Product
    rank: int
    together: int
    score: float
    price: Decimal | None
    currency: str


def product_related(*, product_id: int, limit: int | None = None) -> list[Related]:
    """The products bought with ``product_id``, best first, as the last recompute left them."""
    pairs = list(
        ProductPair.objects.filter(product_id=product_id)
        .select_related("related")
        .order_by("rank")[: limit or conf.get("RECOMMEND_PAIRS_KEPT")]
    )
    sales = {s.product_id: s for s in ProductSales.objects.filter(product_id__in=[p.related_id for p in pairs])}
    return [
        Related(
            product=pair.related,
            rank=pair.rank,
            together=pair.together,
            score=pair.score,
            price=sales[pair.related_id].price if pair.related_id in sales else None,
            currency=sales[pair.related_id].currency if pair.related_id in sales else "",
        )
        for pair in pairs
    ]


def recommendations_computed_at() -> datetime | None:
    """When the last recompute of the recommendations wrote its rows (None: never, or nothing sold)."""
    # One recompute writes every row with the same time: any row says it (the first by primary key).
    return ProductSales.objects.values_list("computed_at", flat=True).first()
