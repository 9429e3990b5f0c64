"""Reads of the metrics app: the SQL loaders that feed metrics.analytics, and the reads the
dashboards and the API make (scoped by customers.selectors.customer_visible_to).

Loaders return DataFrames with documented columns, aggregated in SQL as far as SQL goes. The SQL
comes from the ORM (TruncDate in the workspace time zone is the one vendor-specific piece, and
Django writes it for PostgreSQL and SQLite alike); on PostgreSQL the rows are streamed with COPY,
which is several times faster than fetching millions of tuples through the driver.
"""

from __future__ import annotations

import hashlib
import io
import zoneinfo
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.db.models import Avg, Count, Max, Min, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg2.extensions import adapt

from customers import roles
from customers.models import AccountAssignment, Customer, CustomerDay, CustomerFirstPurchase, CustomerUpsell
from customers.rollups import customer_rollups_drain
from customers.selectors import account_manager_list, customers_visible_filter
from retention_crm import dates, lists, risk_signals

from . import conf, pgbinary
from . import reasons as reasons_module
from .analytics import book
from .analytics.scoring import sort_daily
from .models import BookRange, BookSums, CustomerMetrics, MetricSnapshot, ModelVersion, RecomputeRun

# Rows fetched per round trip on the non-COPY path (SQLite): ~100,000 small tuples are a few MB.
FETCH_ROWS = 100_000

DAILY_COLUMNS = ("customer_id", "day", "amount", "purchase_amount")


# --- Loaders for the recompute -------------------------------------------------------------------


def workspace_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def as_of_cutoff(as_of: date) -> datetime:
    """The first instant after `as_of` in the workspace time zone: data up to as_of is ordered_at < this."""
    return datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=workspace_tz())


def _frame(queryset: QuerySet, columns: tuple[str, ...], dtype: dict | None = None) -> pd.DataFrame:
    """Run an ORM `values_list` query and return its rows as a DataFrame with `columns`: raw driver values,
    or on PostgreSQL the CSV text read with `dtype` (columns not in it stay strings, NULL is NaN)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            query = cursor.mogrify(sql, params).decode()
            cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", buffer)
            buffer.seek(0)
            if buffer.getvalue() == "":
                return pd.DataFrame({name: [] for name in columns})
            types = {name: (dtype or {}).get(name, str) for name in columns}
            return pd.read_csv(buffer, header=None, names=list(columns), dtype=types)
        cursor.execute(sql, params)
        rows: list = []
        while batch := cursor.fetchmany(FETCH_ROWS):
            rows.extend(batch)
    return pd.DataFrame.from_records(rows, columns=list(columns))


def _dates(values: pd.Series) -> pd.Series:
    """Dates as SQL returns them (date objects, or ISO text from SQLite and COPY) as datetime64 at midnight."""
    values = pd.Series(values)
    text = len(values) > 0 and isinstance(values.iloc[0], str)
    parsed = pd.to_datetime(values, format="ISO8601") if text else pd.to_datetime(values)
    return parsed.dt.normalize().dt.as_unit("us")


def _floats(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values).astype(float).to_numpy()


def _ints(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values).astype("int64").to_numpy()


def _customer_days(as_of: date, *, customer_id_from=None, customer_id_to=None, customer_id=None) -> QuerySet:
    """CustomerDay rows from 1970 up to `as_of`: the orders' day totals, kept up to date by
    customers.rollups. A day outside retention_crm.dates' window (a row older than the checks, or
    dated in the future) is not read: every daily series starts in 1970 at the earliest."""
    days = CustomerDay.objects.filter(day__gte=dates.EARLIEST, day__lte=as_of)
    if customer_id is not None:
        days = days.filter(customer_id=customer_id)
    if customer_id_from is not None:
        days = days.filter(customer_id__gte=customer_id_from)
    if customer_id_to is not None:
        days = days.filter(customer_id__lt=customer_id_to)
    # In primary-key order: PostgreSQL reads the index in order at no extra cost, and the recompute
    # then need not sort ten million rows (analytics.scoring.sort_daily finds them sorted).
    return days.order_by("customer_id", "day")


def _copy_binary(queryset: QuerySet, columns: tuple[tuple[str, str, str], ...]) -> np.ndarray:
    """The rows of `queryset` through PostgreSQL's binary COPY, as one numpy record array (pgbinary):
    `columns` are (name, SQL expression over the queryset's columns, PostgreSQL type); the
    expressions keep every value fixed-width and NOT NULL."""
    sql, params = queryset.query.sql_with_params()
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        inner = cursor.mogrify(sql, params).decode()
        select = ", ".join(f"{expression} AS {name}" for name, expression, _type in columns)
        query = f"SELECT {select} FROM ({inner}) AS rows"  # noqa: S608 - the ORM's own SQL and constant expressions
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
    return pgbinary.decode([(name, pg_type) for name, _e, pg_type in columns], buffer.getbuffer())


def _day_numbers(values: np.ndarray) -> np.ndarray:
    """datetime64[us] at midnight from day numbers (days since 1970-01-01)."""
    return values.astype("int64").astype("datetime64[D]").astype("datetime64[us]")


def _daily_binary(days: QuerySet) -> pd.DataFrame:
    """The daily frame through PostgreSQL's binary COPY: ten million rows arrive as one numpy array."""
    rows = _copy_binary(
        days.values_list("customer_id", "day", "amount", "purchase_amount"),
        (
            ("customer_id", "customer_id::int8", "int8"),
            ("day", "(day - DATE '1970-01-01')::int4", "int4"),
            ("amount", "amount::float8", "float8"),
            ("purchase_amount", "purchase_amount::float8", "float8"),
        ),
    )
    return pd.DataFrame(
        {
            "customer_id": rows["customer_id"].astype("int64"),
            "day": _day_numbers(rows["day"]),
            "amount": rows["amount"].astype("float64"),
            "purchase_amount": rows["purchase_amount"].astype("float64"),
        },
        copy=False,  # the arrays are new: stacking them into one block would copy 300 MB for nothing
    )


def _daily_binary_in_parts(as_of: date, parts: int) -> pd.DataFrame:
    """_daily_binary of every customer, as `parts` ranges of customer ids read at once over as many
    connections: PostgreSQL formats each range's rows in its own backend, on its own core. Outside
    a transaction only (other connections would not see its rows)."""
    bounds = CustomerDay.objects.aggregate(low=Min("customer_id"), high=Max("customer_id"))
    if bounds["low"] is None:
        return _daily_binary(_customer_days(as_of))
    edges = np.linspace(bounds["low"], bounds["high"] + 1, parts + 1).round().astype("int64").tolist()

    def part(low: int, high: int) -> pd.DataFrame:
        try:
            return _daily_binary(_customer_days(as_of, customer_id_from=low, customer_id_to=high))
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=parts, thread_name_prefix="metrics-load") as executor:
        frames = list(executor.map(part, edges[:-1], edges[1:]))
    return pd.concat(frames, ignore_index=True)


