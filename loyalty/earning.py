"""What orders earn, as one statement: the earning rules applied to a set of orders in SQL.

``earn_rows_sql(orders)`` is a SELECT of (customer_id, points, order_id, expires_at, ordered_at) for
the orders of a queryset that earn, by the rules in force when each was placed; the same statement
serves one order (placed through the API or the browser) and a whole import (``INSERT ... SELECT``,
services.points_earn_orders): one definition of earning, never a Python loop over orders.

points = floor(sum over lines of amount x the line's multiplier (the highest product or category
rule in force, else 1) x points per currency unit (the base rule in force) x the highest promotion
in force (else 1) x the member's tier multiplier (else 1)) + the first-purchase bonus in force (when
no earlier purchase of the customer exists).

Only purchases that are placed (not refunded or cancelled) earn, of customers enrolled by the time
of the order.

The rules are a handful of rows, so they are resolved here, not per order: their start and end
dates cut time into periods in each of which the same rules are in force, and each period's base,
best promotion and best first-purchase bonus (and its product and category multipliers) go into the
statement as a small VALUES list that the orders join by date range. The lines are totalled with
one GROUP BY. (Looking the rules up per order and per line in correlated subqueries cost 3.5x a
COPY of the same ledger rows at a million orders: docs/benchmarks.md.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Q, QuerySet

from customers.models import Order, OrderLine, Product

from .models import EarningRule, Member, Tier

ORDER = Order._meta.db_table
LINE = OrderLine._meta.db_table
PRODUCT = Product._meta.db_table
MEMBER = Member._meta.db_table
TIER = Tier._meta.db_table


def _in_force(at) -> Q:
    return Q(starts_at__lte=at) & (Q(ends_at__isnull=True) | Q(ends_at__gt=at))


@dataclass(frozen=True)
class Period:
    """[start, end) (end None: open), with the same rules in force throughout."""

    start: datetime
    end: datetime | None
    base: Decimal
    promotion: Decimal
    bonus: Decimal
    line_rules: tuple[tuple[str, str, Decimal], ...]  # (kind, sku or category, multiplier)


def periods(rules: list[EarningRule]) -> list[Period]:
    """The periods cut by the rules' dates in which an order can earn (a base rule or a bonus)."""
    bounds = sorted({r.starts_at for r in rules} | {r.ends_at for r in rules if r.ends_at is not None})
    if not bounds:  # no rule at all: nothing earns
        return []
    result = []
    for start, end in zip(bounds, [*bounds[1:], None], strict=True):
        live = [r for r in rules if r.starts_at <= start and (r.ends_at is None or r.ends_at > start)]
        bases = [r for r in live if r.kind == EarningRule.Kind.BASE]
        # The newest base rule in force is the rule; of several promotions or bonuses, the best counts.
        base = max(bases, key=lambda r: (r.starts_at, r.id)).value if bases else Decimal(0)
        promotion = max((r.value for r in live if r.kind == EarningRule.Kind.PROMOTION), default=Decimal(1))
        bonus = max((r.value for r in live if r.kind == EarningRule.Kind.FIRST_PURCHASE), default=Decimal(0))
        line_rules = tuple(
            (r.kind, r.sku if r.kind == EarningRule.Kind.PRODUCT else r.category, r.value)
            for r in live
            if r.kind in (EarningRule.Kind.PRODUCT, EarningRule.Kind.CATEGORY)
        )
        if base > 0 or bonus > 0:
            result.append(Period(start, end, base, promotion, bonus, line_rules))
    return result


def _timestamp(value) -> tuple[str, list]:
    if connection.vendor == "postgresql":  # typed even when NULL: a NULL column of a UNION is text
        return "CAST(%s AS timestamp with time zone)", [value]
    if value is None:
        return "NULL", []
    return "%s", [connection.ops.adapt_datetimefield_value(value)]


def _values(rows: list[list[tuple[str, list]]], columns: str) -> tuple[str, list]:
    """A VALUES list as a derived table (SQLite names VALUES columns column1...: hence the SELECT)."""
    selects, params = [], []
    names = columns.split(", ")
    for row in rows:
        selects.append("SELECT " + ", ".join(f"{sql} AS {name}" for (sql, _p), name in zip(row, names, strict=True)))
        for _sql, row_params in row:
            params.extend(row_params)
    return " UNION ALL ".join(selects), params


def _number(value) -> tuple[str, list]:
    return "CAST(%s AS NUMERIC)", [str(value)]


