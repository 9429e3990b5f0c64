"""Per-customer purchase summary (x, t_x, T, monetary value) as of a date.

Two input shapes, so that the Django side can aggregate in SQL as far as SQL can take it:

* orders: one row per order, columns ``customer_id``, ``ordered_at`` (datetime64; the calendar
  day is taken in the timezone the values are in, so convert to the workspace timezone first)
  and ``amount`` (net amount; zero or negative = refund or cancellation, never a purchase).
* daily: one row per (customer, day), columns ``customer_id``, ``day`` (datetime64 at midnight, or
  ``datetime.date`` objects), ``amount`` (net sum of all that day's orders, refunds included) and
  ``purchase_amount`` (sum of that day's orders with a positive amount; > 0 marks a purchase day).
  In SQL: ``SUM(amount)`` and ``SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END)`` grouped by
  customer and ``TruncDate(ordered_at)``. Both sums are needed: a day with a 50 purchase and a
  -80 refund is a purchase day of spend 50 although its net amount is -30.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import require_columns, to_day, unit_days

ORDER_COLUMNS = ("customer_id", "ordered_at", "amount")
DAILY_COLUMNS = ("customer_id", "day", "amount", "purchase_amount")
SUMMARY_COLUMNS = (
    "first_purchase",
    "last_purchase",
    "purchases",
    "x",
    "t_x",
    "T",
    "monetary_value",
    "net_revenue",
)


def daily_from_orders(orders: pd.DataFrame, *, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per (customer_id, day) with ``amount`` and ``purchase_amount`` (see module doc).

    `orders`: customer_id, ordered_at, amount. Orders after `as_of` (when given) are dropped.
    """
    require_columns(orders, ORDER_COLUMNS, name="orders")
    if as_of is not None:
        orders = orders[orders["ordered_at"] <= pd.Timestamp(as_of)]
    amount = orders["amount"].astype(float).to_numpy()
    daily = pd.DataFrame(
        {
            "customer_id": orders["customer_id"].to_numpy(),
            "day": to_day(orders["ordered_at"]).to_numpy(),
            "amount": amount,
            "purchase_amount": np.where(amount > 0, amount, 0.0),
        }
    )
    return daily.groupby(["customer_id", "day"], as_index=False, sort=True).sum()


def segment_sums(keys: pd.Series, values: pd.Series) -> pd.Series:
    """Sums of `values` per run of equal `keys` (rows grouped by key), indexed by key.

    np.add.reduceat adds each run in order, the same way whether it is given one customer's rows
    or a million customers': so a one-customer refresh gets the full recompute's sums to the last
    bit (groupby().sum() and np.sum() each add in their own way).
    """
    key = keys.to_numpy()
    if key.size == 0:
        return pd.Series([], index=pd.Index(key, name=keys.name), dtype=float)
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sums = np.add.reduceat(values.to_numpy(dtype=float), starts)
    return pd.Series(sums, index=pd.Index(key[starts], name=keys.name))


def summary_from_daily(daily: pd.DataFrame, *, as_of: pd.Timestamp, unit: str = "D") -> pd.DataFrame:
    """Per-customer summary as of `as_of`, indexed by customer_id (sorted).

    `daily`: customer_id, day, amount, purchase_amount (see module doc); rows after as_of's day
    are ignored, and duplicate (customer, day) rows are summed.

    Columns: first_purchase, last_purchase (datetime64, NaT without a purchase); purchases
    (purchase days); x (repeat purchases = purchases - 1); t_x (last - first purchase) and
    T (as_of - first purchase) in `unit`s ('D' days, 'W' weeks) as floats; monetary_value (mean
    spend of the repeat purchase days, the first day excluded as in Fader-Hardie and lifetimes;
    0 when x == 0); net_revenue (sum of all amounts, refunds included).

    Customers with only refunds or zero-amount orders appear with purchases == 0, x == 0,
    t_x and T NaN: drop them (``summary[summary.purchases > 0]``) before fitting a model.
    """
    require_columns(daily, DAILY_COLUMNS, name="daily")
    as_of = pd.Timestamp(as_of)
    unit_length = pd.Timedelta(days=unit_days(unit))
    frame = pd.DataFrame(
        {
            "customer_id": daily["customer_id"].to_numpy(),
            "day": to_day(daily["day"]).to_numpy(),
            "amount": daily["amount"].astype(float).to_numpy(),
            "purchase_amount": daily["purchase_amount"].astype(float).to_numpy(),
        },
        copy=False,  # read only: no need to copy ten million rows into one block
    )
    after = frame["day"].to_numpy() > np.datetime64(as_of)
    if after.any():
        frame = frame[~after]
    if not _sorted_and_unique(frame["customer_id"].to_numpy(), frame["day"].to_numpy()):
        frame = frame.groupby(["customer_id", "day"], as_index=False, sort=True).sum()
    return _summary_of_sorted(frame, as_of=as_of, unit_length=np.timedelta64(unit_length))


