"""Book performance: retention and growth of each account manager's book over a period, against the
whole base (the product brief: reward managers for growing existing business, not only new logos).

Definitions are docs/metrics.md's, those of ``metrics.analytics.period_rates``. SQL aggregates the
orders to the daily frame (one row per customer and day) of the days that matter, and to each
customer's first purchase; pandas turns them into one row of 0/1 flags and amounts per customer
(activity through ``metrics.analytics.rates.active_customers``), summed by book in one groupby.
For the period [s, e):

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
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Case, DecimalField, F, FloatField, Min, Q, Sum, Value, When
from django.db.models.functions import Cast, TruncDate
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from customers import roles
from customers.models import AccountAssignment, Customer, Order
from customers.rollups import customer_rollups_drain
from customers.services import customer_reassign
from metrics import conf as metrics_conf
from metrics.analytics import rates
from metrics.selectors import as_of_cutoff, customer_upsell_days, workspace_tz

# A period longer than two years is not a "book period" any more, and would load a lot of history.
MAX_PERIOD_DAYS = 731
# How many months, quarters and years the period picker offers.
PICKER_MONTHS, PICKER_QUARTERS, PICKER_YEARS = 12, 8, 5
# Customers moved by one reassignment: a whole book of 5,000 is about 15,000 small writes (a few
# seconds) in one transaction; more than that is a migration, not a form.
REASSIGN_LIMIT = 5_000


# --- Periods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive
    key: str  # "2024-03", "2024-Q1", "2024", or "2024-01-01..2024-02-15"

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


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
    if end <= start:
        raise ValueError(_("The end must be after the start."))
    if (end - start).days > MAX_PERIOD_DAYS:
        raise ValueError(_("Choose a period of at most two years."))
    return Period(start, end, f"{start.isoformat()}..{end.isoformat()}")


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


def period_label(period: Period) -> str:
    key = period.key
    if len(key) == 4:
        return key
    if "-Q" in key:
        year, quarter = key.split("-Q")
        return _("Q%(quarter)s %(year)s") % {"quarter": quarter, "year": year}
    if ".." not in key:
        return formats.date_format(period.start, "YEAR_MONTH_FORMAT")
    return f"{period.start.isoformat()} – {period.last_day.isoformat()}"


# --- Loaders (SQL) ------------------------------------------------------------------------------


def _instant(day: date) -> datetime:
    """The first instant of ``day`` in the workspace time zone."""
    return datetime.combine(day, time.min, tzinfo=workspace_tz())


def _fetch(queryset, columns: list[str]) -> pd.DataFrame:
    """Rows of an ORM ``values_list`` query as a DataFrame of raw values. On PostgreSQL through COPY,
    several times faster than fetching a million tuples through the driver (as metrics.selectors does);
    every column read here is a number, a date or a timestamp, so the CSV text is read back as such."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            query = cursor.mogrify(sql, params).decode()
            cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", buffer)
            buffer.seek(0)
            if not buffer.getvalue():
                return pd.DataFrame({name: [] for name in columns})
            return pd.read_csv(buffer, header=None, names=columns)
        cursor.execute(sql, params)
        return pd.DataFrame.from_records(cursor.fetchall(), columns=columns)


def _days(values: pd.Series) -> np.ndarray:
    """Dates as SQL returns them (date objects, or ISO text from SQLite and COPY) as datetime64 days."""
    return pd.to_datetime(pd.Series(values), format="ISO8601").dt.normalize().dt.as_unit("us").to_numpy()


def book_membership(period: Period) -> pd.DataFrame:
    """customer_id, manager_id (int64): each customer's book for the period (module docstring rule)."""
    start, end = _instant(period.start), _instant(period.end)
    overlapping = (
        AccountAssignment.objects.filter(started_at__lt=end)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start))
        .order_by("customer_id", "started_at", "id")
        .values_list("customer_id", "manager_id")
    )
    frame = _fetch(overlapping, ["customer_id", "manager_id"])
    # Sorted by start in SQL: the first row of each customer is their earliest overlapping assignment.
    first = frame.drop_duplicates("customer_id", keep="first")
    return pd.DataFrame(
        {
            "customer_id": first["customer_id"].to_numpy(dtype="int64"),
            "manager_id": first["manager_id"].to_numpy(dtype="int64"),
        }
    )


