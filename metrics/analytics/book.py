"""Book performance: retention and growth of each account manager's book over a period, against the
whole base (the product brief: reward managers for growing existing business, not only new logos).

Definitions are docs/metrics.md's, those of ``rates.period_rates``. Each customer's activity in
the days that matter (period_activity: last purchase days and revenues, from the daily frame or
summed by PostgreSQL), first purchase and upsell day become one row of 0/1 flags and amounts per
customer (activity as ``rates.active_customers``), summed by book in one groupby. For the period [s, e):

- retention rate, churn rate, net revenue retention: as ``period_rates`` on the book's customers.
- upsell rate: as of the period's last day (e - 1 day), customers of the book who after their first
  purchase bought a product not in it, over the book's customers with a purchase by then.
- revenue: net revenue in [s, e) of the book's customers; revenue from existing customers: the part
  of it from customers whose first purchase is before s.

**Whose book a customer is in for a period** (AccountAssignment history): the manager who had them
at the start of the period, s; a customer with nobody at s counts for the first manager assigned
to them during the period. A customer reassigned mid-period therefore stays with the first manager
for the whole period, so the period's retention and revenue are judged on the book that manager
was responsible for, and no customer counts twice. Customers never assigned in the period count
in the base only. (Assignments of one customer never overlap, so "the assignment open at s, else
the first one starting in the period" is simply the earliest assignment overlapping [s, e).)

The figures are ratios of sums (``BookSums``), so a book's sums are what is worth keeping: the
nightly run stores them per period and book (metrics.services.book), and the report divides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

# A period longer than two years is not a "book period" any more, and would load a lot of history.
MAX_PERIOD_DAYS = 731
# How many months, quarters and years the period picker offers.
PICKER_MONTHS, PICKER_QUARTERS, PICKER_YEARS = 12, 8, 5

# What the figures of a book are computed from: sums over its customers of customer_period_flags.
SUM_COLUMNS = (
    "customers",
    "active_start",
    "retained",
    "kept_revenue",
    "kept_revenue_before",
    "revenue",
    "revenue_existing",
    "buyers",
    "upsold",
)
# Counts and amounts: the dtypes of the sums, however they were read.
SUM_DTYPES = {name: "float64" if "revenue" in name else "int64" for name in SUM_COLUMNS}
ASSIGNMENT_COLUMNS = ("id", "customer_id", "manager_id", "started_at", "ended_at")


# --- Periods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive
    key: str  # "2024-03", "2024-Q1", "2024", or "2024-01-01..2024-02-15"

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def is_custom(self) -> bool:
        return ".." in self.key


class PeriodEmpty(ValueError):
    """A custom period whose end is not after its start."""


class PeriodTooLong(ValueError):
    """A custom period of more than MAX_PERIOD_DAYS days."""


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_month(year: int, month: int) -> Period:
    start = date(year, month, 1)
    return Period(start, _add_months(start, 1), f"{year:04d}-{month:02d}")


def period_quarter(year: int, quarter: int) -> Period:
    start = date(year, 3 * (quarter - 1) + 1, 1)
    return Period(start, _add_months(start, 3), f"{year:04d}-Q{quarter}")


def period_year(year: int) -> Period:
    return Period(date(year, 1, 1), date(year + 1, 1, 1), f"{year:04d}")


def period_custom(start: date, end: date) -> Period:
    """[start, end); PeriodEmpty or PeriodTooLong (both ValueError) when it is not a book period."""
    if end <= start:
        raise PeriodEmpty("the end must be after the start")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise PeriodTooLong(f"a period is at most {MAX_PERIOD_DAYS} days")
    return Period(start, end, f"{start.isoformat()}..{end.isoformat()}")


def period_previous(period: Period) -> Period:
    """The month, quarter or year before ``period`` (a custom period: the equally long one before it)."""
    if period.is_custom:
        return period_custom(period.start - (period.end - period.start), period.start)
    if len(period.key) == 4:
        return period_year(period.start.year - 1)
    before = _add_months(period.start, -3 if "-Q" in period.key else -1)
    if "-Q" in period.key:
        return period_quarter(before.year, (before.month - 1) // 3 + 1)
    return period_month(before.year, before.month)


def period_default(today: date) -> Period:
    """The last complete quarter."""
    quarter = (today.month - 1) // 3 + 1
    return period_quarter(today.year, quarter - 1) if quarter > 1 else period_quarter(today.year - 1, 4)


def period_parse(key: str) -> Period:
    """ "2024-03", "2024-Q1" or "2024" to a Period; ValueError for anything else."""
    try:
        if len(key) == 4 and key.isdigit():
            return period_year(int(key))
        year, _sep, rest = key.partition("-")
        if rest.startswith("Q") and rest[1:] in {"1", "2", "3", "4"}:
            return period_quarter(int(year), int(rest[1:]))
        if len(rest) == 2 and 1 <= int(rest) <= 12:
            return period_month(int(year), int(rest))
    except ValueError:
        pass
    raise ValueError(f"not a period: {key!r}")


def period_choices(today: date) -> dict[str, list[Period]]:
    """The complete months, quarters and years before ``today``, newest first, for the picker."""
    this_month = date(today.year, today.month, 1)
    months = [period_month(d.year, d.month) for d in (_add_months(this_month, -i) for i in range(1, PICKER_MONTHS + 1))]
    quarters, quarter = [], period_default(today)
    for _i in range(PICKER_QUARTERS):
        quarters.append(quarter)
        previous = _add_months(quarter.start, -3)
        quarter = period_quarter(previous.year, (previous.month - 1) // 3 + 1)
    years = [period_year(today.year - i) for i in range(1, PICKER_YEARS + 1)]
    return {"months": months, "quarters": quarters, "years": years}


def picker_periods(today: date) -> list[Period]:
    """Every period the picker offers on ``today`` (what the nightly run keeps the sums of)."""
    return [period for periods in period_choices(today).values() for period in periods]


def period_first_day(period: Period, *, window_days: int) -> date:
    """The first day of orders the period's figures look at: activity at s (W days up to it) and
    the equally long period before s that net revenue retention compares with."""
    return min(period.start - timedelta(days=window_days - 1), period.start - (period.end - period.start))


# --- Whose book -----------------------------------------------------------------------------------


def book_membership(assignments: pd.DataFrame, *, start: np.datetime64, end: np.datetime64) -> pd.DataFrame:
    """customer_id, manager_id (int64): each customer's book for [start, end) (the module docstring's rule).

    ``assignments``: id, customer_id, manager_id, started_at, ended_at (datetime64, comparable with
    ``start`` and ``end``, which are instants; ended_at NaT while open).
    """
    started, ended = assignments["started_at"], assignments["ended_at"]
    overlapping = assignments[(started < end) & (ended.isna() | (ended > start))]
    # Most customers have one assignment overlapping the period: only the others are sorted (a
    # sort of a million rows by three keys took most of a second).
    several = overlapping["customer_id"].duplicated(keep=False).to_numpy()
    earliest = overlapping[several].sort_values(["customer_id", "started_at", "id"], kind="stable")
    first = pd.concat([overlapping[~several], earliest.drop_duplicates("customer_id", keep="first")])
    customer_ids = first["customer_id"].to_numpy(dtype="int64")
    order = np.argsort(customer_ids, kind="stable")
    return pd.DataFrame(
        {"customer_id": customer_ids[order], "manager_id": first["manager_id"].to_numpy(dtype="int64")[order]}
    )


# --- Figures ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookFigures:
    manager_id: int | None  # None: the whole base
    customers: int
    active_at_start: int
    retained: int
    retention_rate: float | None
    churn_rate: float | None
    net_revenue_retention: float | None
    upsell_rate: float | None
    revenue: float
    revenue_existing: float

    def as_dict(self) -> dict:
        return asdict(self)


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else float(numerator) / float(denominator)


def figures_from_sums(manager_id: int | None, sums: Mapping) -> BookFigures:
    """A book's figures from its sums (SUM_COLUMNS): the same arithmetic for sums just computed and
    sums the nightly run stored."""
    retention = _ratio(sums["retained"], sums["active_start"])
    return BookFigures(
        manager_id=manager_id,
        customers=int(sums["customers"]),
        active_at_start=int(sums["active_start"]),
        retained=int(sums["retained"]),
        retention_rate=retention,
        churn_rate=None if retention is None else 1.0 - retention,
        # As period_rates: a ratio over a zero or negative base (refunds exceeding sales) means nothing.
        net_revenue_retention=(
            float(sums["kept_revenue"]) / float(sums["kept_revenue_before"])
            if sums["kept_revenue_before"] > 0
            else None
        ),
        upsell_rate=_ratio(sums["upsold"], sums["buyers"]),
        revenue=round(float(sums["revenue"]), 2),
        revenue_existing=round(float(sums["revenue_existing"]), 2),
    )


# What customer_period_flags needs of a customer's day totals for a period, before any flag: the
# last purchase day up to s and up to e (NaT: none in the days the period looks at), net revenue in
# [s, e) and in the equally long period before s. period_activity computes it from the daily frame;
# metrics.selectors.period_activity has PostgreSQL compute the same columns (MAX and SUM of a range).
ACTIVITY_COLUMNS = ("last_purchase_start", "last_purchase_end", "revenue", "revenue_before")


def period_activity(daily: pd.DataFrame, *, period: Period, window_days: int) -> pd.DataFrame:
    """ACTIVITY_COLUMNS, one row per customer with a day in period_first_day .. e in ``daily``
    (indexed by customer_id, ascending; datetime64 days, float amounts, 0.0 for no order).

    ``daily``: the daily frame (rates), rows of one customer in day order (the order their amounts
    are summed in, so that every caller gets the same floating-point sums).
    """
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)
    day = pd.to_datetime(daily["day"])
    rows = daily[(day >= pd.Timestamp(period_first_day(period, window_days=window_days))) & (day <= end)]
    day, customer = pd.to_datetime(rows["day"]), rows["customer_id"]
    index = pd.Index(np.unique(customer.to_numpy()).astype("int64"), name="customer_id")
    purchase = rows["purchase_amount"].to_numpy() > 0
    amounts = rows["amount"].astype(float)
    last_start = day[purchase & (day <= start).to_numpy()].groupby(customer).max()
    last_end = day[purchase].groupby(customer).max()
    revenue = amounts[(day >= start) & (day < end)].groupby(customer).sum()
    before = amounts[(day >= start - (end - start)) & (day < start)].groupby(customer).sum()
    return pd.DataFrame(
        {
            "last_purchase_start": last_start.reindex(index).to_numpy(dtype="datetime64[us]"),
            "last_purchase_end": last_end.reindex(index).to_numpy(dtype="datetime64[us]"),
            "revenue": revenue.reindex(index, fill_value=0.0).to_numpy(dtype="float64"),
            "revenue_before": before.reindex(index, fill_value=0.0).to_numpy(dtype="float64"),
        },
        index=index,
    )


def customer_period_flags(
    *,
    period: Period,
    customers: np.ndarray,
    activity: pd.DataFrame,
    first_purchase: pd.Series,
    upsold: np.ndarray,
    window_days: int,
) -> pd.DataFrame:
    """One row per customer (indexed by ``customers``) with what the figures sum: customers (1),
    active_start, active_end, retained (0/1), revenue and revenue_before (net, in [s, e) and in the
    equally long period before), kept_revenue and kept_revenue_before (the same, for customers active at
    s: net revenue retention's numerator and denominator), revenue_existing (revenue when the first
    purchase is before s), buyers (a purchase by the last day) and upsold (0/1).

    ``activity``: period_activity of the period (customers without a row had no order in the days
    it looks at). Activity follows rates (active_customers: a purchase day in (at - W, at]);
    period_rates gives the same figures on the same rows, customer set by customer set (a test
    checks it). ``first_purchase`` (datetime64 by customer_id) may hold first purchases after the
    period, or leave them out: either way they count for neither "before s" nor "by the last day".
    """
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)
    window = pd.Timedelta(days=window_days)
    index = pd.Index(customers, name="customer_id")
    rows = activity.reindex(index)
    at_start = (rows["last_purchase_start"] > start - window).to_numpy()
    at_end = (rows["last_purchase_end"] > end - window).to_numpy()
    revenue = rows["revenue"].fillna(0.0).to_numpy()
    before = rows["revenue_before"].fillna(0.0).to_numpy()
    first = first_purchase.reindex(index)
    existing = (first < start).to_numpy()
    return pd.DataFrame(
        {
            "customers": np.ones(len(index), dtype="int64"),
            "active_start": at_start.astype(int),
            "active_end": at_end.astype(int),
            "retained": (at_start & at_end).astype(int),
            "revenue": revenue,
            "revenue_before": before,
            "kept_revenue": np.where(at_start, revenue, 0.0),
            "kept_revenue_before": np.where(at_start, before, 0.0),
            "revenue_existing": np.where(existing, revenue, 0.0),
            "buyers": (first <= pd.Timestamp(period.last_day)).to_numpy().astype(int),
            "upsold": index.isin(upsold).astype(int),
        },
        index=index,
        copy=False,  # the columns are new arrays: stacking them into blocks cost half a second at a million
    )


def book_sums(*, flags: pd.DataFrame, membership: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """(the whole base's sums, one row of sums per manager_id of ``membership``), SUM_COLUMNS each.

    ``flags``: customer_period_flags of the whole base; ``membership``: customer_id, manager_id.
    Sums by book with one bincount per column: no loop over customers, nor over managers (a join
    and a groupby of a million rows cost ten times as much).
    """
    columns = list(SUM_COLUMNS)
    base = flags[columns].sum()
    rows = flags.index.get_indexer(membership["customer_id"].to_numpy())
    known = rows >= 0  # a customer of the assignments missing from the base (deleted meanwhile)
    codes, managers = pd.factorize(membership["manager_id"].to_numpy(dtype="int64")[known], sort=True)
    rows = rows[known]
    books = pd.DataFrame(
        {
            name: np.bincount(codes, weights=flags[name].to_numpy(dtype="float64")[rows], minlength=len(managers))
            for name in columns
        },
        index=pd.Index(managers, name="manager_id"),
    )
    return base, books.astype(SUM_DTYPES)


def period_book_sums(
    period: Period,
    *,
    customers: np.ndarray,
    activity: pd.DataFrame,
    first_purchase: pd.Series,
    upsell_days: pd.Series,
    assignments: pd.DataFrame,
    start_instant: np.datetime64,
    end_instant: np.datetime64,
    window_days: int,
) -> tuple[pd.Series, pd.DataFrame]:
    """book_sums of ``period``: the one computation behind the figures, whether shown at once or
    stored by the nightly run.

    ``activity``: period_activity of the period (from the daily frame, or as PostgreSQL sums it);
    ``upsell_days``: first upsell day by customer_id (those after the period's last day are left
    out here); ``assignments``: ASSIGNMENT_COLUMNS, with ``start_instant`` and ``end_instant`` the
    first instants of s and e on their clock.
    """
    upsold = upsell_days.index[upsell_days <= pd.Timestamp(period.last_day)].to_numpy()
    flags = customer_period_flags(
        period=period,
        customers=customers,
        activity=activity,
        first_purchase=first_purchase,
        upsold=upsold,
        window_days=window_days,
    )
    membership = book_membership(assignments, start=start_instant, end=end_instant)
    return book_sums(flags=flags, membership=membership)