def customer_daily_frame(
    *,
    as_of: date,
    customer_id_from: int | None = None,
    customer_id_to: int | None = None,
    customer_id: int | None = None,
) -> pd.DataFrame:
    """One row per (customer, calendar day in the workspace time zone) of orders up to `as_of`.

    Columns (the "daily" frame of metrics.analytics.summary): customer_id (int64), day (datetime64
    at midnight), amount (float: net sum of the day's orders, refunds included), purchase_amount
    (float: sum of the day's orders with net_amount > 0; > 0 marks a purchase day). Optionally only
    customers with customer_id_from <= id < customer_id_to, or one customer. Rows by customer, then day.

    Read from CustomerDay, the day totals customers.rollups keeps as orders are written, so that
    the nightly run reads one narrow row per customer and day instead of grouping every order.
    """
    days = _customer_days(
        as_of, customer_id_from=customer_id_from, customer_id_to=customer_id_to, customer_id=customer_id
    )
    whole = customer_id is None and customer_id_from is None and customer_id_to is None
    if connection.vendor == "postgresql" and whole and int(conf.LOAD_THREADS) > 1 and not connection.in_atomic_block:
        return _daily_binary_in_parts(as_of, int(conf.LOAD_THREADS))
    return _daily(days)


def _daily(days: QuerySet) -> pd.DataFrame:
    """The daily frame of the CustomerDay rows of ``days``, in its order (binary COPY on PostgreSQL)."""
    if connection.vendor == "postgresql":
        return _daily_binary(days)
    raw = _frame(days.values_list("customer_id", "day", "amount", "purchase_amount"), DAILY_COLUMNS)
    return pd.DataFrame(
        {
            "customer_id": _ints(raw["customer_id"]),
            "day": _dates(raw["day"]).to_numpy(),
            "amount": _floats(raw["amount"]),
            "purchase_amount": _floats(raw["purchase_amount"]),
        }
    )


def customer_days(*, customer_id: int, as_of: date) -> list[tuple[date, float, float]]:
    """One customer's (day, amount, purchase_amount) rows up to `as_of`, by day: the daily frame of
    one customer without a DataFrame, for the refresh after an order (primary key customer, day)."""
    return list(
        _customer_days(as_of, customer_id=customer_id).order_by("day").values_list("day", "amount", "purchase_amount")
    )