def period_daily_frame(period: Period, *, window_days: int) -> pd.DataFrame:
    """The daily frame of metrics.analytics (customer_id, day, amount, purchase_amount) for the days
    the period's figures look at: activity at s and at e (W days up to each, e included) and the
    equally long period before s that net revenue retention compares with."""
    length = period.end - period.start
    first_day = min(period.start - timedelta(days=window_days - 1), period.start - length)
    positive = Case(
        When(net_amount__gt=0, then=F("net_amount")),
        default=Value(0),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    rows = (
        Order.objects.filter(ordered_at__gte=_instant(first_day), ordered_at__lt=as_of_cutoff(period.end))
        .annotate(day=TruncDate("ordered_at", tzinfo=workspace_tz()))
        .values("customer_id", "day")
        .annotate(amount_sum=Cast(Sum("net_amount"), FloatField()), purchase_sum=Cast(Sum(positive), FloatField()))
        .order_by()
        .values_list("customer_id", "day", "amount_sum", "purchase_sum")
    )
    frame = _fetch(rows, ["customer_id", "day", "amount", "purchase_amount"])
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy(dtype="int64"),
            "day": _days(frame["day"]),
            "amount": frame["amount"].to_numpy(dtype=float),
            "purchase_amount": frame["purchase_amount"].to_numpy(dtype=float),
        }
    )


def first_purchases(*, up_to: date) -> pd.Series:
    """Day of each customer's first purchase (net amount > 0) up to and including ``up_to``, by customer_id;
    customers without one are absent. One GROUP BY over the order history."""
    rows = (
        Order.objects.filter(net_amount__gt=0, ordered_at__lt=as_of_cutoff(up_to))
        .values("customer_id")
        .annotate(first=Min(TruncDate("ordered_at", tzinfo=workspace_tz())))
        .order_by()
        .values_list("customer_id", "first")
    )
    frame = _fetch(rows, ["customer_id", "first"])
    index = pd.Index(frame["customer_id"].to_numpy(dtype="int64"), name="customer_id")
    return pd.Series(_days(frame["first"]), index=index)


# --- Figures (pure pandas) ----------------------------------------------------------------------


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


def _figures(manager_id: int | None, sums: pd.Series) -> BookFigures:
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


def customer_period_flags(
    *,
    period: Period,
    customers: np.ndarray,
    daily: pd.DataFrame,
    first_purchase: pd.Series,
    upsold: np.ndarray,
    window_days: int,
) -> pd.DataFrame:
    """One row per customer (indexed by ``customers``) with what the figures sum: customers (1),
    active_start, active_end, retained (0/1), revenue and revenue_before (net, in [s, e) and in the
    equally long period before), kept_revenue and kept_revenue_before (the same, for customers active at
    s: net revenue retention's numerator and denominator), revenue_existing (revenue when the first
    purchase is before s), buyers (a purchase by the last day) and upsold (0/1).

    Activity follows metrics.analytics.rates (active_customers); period_rates gives the same figures
    on the same rows, customer set by customer set (a test checks it).
    """
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)
    index = pd.Index(customers, name="customer_id")
    at_start = index.isin(rates.active_customers(daily, at=start, window_days=window_days))
    at_end = index.isin(rates.active_customers(daily, at=end, window_days=window_days))
    day = pd.to_datetime(daily["day"])
    amounts = daily["amount"].astype(float)
    revenue = amounts[(day >= start) & (day < end)].groupby(daily["customer_id"]).sum().reindex(index, fill_value=0.0)
    before = amounts[(day >= start - (end - start)) & (day < start)].groupby(daily["customer_id"]).sum()
    before = before.reindex(index, fill_value=0.0)
    first = first_purchase.reindex(index)
    existing = (first < start).to_numpy()
    return pd.DataFrame(
        {
            "customers": 1,
            "active_start": at_start.astype(int),
            "active_end": at_end.astype(int),
            "retained": (at_start & at_end).astype(int),
            "revenue": revenue.to_numpy(),
            "revenue_before": before.to_numpy(),
            "kept_revenue": np.where(at_start, revenue.to_numpy(), 0.0),
            "kept_revenue_before": np.where(at_start, before.to_numpy(), 0.0),
            "revenue_existing": np.where(existing, revenue.to_numpy(), 0.0),
            "buyers": (first <= pd.Timestamp(period.last_day)).to_numpy().astype(int),
            "upsold": index.isin(upsold).astype(int),
        },
        index=index,
    )