def _sorted_and_unique(customer: np.ndarray, day: np.ndarray) -> bool:
    """Whether rows are in strictly increasing (customer, day) order (the loaders' daily frame is)."""
    if len(customer) < 2:
        return True
    same = customer[1:] == customer[:-1]
    return bool(np.all((customer[1:] > customer[:-1]) | (same & (day[1:] > day[:-1]))))


def _summary_of_sorted(frame: pd.DataFrame, *, as_of: pd.Timestamp, unit_length: np.timedelta64) -> pd.DataFrame:
    """The summary of rows sorted by (customer_id, day), one per pair: every figure is a slice of
    each customer's run of rows, so numpy does in one pass what a groupby per figure would."""
    customer = frame["customer_id"].to_numpy()
    day = frame["day"].to_numpy()
    index = pd.Index(customer[_run_starts(customer)], name="customer_id")
    net_revenue = segment_sums(frame["customer_id"], frame["amount"]).to_numpy()
    bought = frame["purchase_amount"].to_numpy() > 0
    b_customer, b_day = customer[bought], day[bought]
    b_spend = frame["purchase_amount"].to_numpy()[bought]
    starts = _run_starts(b_customer)
    ends = np.r_[starts[1:], len(b_customer)].astype("int64")
    where = np.searchsorted(index.to_numpy(), b_customer[starts])
    n = len(index)
    first = np.full(n, np.datetime64("NaT"), dtype=day.dtype)
    last = np.full(n, np.datetime64("NaT"), dtype=day.dtype)
    purchases = np.zeros(n, dtype="int64")
    total_spend = np.zeros(n)
    first_spend = np.zeros(n)
    if len(starts):
        first[where], last[where] = b_day[starts], b_day[ends - 1]
        purchases[where] = ends - starts
        total_spend[where] = np.add.reduceat(b_spend, starts)  # as segment_sums adds
        first_spend[where] = b_spend[starts]
    x = np.clip(purchases - 1, 0, None)
    summary = pd.DataFrame(index=index)
    summary["first_purchase"] = first
    summary["last_purchase"] = last
    summary["purchases"] = purchases
    summary["x"] = x
    summary["t_x"] = (last - first) / unit_length
    summary["T"] = (np.datetime64(as_of) - first) / unit_length
    summary["monetary_value"] = np.divide(total_spend - first_spend, x, out=np.zeros(n), where=x > 0)
    summary["net_revenue"] = net_revenue
    return summary[list(SUMMARY_COLUMNS)]


def _run_starts(keys: np.ndarray) -> np.ndarray:
    """Positions where a run of equal keys starts (keys grouped)."""
    if len(keys) == 0:
        return np.zeros(0, dtype="int64")
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


def customer_summary(orders: pd.DataFrame, *, as_of: pd.Timestamp, unit: str = "D") -> pd.DataFrame:
    """`summary_from_daily` over order rows (customer_id, ordered_at, amount) up to `as_of`.

    Timing sanity check (not a benchmark): about 3 s for 3.7M orders of 1M customers on one core.
    """
    return summary_from_daily(daily_from_orders(orders, as_of=as_of), as_of=as_of, unit=unit)


def purchases_between(daily: pd.DataFrame, *, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Purchase days per customer with start < day <= end (customers without one are absent).

    `daily`: customer_id, day, purchase_amount (see module doc).
    """
    require_columns(daily, ("customer_id", "day", "purchase_amount"), name="daily")
    day = to_day(daily["day"])
    mask = (day > pd.Timestamp(start)) & (day <= pd.Timestamp(end)) & (daily["purchase_amount"] > 0)
    # Count distinct days, in case the caller passes order-level rows renamed as daily.
    frame = pd.DataFrame({"customer_id": daily["customer_id"][mask], "day": day[mask]})
    return frame.drop_duplicates().groupby("customer_id").size().rename("purchases")