def customer_upsell_days(*, as_of: date) -> pd.Series:
    """Per customer_id, the first day (datetime64) they bought a product that was not in their first
    purchase (metrics.md "upsell"), for the customers upsold up to `as_of`; the others are absent.

    Read from CustomerUpsell, which customers.rollups keeps as orders are written: an upsell day is
    a fact of the past that later orders cannot change, so "upsold as of d" is "day <= d".
    """
    upsells = (
        CustomerUpsell.objects.filter(day__gte=dates.EARLIEST, day__lte=as_of)
        .order_by()
        .values_list("customer_id", "day")
    )
    if connection.vendor == "postgresql":
        rows = _copy_binary(
            upsells,
            (("customer_id", "customer_id::int8", "int8"), ("day", "(day - DATE '1970-01-01')::int4", "int4")),
        )
        ids, days = rows["customer_id"].astype("int64"), _day_numbers(rows["day"])
    else:
        pairs = list(upsells)
        ids = np.asarray([customer_id for customer_id, _day in pairs], dtype="int64")
        days = np.asarray([day for _id, day in pairs], dtype="datetime64[D]").astype("datetime64[us]")
    return pd.Series(days, index=pd.Index(ids, name="customer_id"), dtype="datetime64[us]")


def customer_frame(*, customer_id_from: int | None = None, customer_id_to: int | None = None) -> pd.DataFrame:
    """Every customer: customer_id (int64, sorted), country (str, "" when unknown)."""
    customers = Customer.objects.all()
    if customer_id_from is not None:
        customers = customers.filter(id__gte=customer_id_from)
    if customer_id_to is not None:
        customers = customers.filter(id__lt=customer_id_to)
    raw = _frame(
        customers.order_by("id").values_list("id", "country"), ("customer_id", "country"), {"customer_id": "int64"}
    )
    return pd.DataFrame({"customer_id": _ints(raw["customer_id"]), "country": raw["country"].fillna("").astype(str)})


def assignment_frame() -> pd.DataFrame:
    """Account assignments: customer_id, manager_id (int64), started_at, ended_at (naive datetime64 in the
    workspace time zone; ended_at NaT while open), so book figures of past periods use past books."""
    rows = AccountAssignment.objects.order_by().values_list("customer_id", "manager_id", "started_at", "ended_at")
    tz = workspace_tz()
    if connection.vendor == "postgresql":
        # Wall-clock times in the workspace time zone (timestamp without time zone); an open
        # assignment's ended_at as 'infinity', read back as NaT.
        zone = adapt(settings.TIME_ZONE).getquoted().decode()

        def local(column: str) -> str:
            return f"COALESCE({column} AT TIME ZONE {zone}, 'infinity'::timestamp)"

        raw = _copy_binary(
            rows,
            (
                ("customer_id", "customer_id::int8", "int8"),
                ("manager_id", "manager_id::int8", "int8"),
                ("started_at", local("started_at"), "timestamp"),
                ("ended_at", local("ended_at"), "timestamp"),
            ),
        )

        return pd.DataFrame(
            {
                "customer_id": raw["customer_id"].astype("int64"),
                "manager_id": raw["manager_id"].astype("int64"),
                "started_at": _timestamps(raw["started_at"]),
                "ended_at": _timestamps(raw["ended_at"]),
            }
        )
    raw = _frame(rows, ("customer_id", "manager_id", "started_at", "ended_at"))

    def local(values: pd.Series) -> pd.Series:
        parsed = pd.to_datetime(values, format="ISO8601", utc=True)
        return parsed.dt.tz_convert(tz).dt.tz_localize(None).dt.as_unit("us")

    return pd.DataFrame(
        {
            "customer_id": _ints(raw["customer_id"]),
            "manager_id": _ints(raw["manager_id"]),
            "started_at": local(raw["started_at"]),
            "ended_at": local(raw["ended_at"]),
        }
    )


# --- Reads for the dashboards and the API --------------------------------------------------------


def snapshot_latest(*, kind: str, scope: str = "", as_of: date | None = None) -> MetricSnapshot | None:
    """The newest snapshot of `kind` for `scope` (optionally the newest with as_of <= `as_of`)."""
    snapshots = MetricSnapshot.objects.filter(kind=kind, scope=scope)
    if as_of is not None:
        snapshots = snapshots.filter(as_of__lte=as_of)
    return snapshots.order_by("-as_of", "-created_at").first()


