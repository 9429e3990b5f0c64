"""Period rates (retention, churn, acquisition, reactivation, NRR) and as-of rates (repeat, upsell).

Inputs are the daily frame of `summary` (customer_id, day, amount, purchase_amount): a purchase
day has purchase_amount > 0; revenue is the net `amount`. Rates whose denominator is zero are
None, never NaN, and their counts are 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._common import ratio, require_columns, to_day
from .summary import DAILY_COLUMNS

# metrics.md: a customer is active at d with a purchase in (d - W, d]; W defaults to 90 days.
DEFAULT_WINDOW_DAYS = 90

LINE_COLUMNS = ("customer_id", "ordered_at", "product_id", "amount")


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int
    value: float | None


@dataclass(frozen=True)
class PeriodRates:
    """Rates for the period [start, end) with activity window `window_days`."""

    start: pd.Timestamp
    end: pd.Timestamp
    window_days: int
    active_at_start: int
    active_at_end: int
    retained: int
    churned: int
    new: int
    reactivated: int
    retention_rate: float | None
    churn_rate: float | None
    acquisition_rate: float | None
    revenue: float
    revenue_before: float
    net_revenue_retention: float | None


def _purchase_days(daily: pd.DataFrame) -> pd.DataFrame:
    require_columns(daily, DAILY_COLUMNS, name="daily")
    day = to_day(daily["day"])
    mask = (daily["purchase_amount"] > 0).to_numpy()
    return pd.DataFrame({"customer_id": daily["customer_id"].to_numpy()[mask], "day": day.to_numpy()[mask]})


def active_customers(daily: pd.DataFrame, *, at: pd.Timestamp, window_days: int = DEFAULT_WINDOW_DAYS) -> np.ndarray:
    """Ids of the customers with a purchase day in (at - window_days, at]."""
    purchases = _purchase_days(daily)
    return _active(purchases, pd.Timestamp(at), window_days)


def _active(purchases: pd.DataFrame, at: pd.Timestamp, window_days: int) -> np.ndarray:
    day = purchases["day"]
    in_window = (day > at - pd.Timedelta(days=window_days)) & (day <= at)
    return pd.unique(purchases["customer_id"][in_window])


def _revenue(daily: pd.DataFrame, customers: np.ndarray, start: pd.Timestamp, end: pd.Timestamp) -> float:
    day = to_day(daily["day"])
    mask = (day >= start) & (day < end) & daily["customer_id"].isin(customers)
    return float(daily["amount"][mask].sum())


def period_rates(
    daily: pd.DataFrame, *, start: pd.Timestamp, end: pd.Timestamp, window_days: int = DEFAULT_WINDOW_DAYS
) -> PeriodRates:
    """Retention, churn, acquisition, reactivation and net revenue retention for [start, end).

    Reactivated: active at end, not active at start, and first purchase before start. metrics.md
    says "not new in the period"; a first purchase on the day `end` itself is not new in
    [start, end) but is no reactivation either, so it is left out.
    NRR: net revenue in [start, end) of the customers active at start over their net revenue in
    the equally long period before start (None when that is zero or negative).
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end <= start:
        raise ValueError("end must be after start")
    purchases = _purchase_days(daily)
    at_start = _active(purchases, start, window_days)
    at_end = _active(purchases, end, window_days)
    first = purchases.groupby("customer_id")["day"].min()
    new = first.index[(first >= start) & (first < end)]
    before = first.index[first < start]
    retained = np.intersect1d(at_start, at_end).size
    reactivated = np.setdiff1d(np.intersect1d(at_end, before), at_start).size
    revenue = _revenue(daily, at_start, start, end)
    revenue_before = _revenue(daily, at_start, start - (end - start), start)
    retention = ratio(retained, at_start.size)
    return PeriodRates(
        start=start,
        end=end,
        window_days=window_days,
        active_at_start=int(at_start.size),
        active_at_end=int(at_end.size),
        retained=int(retained),
        churned=int(at_start.size - retained),
        new=int(new.size),
        reactivated=int(reactivated),
        retention_rate=retention,
        churn_rate=None if retention is None else 1.0 - retention,
        acquisition_rate=ratio(new.size, at_start.size),
        revenue=revenue,
        revenue_before=revenue_before,
        # A ratio over a zero or negative base (refunds exceeding sales) has no meaning.
        net_revenue_retention=revenue / revenue_before if revenue_before > 0 else None,
    )


def repeat_purchase_rate(daily: pd.DataFrame, *, as_of: pd.Timestamp) -> Rate:
    """Customers with 2+ purchase days up to `as_of` over customers with at least 1."""
    purchases = _purchase_days(daily)
    purchases = purchases[purchases["day"] <= pd.Timestamp(as_of)]
    counts = purchases.drop_duplicates().groupby("customer_id").size()
    repeaters = int((counts >= 2).sum())
    return Rate(numerator=repeaters, denominator=int(counts.size), value=ratio(repeaters, counts.size))


def upsell_rate(lines: pd.DataFrame, *, as_of: pd.Timestamp) -> Rate:
    """Customers who, after their first purchase day, bought a product not bought on that day,
    over customers with at least one purchase, counting lines up to `as_of`.

    `lines`: order lines customer_id, ordered_at (datetime64), product_id, amount; lines with
    amount <= 0 (refunds, free items) are ignored.
    """
    require_columns(lines, LINE_COLUMNS, name="lines")
    lines = lines[(lines["amount"] > 0) & (lines["ordered_at"] <= pd.Timestamp(as_of))]
    frame = pd.DataFrame(
        {
            "customer_id": lines["customer_id"].to_numpy(),
            "product_id": lines["product_id"].to_numpy(),
            "day": to_day(lines["ordered_at"]).to_numpy(),
        }
    )
    on_first_day = frame["day"] == frame.groupby("customer_id")["day"].transform("min")
    first_basket = pd.MultiIndex.from_frame(frame.loc[on_first_day, ["customer_id", "product_id"]])
    later = frame.loc[~on_first_day, ["customer_id", "product_id"]]
    new_product = ~pd.MultiIndex.from_frame(later).isin(first_basket)
    upsold = int(later["customer_id"][new_product].nunique())
    buyers = int(frame["customer_id"].nunique())
    return Rate(numerator=upsold, denominator=buyers, value=ratio(upsold, buyers))