def _text(value: str) -> tuple[str, list]:
    return "%s", [value]


def _expires_at(expiry_days: int | None) -> tuple[str, list]:
    if not expiry_days:
        return "NULL", []
    if connection.vendor == "postgresql":
        return "o.ordered_at + make_interval(days => %s)", [expiry_days]
    # SQLite keeps datetimes as text; datetime() drops the fraction of a second, put back here.
    return (
        "datetime(o.ordered_at, %s) || CASE WHEN instr(o.ordered_at, '.') > 0 "
        "THEN substr(o.ordered_at, instr(o.ordered_at, '.')) ELSE '' END",
        [f"+{expiry_days} days"],
    )


def earn_rows_sql(orders: QuerySet[Order], *, expiry_days: int | None) -> tuple[str, list] | None:
    """The SELECT of (customer_id, points, order_id, expires_at, ordered_at) of the orders of
    ``orders`` that earn (points > 0), with its parameters; None when no rule can award anything."""
    found = periods(list(EarningRule.objects.all()))
    if not found:
        return None
    ids_sql, ids_params = orders.order_by().values("pk").query.sql_with_params()
    period_sql, period_params = _values(
        [
            [
                _number(i),
                _timestamp(p.start),
                _timestamp(p.end),
                _number(p.base),
                _number(p.promotion),
                _number(p.bonus),
            ]
            for i, p in enumerate(found)
        ],
        "n, lo, hi, base, promotion, bonus",
    )
    line_rows = [
        [_number(i), _text(kind), _text(key), _number(value)]
        for i, p in enumerate(found)
        for kind, key, value in p.line_rules
    ]
    in_period = "o.ordered_at >= p.lo AND (p.hi IS NULL OR o.ordered_at < p.hi)"
    if line_rows:
        rules_sql, rules_params = _values(line_rows, "n, kind, rule_key, multiplier")
        multiplier = (
            f"COALESCE((SELECT MAX(r.multiplier) FROM ({rules_sql}) r WHERE r.n = p.n AND "
            f"((r.kind = 'product' AND r.rule_key = pr.sku) OR (r.kind = 'category' AND r.rule_key = pr.category))), 1)"
        )
        product_join = f"JOIN {PRODUCT} pr ON pr.id = l.product_id"
    else:
        rules_params, multiplier, product_join = [], "1", ""
    expires_sql, expires_params = _expires_at(expiry_days)
    # The lines' weighted amounts, one GROUP BY over the lines of the orders (a period per order).
    weighted = (
        f"SELECT l.order_id, SUM(l.amount * {multiplier}) AS amount FROM {LINE} l "
        f"JOIN {ORDER} o ON o.id = l.order_id JOIN ({period_sql}) p ON {in_period} {product_join} "
        f"WHERE l.order_id IN ({ids_sql}) GROUP BY l.order_id"
    )
    earlier = (
        f"EXISTS (SELECT 1 FROM {ORDER} e WHERE e.customer_id = o.customer_id AND e.kind = 'purchase' "
        "AND e.status <> 'cancelled' AND (e.ordered_at < o.ordered_at OR (e.ordered_at = o.ordered_at AND e.id < o.id)))"
    )
    points = (
        "CAST(FLOOR(COALESCE(w.amount, 0) * p.base * p.promotion * COALESCE(t.earn_multiplier, 1)) "
        f"+ CASE WHEN p.bonus > 0 AND NOT {earlier} THEN FLOOR(p.bonus) ELSE 0 END AS BIGINT)"
    )
    sql = (
        f"SELECT * FROM (SELECT o.customer_id, {points} AS points, o.id AS order_id, {expires_sql} AS expires_at, "
        f"o.ordered_at FROM {ORDER} o JOIN ({period_sql}) p ON {in_period} "
        f"JOIN {MEMBER} m ON m.customer_id = o.customer_id AND m.enrolled_at <= o.ordered_at "
        f"LEFT JOIN {TIER} t ON t.id = m.tier_id LEFT JOIN ({weighted}) w ON w.order_id = o.id "
        f"WHERE o.id IN ({ids_sql}) AND o.kind = 'purchase' AND o.status = 'placed') earned WHERE points > 0"
    )
    # Parameters in the order of the text: the select list (expiry), the periods, the weighted
    # amounts (line rules, periods, ids), then the orders' ids.
    params = [*expires_params, *period_params, *rules_params, *period_params, *ids_params, *ids_params]
    return sql, params