def customer_metrics_for(*, customer: Customer) -> CustomerMetrics | None:
    return CustomerMetrics.objects.select_related("model_version").filter(customer=customer).first()


def customers_metrics_for(*, customer_ids) -> dict[int, CustomerMetrics]:
    """The metrics of many customers in one query, by customer id (those without metrics absent)."""
    rows = CustomerMetrics.objects.select_related("model_version").filter(customer_id__any=list(customer_ids))
    return {row.customer_id: row for row in rows}


def risk_explanation(*, metrics: CustomerMetrics) -> list[str]:
    """Plain-language reasons behind a customer's churn risk, most telling first (the sentences of
    ``metrics.reasons``, which the worklist's "Why now" uses too)."""
    if metrics.purchases == 0 or metrics.last_purchase is None:
        return [_("No purchase yet.")]
    reasons = [
        reasons_module.purchase_history_reason(
            purchases=metrics.purchases,
            last_purchase=metrics.last_purchase,
            usual_interval_days=metrics.usual_interval_days,
            today=timezone.localdate(),
        )
    ]
    change = reasons_module.risk_change_reason(before=metrics.previous_churn_risk, after=metrics.churn_risk)
    if change:
        reasons.append(change)
    if metrics.churn_risk is None:
        reasons.append(_("No churn risk yet: there is not enough purchase history to fit the model."))
    return reasons


def customer_risk_reasons(*, customer_id: int, metrics: CustomerMetrics | None) -> list[str]:
    """Why this customer may leave: the churn risk's reasons (``risk_explanation``, when scored),
    then what other apps know (``retention_crm.risk_signals``: a recent detractor answer, an
    overdue complaint). The caller has checked that the user may see the customer."""
    reasons = risk_explanation(metrics=metrics) if metrics is not None else []
    return reasons + risk_signals.reasons_for(customer_id, today=timezone.localdate())


def model_version_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.order_by("-created_at", "-id")


def model_version_current() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_current=True).first()


def recompute_run_latest() -> RecomputeRun | None:
    return RecomputeRun.objects.select_related("model_version", "created_by").order_by("-created_at", "-id").first()


def recompute_run_get(*, run_id: int) -> RecomputeRun:
    return RecomputeRun.objects.select_related("model_version", "created_by").get(pk=run_id)


def dashboard_scopes(*, user) -> dict:
    """What `user` may filter the dashboards by.

    ``{"countries": ["GB", ...], "managers": [{"id": 3, "name": "Alice Smith"}, ...],
    "scopes": [("", "Whole workspace"), ("country:GB", "GB"), ("manager:3", "Alice Smith"), ...]}``;
    the scope keys are MetricSnapshot.scope values, the first one is the default. Workspace and
    country figures cover every book, so an account manager who sees only their own book
    (customer_visible_to) gets that book alone. Anyone without a role gets nothing.
    """
    if not roles.has_any_role(user):
        return {"countries": [], "managers": [], "scopes": []}
    if roles.sees_every_book(user):
        countries = lists.distinct_values(Customer.objects.all(), "country", after="")
        managers = list(account_manager_list())
        scopes = [("", _("Whole workspace"))] + [(f"country:{country}", country) for country in countries]
    else:
        countries, managers, scopes = [], [user], []
    manager_rows = [{"id": m.pk, "name": m.get_full_name() or m.get_username()} for m in managers]
    scopes += [(f"manager:{row['id']}", row["name"]) for row in manager_rows]
    return {"countries": countries, "managers": manager_rows, "scopes": scopes}


def default_scope(*, user) -> str:
    """The workspace, or an account manager's own book when that is all they may see."""
    return "" if roles.sees_every_book(user) else f"manager:{user.pk}"


def scope_allowed(*, user, scope: str) -> bool:
    """Whether `user` may read snapshots of `scope` (see dashboard_scopes)."""
    if not roles.has_any_role(user):
        return False
    return roles.sees_every_book(user) or scope == f"manager:{user.pk}"


def customer_metrics_visible_to(user) -> QuerySet[CustomerMetrics]:
    """CustomerMetrics of the customers `user` may see (customer_visible_to: the one rule). A book
    stays a subquery: read in customer order (the list's), its customers lead to their figures."""
    return CustomerMetrics.objects.filter(customers_visible_filter(user, ids_up_to=0))


