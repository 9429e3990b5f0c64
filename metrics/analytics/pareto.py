"""Pareto tier and curve on trailing net revenue (metrics.md, "Customer value")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._common import require_columns, to_day

# metrics.md: the top tier is the smallest set of customers making 80% of the revenue.
TOP_REVENUE_SHARE = 0.8

# metrics.md: revenue over the trailing 12 months.
TRAILING_MONTHS = 12

# A chart needs no more points than it has pixels to spare; 200 keeps the payload small.
MAX_CURVE_POINTS = 200

# Float sums such as 0.1 + 0.7 fall a hair short of 0.8; this much slack (relative to total
# revenue) keeps a set that makes exactly 80% from needing one more customer.
SHARE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class ParetoResult:
    """`customers`: index customer_id in rank order, columns net_revenue, rank (1 = largest),
    cumulative_share, top (bool). `curve`: share_customers, share_revenue from (0, 0) to (1, 1),
    at most about MAX_CURVE_POINTS rows. With total revenue <= 0 there is no tier: top_count 0,
    top_share_of_customers None, empty curve."""

    customers: pd.DataFrame
    top_count: int
    customer_count: int
    total_revenue: float
    top_share_of_customers: float | None
    curve: pd.DataFrame


def pareto_tier(
    daily: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    months: int = TRAILING_MONTHS,
    top_share: float = TOP_REVENUE_SHARE,
    max_points: int = MAX_CURVE_POINTS,
) -> ParetoResult:
    """Rank customers by net revenue in (as_of - months, as_of].

    `daily`: customer_id, day, amount (net, refunds included). Every customer with a row in the
    window counts, including those whose refunds exceed their purchases. Ties keep customer_id
    order so the ranking is reproducible.
    """
    require_columns(daily, ("customer_id", "day", "amount"), name="daily")
    as_of = pd.Timestamp(as_of)
    day = to_day(daily["day"])
    mask = (day > as_of - pd.DateOffset(months=months)) & (day <= as_of)
    revenue = daily["amount"][mask].astype(float).groupby(daily["customer_id"][mask]).sum()
    revenue = revenue.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    return pareto_of_ranked(revenue, top_share=top_share, max_points=max_points)


def pareto_of_ranked(
    revenue: pd.Series, *, top_share: float = TOP_REVENUE_SHARE, max_points: int = MAX_CURVE_POINTS
) -> ParetoResult:
    """pareto_tier of customers already ranked: `revenue` indexed by customer_id, by net revenue
    descending, ties in customer_id order (what pareto_tier ranks before it calls this)."""
    total = float(revenue.sum())
    n = revenue.size
    customers = pd.DataFrame({"net_revenue": revenue, "rank": np.arange(1, n + 1)})
    if total <= 0:
        customers["cumulative_share"] = np.nan
        customers["top"] = False
        curve = pd.DataFrame({"share_customers": [], "share_revenue": []})
        return ParetoResult(customers, 0, n, total, None, curve)
    cumulative = revenue.cumsum().to_numpy() / total
    top_count = int(np.searchsorted(cumulative, top_share - SHARE_TOLERANCE, side="left")) + 1
    customers["cumulative_share"] = cumulative
    customers["top"] = customers["rank"] <= top_count
    points = np.unique(np.round(np.linspace(0, n, min(n + 1, max_points))).astype(int))
    curve_y = np.concatenate([[0.0], cumulative])[points]
    curve = pd.DataFrame({"share_customers": points / n, "share_revenue": curve_y})
    return ParetoResult(customers, top_count, n, total, top_count / n, curve)