def book_figures(
    *, flags: pd.DataFrame, membership: pd.DataFrame, managers: list[int] | None = None
) -> tuple[BookFigures, list[BookFigures]]:
    """(whole base, one BookFigures per manager of ``membership`` (only ``managers`` when given), by id).

    ``flags``: customer_period_flags of the whole base; ``membership``: customer_id, manager_id.
    Sums by book in one groupby: no loop over customers, nor over managers.
    """
    base = _figures(None, flags.sum())
    if managers is not None:
        membership = membership[membership["manager_id"].isin(managers)]
    books = flags.join(membership.set_index("customer_id"), how="inner").groupby("manager_id").sum()
    return base, [_figures(int(manager_id), sums) for manager_id, sums in books.iterrows()]


# --- The report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookRow:
    name: str
    figures: BookFigures


@dataclass(frozen=True)
class BookReport:
    period: Period
    window_days: int
    base: BookFigures
    rows: list[BookRow]


def book_performance_allowed(user) -> bool:
    return roles.has_any_role(user)


def book_managers_visible(user) -> list[int] | None:
    """None: every book; else the ids of the books ``user`` may see (an account manager: their own,
    every book with ACCOUNT_MANAGERS_SEE_ALL_BOOKS)."""
    return None if roles.sees_every_book(user) else [user.pk]


def book_performance(*, user, period: Period) -> BookReport:
    """The report ``user`` may see for ``period``: the whole base and the visible books."""
    window_days = int(metrics_conf.get("ACTIVITY_WINDOW_DAYS"))
    customer_rollups_drain()  # upsell days of an import's customers still being refreshed
    customers = _fetch(Customer.objects.order_by().values_list("id"), ["id"])["id"].to_numpy(dtype="int64")
    flags = customer_period_flags(
        period=period,
        customers=customers,
        daily=period_daily_frame(period, window_days=window_days),
        first_purchase=first_purchases(up_to=period.last_day),
        upsold=customer_upsell_days(as_of=period.last_day).index.to_numpy(dtype="int64"),
        window_days=window_days,
    )
    base, books = book_figures(flags=flags, membership=book_membership(period), managers=book_managers_visible(user))
    users = get_user_model().objects.in_bulk([b.manager_id for b in books])
    rows = [BookRow(_user_name(users.get(b.manager_id)), b) for b in books]
    rows.sort(key=lambda row: row.name.lower())
    return BookReport(period=period, window_days=window_days, base=base, rows=rows)


def _user_name(user) -> str:
    if user is None:
        return "?"
    return user.get_full_name() or user.get_username()


# --- Reassigning customers between books --------------------------------------------------------


def book_reassign_candidates(*, from_manager, risk_level: str = "", value_level: str = "", country: str = ""):
    """Active customers of ``from_manager``'s book matching the filters, by primary key."""
    customers = Customer.objects.filter(account_manager=from_manager, archived_at__isnull=True)
    if risk_level:
        customers = customers.filter(metrics__risk_level=risk_level)
    if value_level:
        customers = customers.filter(metrics__value_level=value_level)
    if country:
        customers = customers.filter(country=country)
    return customers.order_by("pk")


@transaction.atomic
def book_reassign(*, customer_ids: list[int], from_manager, to_manager, at: datetime | None = None) -> int:
    """Move the customers (still in ``from_manager``'s book) to ``to_manager`` through
    customers.services.customer_reassign, which closes each assignment and opens the next, so
    history is kept. Rows are locked in primary-key order, as every bulk writer does, to avoid
    deadlocks. Returns how many moved; customers that left the book meanwhile are skipped."""
    if len(customer_ids) > REASSIGN_LIMIT:
        raise ValueError(f"at most {REASSIGN_LIMIT} customers per reassignment")
    at = at or timezone.now()
    customers = (
        Customer.objects.select_for_update().filter(pk__in=customer_ids, account_manager=from_manager).order_by("pk")
    )
    moved = 0
    for customer in customers:
        customer_reassign(customer=customer, manager=to_manager, at=at)
        moved += 1
    return moved