def customer_metrics_list(*, user, filters: dict | None = None) -> QuerySet[CustomerMetrics]:
    """Visible CustomerMetrics with the customer joined, filtered by rfm_segment, risk_level,
    value_level, pareto_top (bool), country, manager_id (the current account manager)."""
    filters = filters or {}
    metrics = customer_metrics_visible_to(user).select_related("customer", "customer__account_manager")
    for name in ("rfm_segment", "risk_level", "value_level", "pareto_top"):
        if filters.get(name) not in (None, ""):
            metrics = metrics.filter(**{name: filters[name]})
    if filters.get("country"):
        metrics = metrics.filter(customer__country=filters["country"])
    if filters.get("manager_id"):
        metrics = metrics.filter(customer__account_manager_id=filters["manager_id"])
    return metrics


def customer_metrics_get(*, user, customer_id: int) -> CustomerMetrics:
    """One visible customer's metrics, or CustomerMetrics.DoesNotExist (a 404, never a 403)."""
    return customer_metrics_list(user=user).select_related("model_version").get(customer_id=customer_id)


# The figures of a segment sum up to a million rows (0.3 to 0.7 s at a million customers): the
# dashboard keeps them this long per scope and filter, a recompute starts them afresh (and computes
# those of every scope at once, segment_summaries_warm), and the page says when they were computed,
# so per-customer refreshes show within the hour.
SEGMENT_SUMMARY_CACHE_SECONDS = 60 * 60


def segment_metrics_summary_cached(*, user, **filters) -> dict:
    """``segment_metrics_summary`` computed at most SEGMENT_SUMMARY_CACHE_SECONDS ago, with
    ``computed_at``: per the customers the user may see, the filters and the latest recompute."""
    run = RecomputeRun.objects.filter(status=RecomputeRun.Status.SUCCEEDED).order_by("-id").values_list("pk")
    whose = "every book" if roles.sees_every_book(user) else f"book {user.pk}"
    words = [str(run.first()), whose, *(f"{name}={value}" for name, value in sorted(filters.items()) if value)]
    key = "metrics.segment_summary:" + hashlib.sha256("|".join(words).encode()).hexdigest()
    figures = cache.get(key)
    if figures is None:
        figures = {**segment_metrics_summary(user=user, **filters), "computed_at": timezone.now()}
        cache.set(key, figures, SEGMENT_SUMMARY_CACHE_SECONDS)
    return figures


def segment_summaries_warm() -> int:
    """After a recompute: the unfiltered segment figures of every dashboard scope (the workspace,
    each country, each book, and each account manager's own view), so that nobody waits for them.
    Returns how many were computed."""
    from django.contrib.auth import get_user_model

    # Someone who sees every book, as administrators do; never saved.
    everyone = get_user_model()(is_superuser=True)
    scopes = dashboard_scopes(user=everyone)
    views = [(everyone, {})]
    views += [(everyone, {"country": country}) for country in scopes["countries"]]
    views += [(everyone, {"manager_id": row["id"]}) for row in scopes["managers"]]
    views += [(manager, {"manager_id": manager.pk}) for manager in account_manager_list()]
    for user, filters in views:
        segment_metrics_summary_cached(user=user, **filters)
    return len(views)


def segment_metrics_summary(
    *,
    user,
    rfm_segment: str | None = None,
    value_level: str | None = None,
    risk_level: str | None = None,
    country: str | None = None,
    manager_id: int | None = None,
) -> dict:
    """Aggregates over the visible customers matching the filter, in one SQL query:
    ``{"customers", "with_purchase", "total_clv", "avg_clv" (predicted, over customers that have one),
    "total_net_revenue", "avg_net_revenue", "total_revenue_12m", "avg_churn_risk", "at_high_risk"}``.
    Averages are None when no customer has the figure; sums of nothing are 0."""
    metrics = customer_metrics_list(
        user=user,
        filters={
            "rfm_segment": rfm_segment,
            "value_level": value_level,
            "risk_level": risk_level,
            "country": country,
            "manager_id": manager_id,
        },
    ).select_related(None)
    figures = metrics.aggregate(
        customers=Count("pk"),
        with_purchase=Count("pk", filter=Q(purchases__gt=0)),
        total_clv=Sum("predicted_clv"),
        avg_clv=Avg("predicted_clv"),
        total_net_revenue=Sum("net_revenue"),
        avg_net_revenue=Avg("net_revenue", filter=Q(purchases__gt=0)),
        total_revenue_12m=Sum("revenue_12m"),
        avg_churn_risk=Avg("churn_risk"),
        at_high_risk=Count("pk", filter=Q(risk_level="high")),
    )
    for name in ("total_clv", "total_net_revenue", "total_revenue_12m"):
        figures[name] = float(figures[name] or 0)
    for name in ("avg_clv", "avg_net_revenue", "avg_churn_risk"):
        figures[name] = None if figures[name] is None else float(figures[name])
    return figures


# --- Book performance ------------------------------------------------------------------------------
# Definitions: metrics.analytics.book. The nightly run keeps each book's sums for the periods the
# picker offers (BookSums, metrics.services.book); any other period is computed here on the spot.


@dataclass(frozen=True)
class BookRow:
    name: str
    figures: book.BookFigures


@dataclass(frozen=True)
class BookReport:
    period: book.Period
    window_days: int
    base: book.BookFigures
    rows: list[BookRow]
    computed_at: datetime  # when the sums were computed (by the nightly run, or for this request)


def _instant(day: date) -> datetime:
    """The first instant of ``day`` in the workspace time zone."""
    return datetime.combine(day, time.min, tzinfo=workspace_tz())


def _utc(instant: datetime) -> np.datetime64:
    """An aware instant as naive UTC datetime64[us], the clock of book_assignments."""
    return np.datetime64(instant.astimezone(UTC).replace(tzinfo=None), "us")


def period_instants(period: book.Period) -> tuple[np.datetime64, np.datetime64]:
    """The first instants of the period's first day and of the day after it, as book_assignments' clock."""
    return _utc(_instant(period.start)), _utc(_instant(period.end))


def book_assignments(*, overlapping: book.Period | None = None) -> pd.DataFrame:
    """Account assignments (book.ASSIGNMENT_COLUMNS): id, customer_id, manager_id (int64), started_at,
    ended_at (naive UTC datetime64[us], exact instants; ended_at NaT while open); only those
    overlapping a period when given (the rule of book.book_membership, applied in SQL first)."""
    rows = AccountAssignment.objects.order_by()
    if overlapping is not None:
        start, end = _instant(overlapping.start), _instant(overlapping.end)
        rows = rows.filter(started_at__lt=end).filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start))
    rows = rows.values_list("id", "customer_id", "manager_id", "started_at", "ended_at")
    if connection.vendor == "postgresql":

        def utc(column: str) -> str:
            return f"COALESCE({column} AT TIME ZONE 'UTC', 'infinity'::timestamp)"

        raw = _copy_binary(
            rows,
            (
                ("id", "id::int8", "int8"),
                ("customer_id", "customer_id::int8", "int8"),
                ("manager_id", "manager_id::int8", "int8"),
                ("started_at", utc("started_at"), "timestamp"),
                ("ended_at", utc("ended_at"), "timestamp"),
            ),
        )
        columns = {name: raw[name].astype("int64") for name in ("id", "customer_id", "manager_id")}
        return pd.DataFrame(
            {**columns, "started_at": _timestamps(raw["started_at"]), "ended_at": _timestamps(raw["ended_at"])}
        )
    raw = _frame(rows, book.ASSIGNMENT_COLUMNS)

    def naive_utc(values: pd.Series) -> pd.Series:
        return pd.to_datetime(values, format="ISO8601", utc=True).dt.tz_localize(None).dt.as_unit("us")

    return pd.DataFrame(
        {
            "id": _ints(raw["id"]),
            "customer_id": _ints(raw["customer_id"]),
            "manager_id": _ints(raw["manager_id"]),
            "started_at": naive_utc(raw["started_at"]),
            "ended_at": naive_utc(raw["ended_at"]),
        }
    )


def _timestamps(values: np.ndarray) -> np.ndarray:
    """pgbinary timestamps (microseconds since 2000-01-01, 'infinity' for none) as datetime64[us], NaT for none."""
    values = values.astype("int64")
    none = values == pgbinary.TIMESTAMP_INFINITY
    micros = np.where(none, np.iinfo("int64").min, values + np.where(none, 0, pgbinary.TIMESTAMP_EPOCH_MICROS))
    return micros.astype("datetime64[us]")


def book_membership(period: book.Period) -> pd.DataFrame:
    """customer_id, manager_id (int64): each customer's book for ``period`` (book.book_membership)."""
    start, end = period_instants(period)
    return book.book_membership(book_assignments(overlapping=period), start=start, end=end)


def period_daily_frame(period: book.Period, *, window_days: int) -> pd.DataFrame:
    """The daily frame (customer_day rows, see customer_daily_frame) of the days the period's figures
    look at: activity at s and at e (W days up to each, e included) and the equally long period before
    s that net revenue retention compares with. Rows by customer, then day: read as a range of the
    index on the day (customer_day_by_day, without the table), then sorted by numpy (sort_daily), a
    few times faster than PostgreSQL sorting millions of rows."""
    return sort_daily(_daily(period_days(period, window_days=window_days)))


def period_days(period: book.Period, *, window_days: int) -> QuerySet[CustomerDay]:
    """The CustomerDay rows of period_daily_frame, in no order."""
    first_day = book.period_first_day(period, window_days=window_days)
    return CustomerDay.objects.filter(day__gte=max(first_day, dates.EARLIEST), day__lte=period.end).order_by()


def first_purchases(*, up_to: date) -> pd.Series:
    """Day of each customer's first purchase (a day with purchase_amount > 0) up to and including
    ``up_to`` (datetime64), by customer_id; customers without one are absent. Read from
    CustomerFirstPurchase, which customers.rollups keeps with the day totals; a day outside
    retention_crm.dates' window is not read, as _customer_days reads none."""
    rows = (
        CustomerFirstPurchase.objects.filter(day__gte=dates.EARLIEST, day__lte=up_to)
        .order_by()
        .values_list("customer_id", "day")
    )
    if connection.vendor == "postgresql":
        raw = _copy_binary(
            rows,
            (("customer_id", "customer_id::int8", "int8"), ("day", "(day - DATE '1970-01-01')::int4", "int4")),
        )
        ids, days = raw["customer_id"].astype("int64"), _day_numbers(raw["day"])
    else:
        raw = _frame(rows, ("customer_id", "day"))
        ids, days = _ints(raw["customer_id"]), _dates(raw["day"]).to_numpy()
    return pd.Series(days, index=pd.Index(ids, name="customer_id"), dtype="datetime64[us]")


def customer_ids() -> np.ndarray:
    """Every customer's id (int64), ascending: the whole base of book performance."""
    ids = Customer.objects.order_by("id").values_list("id")
    if connection.vendor == "postgresql":
        return _copy_binary(ids, (("id", "id::int8", "int8"),))["id"].astype("int64")
    return _ints(_frame(ids, ("id",))["id"])


# The loads of book_period_sums, each reported to its ``progress`` as it ends, and the sums.
BOOK_PERIOD_STEPS = 6


def book_period_sums(
    period: book.Period, *, window_days: int, progress: Callable[[int], None] | None = None
) -> tuple[pd.Series, pd.DataFrame]:
    """The whole base's sums and each book's (book.book_sums), computed now from the rollups: what
    the nightly run stores, for a period it did not store. Reads the period's days, every customer's
    first purchase and upsell day, and the assignments overlapping the period. ``progress`` is
    called with the number of steps done (of BOOK_PERIOD_STEPS) after each.

    Each customer's activity comes from the nightly run's own function on the period's daily frame
    (book.period_activity on period_daily_frame): the same doubles added in the same order, so the
    same sums to the last bit. (PostgreSQL summing the days per customer took as long at a million
    customers, 13 s for 100 days, and differed in the last binary digit for one customer in ten.)"""
    steps = iter(range(1, BOOK_PERIOD_STEPS + 1))

    def step(value):
        if progress is not None:
            progress(next(steps))
        return value

    customer_rollups_drain()  # day totals and upsell days of an import's customers still being refreshed
    start, end = period_instants(period)
    customers = step(customer_ids())
    daily = period_daily_frame(period, window_days=window_days)
    activity = step(book.period_activity(daily, period=period, window_days=window_days))
    del daily  # a few hundred MB at a million customers, not needed for the rest
    first_purchase = step(first_purchases(up_to=period.last_day))
    upsell_days = step(customer_upsell_days(as_of=period.last_day))
    assignments = step(book_assignments(overlapping=period))
    sums = book.period_book_sums(
        period,
        customers=customers,
        activity=activity,
        first_purchase=first_purchase,
        upsell_days=upsell_days,
        assignments=assignments,
        start_instant=start,
        end_instant=end,
        window_days=window_days,
    )
    return step(sums)


# A custom range's sums (seconds to compute at a million customers: a range of days of every
# customer) are kept this long per range, like the dashboard's segment figures: the report says
# when they were computed, and a refresh of the stored sums (after each recompute) starts afresh.
BOOK_RANGE_CACHE_SECONDS = 60 * 60


def book_period_sums_cached(period: book.Period, *, window_days: int) -> tuple[pd.Series, pd.DataFrame, datetime]:
    """``book_period_sums`` computed at most BOOK_RANGE_CACHE_SECONDS ago, and when: per range,
    window and refresh of the stored sums (a user sees their books of the same sums)."""
    words = [period.start.isoformat(), period.end.isoformat(), str(window_days), str(book_sums_epoch())]
    key = "metrics.book_range:" + hashlib.sha256("|".join(words).encode()).hexdigest()
    sums = cache.get(key)
    if sums is None:
        sums = (*book_period_sums(period, window_days=window_days), timezone.now())
        cache.set(key, sums, BOOK_RANGE_CACHE_SECONDS)
    return sums


def book_sums_stored(period: book.Period, *, window_days: int) -> tuple[pd.Series, pd.DataFrame, datetime] | None:
    """The sums the nightly run stored for ``period`` (base, books by manager_id, when computed), or None."""
    rows = list(
        BookSums.objects.filter(start=period.start, end=period.end, window_days=window_days).values(
            "manager_id", "computed_at", *book.SUM_COLUMNS
        )
    )
    base = [row for row in rows if row["manager_id"] is None]
    if not base:
        return None
    books = pd.DataFrame(
        [row for row in rows if row["manager_id"] is not None], columns=["manager_id", *book.SUM_COLUMNS]
    )
    books = books.astype({"manager_id": "int64", **book.SUM_DTYPES}).set_index("manager_id")
    return pd.Series({name: base[0][name] for name in book.SUM_COLUMNS}), books, base[0]["computed_at"]


def book_managers_visible(user) -> list[int] | None:
    """None: every book; else the ids of the books ``user`` may see (an account manager: their own,
    unless they see every book)."""
    return None if roles.sees_every_book(user) else [user.pk]


def book_performance(*, user, period: book.Period) -> BookReport:
    """The report ``user`` may see for ``period``: the whole base and the visible books, by name.

    From the sums the nightly run stored when it stored this period (every period of the picker),
    else computed now (or within the hour: book_period_sums_cached); the figures are the same
    either way (figures_from_sums on the same sums)."""
    window_days = int(conf.get("ACTIVITY_WINDOW_DAYS"))
    stored = book_sums_stored(period, window_days=window_days)
    if stored is None:
        stored = book_period_sums_cached(period, window_days=window_days)
    return book_report(user=user, period=period, window_days=window_days, sums=stored)


def book_sums_epoch() -> datetime | None:
    """When the stored sums were last refreshed (None before the first refresh): what a kept custom
    range's sums belong to (BookRange.sums_of)."""
    return BookSums.objects.aggregate(at=Max("computed_at"))["at"]


def book_range_live(period: book.Period, *, window_days: int) -> BookRange | None:
    """The job of ``period`` for the current stored sums that is waiting, running or done, if any."""
    return (
        BookRange.objects.filter(
            start=period.start,
            end=period.end,
            window_days=window_days,
            sums_of=book_sums_epoch(),
            status__in=[BookRange.Status.QUEUED, BookRange.Status.RUNNING, BookRange.Status.SUCCEEDED],
        )
        .order_by("-id")
        .first()
    )


def book_range_get(*, user, range_id: int) -> BookRange:
    """A custom range's job, for anyone who may see book performance (its sums are shown to each
    reader scoped to the books they may see); BookRange.DoesNotExist otherwise."""
    if not roles.has_any_role(user):
        raise BookRange.DoesNotExist
    return BookRange.objects.get(pk=range_id)


def book_range_sums(job: BookRange) -> tuple[pd.Series, pd.DataFrame, datetime]:
    """A succeeded job's sums as book_sums_stored gives them: base, books by manager_id, when computed."""
    books = pd.DataFrame(
        [{"manager_id": int(manager_id), **sums} for manager_id, sums in job.sums["books"]],
        columns=["manager_id", *book.SUM_COLUMNS],
    )
    books = books.astype({"manager_id": "int64", **book.SUM_DTYPES}).set_index("manager_id")
    base = pd.Series({name: job.sums["base"][name] for name in book.SUM_COLUMNS})
    return base, books, job.finished_at


def book_report(
    *, user, period: book.Period, window_days: int, sums: tuple[pd.Series, pd.DataFrame, datetime]
) -> BookReport:
    """The report ``user`` may see of ``sums`` (base, books by manager_id, when computed): the whole
    base and the visible books, by name."""
    base, books, computed_at = sums
    visible = book_managers_visible(user)
    if visible is not None:
        books = books[books.index.isin(visible)]
    users = get_user_model().objects.in_bulk([int(manager_id) for manager_id in books.index])
    rows = [
        BookRow(_user_name(users.get(int(manager_id))), book.figures_from_sums(int(manager_id), book_sums))
        for manager_id, book_sums in books.iterrows()
    ]
    rows.sort(key=lambda row: row.name.lower())
    return BookReport(
        period=period,
        window_days=window_days,
        base=book.figures_from_sums(None, base),
        rows=rows,
        computed_at=computed_at,
    )


def _user_name(user) -> str:
    if user is None:
        return "?"
    return user.get_full_name() or user.get_username()
