"""The dashboard snapshots (MetricSnapshot.data, shapes in metrics/models.py): pure pandas/numpy.

Monthly rates for every scope at once: a customer's activity at each month boundary is computed
once as a boolean vector, and a scope's figure is a weighted bincount over (customer, scope) pairs.
That is how 24 months x (workspace + countries + account managers) stays a few seconds at a million
customers, where calling metrics.analytics.period_rates per month and scope would take minutes.
The figures follow period_rates' definitions exactly (tests/metrics/test_snapshots.py checks it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from ._common import to_day
from .book import Period, period_choices, period_previous
from .cohorts import cohort_retention
from .pareto import TRAILING_MONTHS, pareto_of_ranked, pareto_tier
from .rfm import SEGMENTS

# metrics.md: the summary compares the latest complete month with the one before; the time series
# shows two years, enough to see a seasonal pattern twice.
TIMESERIES_MONTHS = 24

# Three years of monthly cohorts fill a dashboard table; older cohorts matter little for retention work.
COHORT_LIMIT = 36

# A histogram of 20 bins reads well on a card; the top 1% goes into the last bin so that a few huge
# accounts do not squash everyone else into the first bar.
CLV_BINS = 20
CLV_TOP_QUANTILE = 0.99

NO_DAY = np.iinfo("int64").max

LEVELS = ("high", "medium", "low")
RISK_LEVELS = ("low", "medium", "high")


def _days(values) -> np.ndarray:
    """Day numbers (days since 1970-01-01) of datetime64 values; NaT becomes NO_DAY."""
    values = pd.to_datetime(pd.Series(values))
    out = values.to_numpy().astype("datetime64[D]").astype("int64")
    return np.where(values.isna().to_numpy(), NO_DAY, out)


def _day(timestamp) -> int:
    return int(np.datetime64(pd.Timestamp(timestamp).date(), "D").astype("int64"))


def _money(value: float | None) -> float | None:
    """Amounts to the cent: float sums carry noise like 238171.59999999995 that nobody should see."""
    return None if value is None else round(float(value), 2)


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else float(numerator) / float(denominator)


def clean(value):
    """JSON-safe: numpy scalars to Python, NaN and infinities to None, recursively."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class Grouping:
    """A family of scopes: `labels[g]` is a MetricSnapshot.scope; `pairs(start, end)` the (customer
    code, group code) pairs of the customers in each group during [start, end) (naive timestamps)."""

    labels: list[str]
    pairs: Callable[[pd.Timestamp, pd.Timestamp], tuple[np.ndarray, np.ndarray]]


def groupings(*, customer_ids: np.ndarray, countries: pd.Series, assignments: pd.DataFrame) -> list[Grouping]:
    """Workspace (""), one scope per country, one per account manager with an assignment."""
    n = len(customer_ids)
    everyone = (np.arange(n), np.zeros(n, dtype="int64"))
    result = [Grouping([""], lambda start, end: everyone)]

    country = countries.to_numpy(dtype=object)
    names = sorted({c for c in country if c})
    if names:
        known = country != ""
        codes = np.searchsorted(np.asarray(names, dtype=object), country[known])
        by_country = (np.flatnonzero(known), codes.astype("int64"))
        result.append(Grouping([f"country:{name}" for name in names], lambda start, end: by_country))

    if len(assignments):
        managers = np.unique(assignments["manager_id"].to_numpy())
        a_customer = np.searchsorted(customer_ids, assignments["customer_id"].to_numpy())
        a_manager = np.searchsorted(managers, assignments["manager_id"].to_numpy())
        started = assignments["started_at"].to_numpy()
        ended = assignments["ended_at"].to_numpy()
        open_ = pd.isna(assignments["ended_at"]).to_numpy()
        # Only a customer with several assignments can be in one book twice in a period (assigned to
        # the same manager again): their pairs are made unique, everyone else's are taken as they are.
        repeated = np.bincount(a_customer, minlength=n)[a_customer] > 1

        def book(start: pd.Timestamp, end: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
            # In the book during [start, end): an assignment that overlaps the period.
            overlap = (started < np.datetime64(end)) & (open_ | (ended > np.datetime64(start)))
            single = overlap & ~repeated
            key = np.unique(a_customer[overlap & repeated] * len(managers) + a_manager[overlap & repeated])
            return (
                np.concatenate([a_customer[single], key // len(managers)]),
                np.concatenate([a_manager[single], key % len(managers)]),
            )

        result.append(Grouping([f"manager:{m}" for m in managers], book))
    return result


def _month_starts(as_of: date, months: int) -> list[pd.Timestamp]:
    """months + 1 boundaries: the first days of the months, the last one being as_of's month."""
    end = pd.Timestamp(as_of).normalize().replace(day=1)
    return [end - pd.DateOffset(months=months - i) for i in range(months + 1)]


def _day_order(day: np.ndarray) -> np.ndarray:
    """A stable argsort of day numbers: as 16-bit offsets when they fit (89 years), which numpy
    sorts by radix in linear time, several times faster than a 64-bit sort of ten million rows."""
    if day.size and int(day.max()) - int(day.min()) < 2**15:
        return np.argsort((day - day.min()).astype("int16"), kind="stable")
    return np.argsort(day, kind="stable")


def _grouped_in_order(code: np.ndarray, day: np.ndarray) -> bool:
    """Whether rows come by code, and by day within a code."""
    if code.size < 2:
        return code.size == 1
    same = code[1:] == code[:-1]
    return bool(np.all((code[1:] > code[:-1]) | (same & (day[1:] >= day[:-1]))))


def customer_codes(customer_ids: np.ndarray, row_ids: np.ndarray) -> np.ndarray:
    """Positions of `row_ids` in the sorted `customer_ids`. Rows grouped by customer (the loaders'
    order) are looked up once per customer, not once per row."""
    if row_ids.size < 2:
        return np.searchsorted(customer_ids, row_ids)
    starts = np.flatnonzero(np.r_[True, row_ids[1:] != row_ids[:-1]])
    if starts.size * 4 > row_ids.size:  # hardly any repeats: look every row up
        return np.searchsorted(customer_ids, row_ids)
    lengths = np.diff(np.r_[starts, row_ids.size])
    return np.repeat(np.searchsorted(customer_ids, row_ids[starts]), lengths)


def _day_numbers32(values: pd.Series) -> np.ndarray:
    """Day numbers (days since 1970-01-01) as int32 of a datetime64 column without NaT."""
    array = values.to_numpy()
    if array.dtype.kind != "M":
        array = pd.to_datetime(values).to_numpy()
    return array.astype("datetime64[D]").astype("int32")


def _sorted_days(day: np.ndarray) -> np.ndarray:
    """np.sort(day) for day numbers in a range of a few thousand days: counted, then repeated."""
    if day.size == 0:
        return day.copy()
    low = int(day.min())
    counts = np.bincount(day - low)
    return np.repeat(np.arange(low, low + counts.size, dtype=day.dtype), counts)


class _Population:
    """The daily frame as integer arrays keyed by customer code (position in customer_ids)."""

    def __init__(self, daily: pd.DataFrame, customer_ids: np.ndarray, upsell_days: pd.Series, window_days: int):
        self.n = len(customer_ids)
        self.window = window_days
        # 32-bit codes and day numbers: half the memory traffic of 64-bit ones over ten million rows.
        self.code = customer_codes(customer_ids, daily["customer_id"].to_numpy()).astype("int32")
        self.day = _day_numbers32(daily["day"])
        self.amount = daily["amount"].to_numpy(dtype=float)
        # The rows in day order, so that a period's revenue reads its own rows only; sorted day
        # numbers are a run of each day as often as it occurs, made without a gather.
        by_day = _day_order(self.day)
        self.sorted_day = _sorted_days(self.day)
        self.sorted_code, self.sorted_amount = self.code[by_day], self.amount[by_day]
        bought = daily["purchase_amount"].to_numpy(dtype=float) > 0
        self.p_code = self.code[bought]
        self.p_day = self.day[bought]
        # The purchase days in day order too, so that "active at d" reads the window's rows only.
        self.p_sorted_day = _sorted_days(self.p_day)
        self.p_sorted_code = self.sorted_code[bought[by_day]]
        self.first = np.full(self.n, NO_DAY, dtype="int64")
        if _grouped_in_order(self.p_code, self.p_day):
            # The loaders' rows come by customer, then day: a customer's first row is their first day.
            starts = np.flatnonzero(np.r_[True, self.p_code[1:] != self.p_code[:-1]])
            self.first[self.p_code[starts]] = self.p_day[starts]
        else:
            np.minimum.at(self.first, self.p_code, self.p_day)
        self.upsell = np.full(self.n, NO_DAY, dtype="int64")
        if len(upsell_days):
            known = np.isin(upsell_days.index.to_numpy(), customer_ids)
            self.upsell[np.searchsorted(customer_ids, upsell_days.index.to_numpy()[known])] = _days(
                upsell_days.to_numpy()[known]
            )

    def active(self, at: int) -> np.ndarray:
        """A purchase in (at - window, at]."""
        lo, hi = np.searchsorted(self.p_sorted_day, np.array([at - self.window + 1, at + 1], dtype="int32"))
        out = np.zeros(self.n, dtype=bool)
        out[self.p_sorted_code[lo:hi]] = True
        return out

    def revenue(self, start: int, end: int) -> np.ndarray:
        # Bounds of the array's own type: mixed types would make numpy convert the whole array.
        lo, hi = np.searchsorted(self.sorted_day, np.array([start, end], dtype="int32"))
        return np.bincount(self.sorted_code[lo:hi], weights=self.sorted_amount[lo:hi], minlength=self.n)

    def as_of_figures_many(self, last_days: list[int]) -> dict[int, dict[str, np.ndarray]]:
        """Per customer, counting purchases up to and including each of `last_days`: buyers,
        repeaters (2+ purchase days), upsold (0/1) and historical CLV (net revenue, for buyers only:
        refund-only customers stay out). One pass over the rows in day order: each day adds the rows
        since the one before, so many periods cost about what one does."""
        out: dict[int, dict[str, np.ndarray]] = {}
        clv = np.zeros(self.n)
        purchase_days = np.zeros(self.n, dtype="int64")
        done = p_done = 0
        for last_day in sorted(set(last_days)):
            bound = np.array([last_day + 1], dtype="int32")
            upto = int(np.searchsorted(self.sorted_day, bound)[0])
            p_upto = int(np.searchsorted(self.p_sorted_day, bound)[0])
            clv += np.bincount(self.sorted_code[done:upto], weights=self.sorted_amount[done:upto], minlength=self.n)
            purchase_days += np.bincount(self.p_sorted_code[p_done:p_upto], minlength=self.n)
            done, p_done = upto, p_upto
            buyers = self.first <= last_day
            out[last_day] = {
                "buyers": buyers.astype(float),
                "repeaters": (purchase_days >= 2).astype(float),
                "upsold": (self.upsell <= last_day).astype(float),
                "clv": clv * buyers,
            }
        return out

    @property
    def first_purchase_day(self) -> int | None:
        """The day of the first purchase in the data (None without one)."""
        known = self.first[self.first != NO_DAY]
        return int(known.min()) if known.size else None


def observed(end_day: int, *, first_purchase_day: int | None, window_days: int) -> bool:
    """Whether a period ending on `end_day` (exclusive) can show a churn: only when the activity window
    at its end, (end - W, end], starts after the first purchase in the data. Before that, every
    customer active at the start is still "active" at the end (their last purchase lies in the
    window), so retention would read 100% and churn 0% for lack of history, not for loyalty."""
    return first_purchase_day is not None and end_day - window_days >= first_purchase_day


def series_start(active_at_start: list[int], observable: list[bool]) -> int:
    """Index of the first month a retention chart should show: the first with customers active at its
    start whose churn can be observed (``observed``); len() when there is none."""
    for index, (active, seen) in enumerate(zip(active_at_start, observable, strict=True)):
        if active and seen:
            return index
    return len(active_at_start)


def _group_sums(pairs, size: int, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    customer, group = pairs
    if size == 1 and len(customer) == len(next(iter(values.values()), ())):
        # The workspace: every customer once, in one group.
        return {name: np.array([np.asarray(array, dtype=float).sum()]) for name, array in values.items()}
    return {
        name: np.bincount(group, weights=np.asarray(array, dtype=float)[customer], minlength=size)
        for name, array in values.items()
    }


def _period_figures(
    sums: dict[str, np.ndarray], g: int, start: pd.Timestamp, end: pd.Timestamp, *, seen: bool = True
) -> dict:
    active_start = int(sums["active_start"][g])
    retained = int(sums["retained"][g])
    # A period whose churn cannot be observed yet (see `observed`) has no retention rate.
    retention = _ratio(retained, active_start) if seen else None
    revenue_before = float(sums["revenue_before"][g])
    buyers = float(sums["buyers"][g])
    return {
        "period": {"start": start.date().isoformat(), "end": end.date().isoformat()},
        "active_customers": int(sums["active_end"][g]),
        "active_at_start": active_start,
        "retained": retained,
        "churned": active_start - retained,
        "retention_rate": retention,
        "churn_rate": None if retention is None else 1.0 - retention,
        "acquisition_rate": _ratio(sums["new"][g], active_start),
        "new": int(sums["new"][g]),
        "reactivated": int(sums["reactivated"][g]),
        "repeat_purchase_rate": _ratio(sums["repeaters"][g], buyers),
        "upsell_rate": _ratio(sums["upsold"][g], buyers),
        "revenue": _money(sums["revenue"][g]),
        "nrr": float(sums["revenue"][g]) / revenue_before if revenue_before > 0 else None,
        "avg_clv": _money(_ratio(sums["clv"][g], buyers)),
        "total_clv": _money(sums["clv"][g]),
        "customers_with_purchase": int(buyers),
    }


PERIOD_VALUES = ("active_start", "active_end", "retained", "new", "reactivated", "revenue", "revenue_before")
AS_OF_VALUES = ("buyers", "repeaters", "upsold", "clv")


class _Summer:
    """Sums of per-customer columns by scope, a weighted bincount per column. The columns are
    converted to floats once per period, not once per grouping, and a grouping that holds every
    customer once, in order (countries, when every customer has one), is summed without gathering
    each column into a new array first (three times faster)."""

    def __init__(self, n: int):
        self.n = n
        self.in_order: tuple[np.ndarray, bool] | None = None

    def _whole(self, customer: np.ndarray) -> bool:
        if self.in_order is None or self.in_order[0] is not customer:
            whole = len(customer) == self.n and bool(np.array_equal(customer, np.arange(self.n)))
            self.in_order = (customer, whole)
        return self.in_order[1]

    def sums(self, pairs, size: int, columns: list[np.ndarray]) -> list[np.ndarray]:
        customer, group = pairs
        if size == 1 and len(customer) == self.n:
            return [np.array([column.sum()]) for column in columns]  # the workspace: everyone once
        if self._whole(customer):
            return [np.bincount(group, weights=column, minlength=size) for column in columns]
        return [np.bincount(group, weights=column[customer], minlength=size) for column in columns]


def _periods_figures(
    population: _Population,
    groups: list[Grouping],
    periods: list[tuple[pd.Timestamp, pd.Timestamp]],
    with_as_of: list[bool],
) -> dict[str, list[dict]]:
    """Per scope, the figures (_period_figures) of each of `periods` [start, end), in their order;
    the as-of figures (repeat, upsell, historical CLV) only where `with_as_of` (else 0)."""
    bounds = [(_day(start), _day(end)) for start, end in periods]
    days = sorted({day for pair in bounds for day in pair})
    active = {day: population.active(day) for day in days}
    as_of = population.as_of_figures_many(
        [end - 1 for (_start, end), want in zip(bounds, with_as_of, strict=True) if want]
    )
    first_day = population.first_purchase_day
    names = (*PERIOD_VALUES, *AS_OF_VALUES)
    summer = _Summer(population.n)
    per_scope: dict[str, list[dict]] = {label: [] for grouping in groups for label in grouping.labels}
    for (start_ts, end_ts), (start, end), want in zip(periods, bounds, with_as_of, strict=True):
        columns = [
            active[start],
            active[end],
            active[start] & active[end],
            (population.first >= start) & (population.first < end),
            active[end] & ~active[start] & (population.first < start),
            population.revenue(start, end) * active[start],
            population.revenue(start - (end - start), start) * active[start],
        ]
        if want:
            columns += [as_of[end - 1][name] for name in AS_OF_VALUES]
        columns = [np.asarray(column, dtype=float) for column in columns]
        seen = observed(end, first_purchase_day=first_day, window_days=population.window)
        for grouping in groups:
            totals = summer.sums(grouping.pairs(start_ts, end_ts), len(grouping.labels), columns)
            zeros = [np.zeros(len(grouping.labels))] * (len(names) - len(totals))
            sums = dict(zip(names, totals + zeros, strict=True))
            for g, label in enumerate(grouping.labels):
                per_scope[label].append(_period_figures(sums, g, start_ts, end_ts, seen=seen))
    return per_scope


def picker_periods(as_of: date) -> list[Period]:
    """The periods the dashboard's picker offers on `as_of` (those of book performance: complete
    months, quarters and years) and the one before each, which its figures are compared with."""
    offered = [period for periods in period_choices(as_of).values() for period in periods]
    wanted = {period.key: period for period in offered}
    for period in offered:
        before = period_previous(period)
        wanted.setdefault(before.key, before)
    return list(wanted.values())


def period_snapshots(
    population: _Population,
    groups: list[Grouping],
    *,
    as_of: date,
    months: int = TIMESERIES_MONTHS,
) -> dict[str, dict[str, dict]]:
    """{"summary": {scope: data}, "timeseries": {scope: data}, "periods": {scope: data}} without the
    predicted-CLV keys. The time series starts at the first month whose retention tells something
    (series_start); "periods" holds the figures of every picker period (picker_periods) by key."""
    starts = _month_starts(as_of, months)
    wanted = {period.key: period for period in picker_periods(as_of)}
    month_keys = [start.strftime("%Y-%m") for start in starts[:-1]]
    # The summary's two months always have their as-of figures; older months only when offered.
    keep = [key in wanted or i >= months - 2 for i, key in enumerate(month_keys)]
    monthly = _periods_figures(population, groups, list(zip(starts, starts[1:], strict=False)), keep)
    picked = [period for key, period in wanted.items() if key not in month_keys]
    others = _periods_figures(
        population, groups, [(pd.Timestamp(p.start), pd.Timestamp(p.end)) for p in picked], [True] * len(picked)
    )
    first_day = population.first_purchase_day
    observable = [
        observed(_day(end), first_purchase_day=first_day, window_days=population.window) for end in starts[1:]
    ]
    summaries, series, periods = {}, {}, {}
    for label, figures in monthly.items():
        current, previous = figures[-1], figures[-2]
        summaries[label] = {**current, "previous": previous}
        periods[label] = {
            "periods": {
                **{key: f for key, f, kept in zip(month_keys, figures, keep, strict=True) if kept},
                **{p.key: f for p, f in zip(picked, others[label], strict=True)},
            }
        }
        shown = figures[series_start([f["active_at_start"] for f in figures], observable) :]
        series[label] = {
            "months": [p["period"]["start"][:7] for p in shown],
            "retention_rate": [p["retention_rate"] for p in shown],
            "churn_rate": [p["churn_rate"] for p in shown],
            "active": [p["active_customers"] for p in shown],
            "new": [p["new"] for p in shown],
            "reactivated": [p["reactivated"] for p in shown],
            "nrr": [p["nrr"] for p in shown],
        }
    return {"summary": summaries, "timeseries": series, "periods": periods}


# --- As-of snapshots: cohorts, Pareto, CLV distribution, RFM, value x risk -----------------------


def cohorts_data(daily: pd.DataFrame, *, as_of: date) -> dict:
    table = cohort_retention(daily, as_of=pd.Timestamp(as_of))
    retention = table.retention.iloc[-COHORT_LIMIT:]
    sizes = table.sizes.iloc[-COHORT_LIMIT:]
    if len(retention):
        retention = retention.loc[:, retention.notna().any(axis=0)]
    return {
        "cohorts": [str(period) for period in retention.index],
        "sizes": [int(size) for size in sizes],
        "matrix": [[None if pd.isna(v) else float(v) for v in row] for row in retention.to_numpy()],
    }


def pareto_data(daily: pd.DataFrame, *, as_of: date) -> dict:
    return _pareto_dict(pareto_tier(daily, as_of=pd.Timestamp(as_of)))


def _pareto_dict(result) -> dict:
    return {
        "curve": result.curve[["share_customers", "share_revenue"]].to_numpy().tolist(),
        "top_count": result.top_count,
        "customer_count": result.customer_count,
        "top_share_of_customers": result.top_share_of_customers,
        "total_revenue": _money(result.total_revenue),
    }


def clv_distribution_data(values: np.ndarray, *, basis: str) -> dict:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"basis": basis, "bins": [], "counts": []}
    low = min(0.0, float(values.min()))
    high = float(np.quantile(values, CLV_TOP_QUANTILE))
    if high <= low:
        high = low + 1.0
    edges = np.linspace(low, high, CLV_BINS + 1)
    counts, _ = np.histogram(np.clip(values, low, high), bins=edges)
    return {"basis": basis, "bins": [round(float(e), 2) for e in edges], "counts": counts.tolist()}


class _Scores:
    """The scored columns the RFM and value x risk snapshots count, as small integer codes, so that
    a scope's figures are two bincounts over its members instead of a groupby on text columns."""

    RISKS = (*RISK_LEVELS, "")

    def __init__(self, scored: pd.DataFrame, clv_column: str):
        segment_index = {name: i + 1 for i, name in enumerate(SEGMENTS)}
        self.segment = _codes(scored["rfm_segment"], {"": 0, **segment_index})
        value = _codes(scored["value_level"], {level: i for i, level in enumerate(LEVELS)})
        risk = _codes(scored["risk_level"], {level: i for i, level in enumerate(self.RISKS)})
        self.cell = value * len(self.RISKS) + risk
        self.revenue = scored["net_revenue"].to_numpy(dtype=float)
        clv = scored["predicted_clv"].to_numpy(dtype=float)
        self.has_clv = np.isfinite(clv)
        self.clv = np.where(self.has_clv, clv, 0.0)
        self.buyer = scored["purchases"].to_numpy() > 0
        self.basis = scored[clv_column].to_numpy(dtype=float)

    def rfm(self, members, labels: dict[str, str], keys: dict[str, str]) -> dict:
        codes = self.segment[members]
        counts = np.bincount(codes, minlength=len(SEGMENTS) + 1)
        revenue = np.bincount(codes, weights=self.revenue[members], minlength=len(SEGMENTS) + 1)
        return {
            "segments": [
                {
                    "key": keys[name],
                    "label": labels[keys[name]],
                    "count": int(counts[i + 1]),
                    "revenue": _money(revenue[i + 1]),
                }
                for i, name in enumerate(SEGMENTS)
            ]
        }

    def without_clv(self, members) -> int:
        """The members with a purchase but no predicted CLV, whom every CLV total leaves out."""
        return int(np.count_nonzero(self.buyer[members] & ~self.has_clv[members]))

    def value_risk(self, members) -> dict:
        size = len(LEVELS) * len(self.RISKS)
        codes = self.cell[members]
        counts = np.bincount(codes, minlength=size)
        clv = np.bincount(codes, weights=self.clv[members], minlength=size)
        with_clv = np.bincount(codes, weights=self.has_clv[members], minlength=size)
        cells = []
        for v, value in enumerate(LEVELS):
            for r, risk in enumerate(self.RISKS):
                i = v * len(self.RISKS) + r
                if risk == "" and counts[i] == 0:
                    continue
                cells.append(
                    {
                        "value_level": value,
                        "risk_level": risk,
                        "count": int(counts[i]),
                        "clv": _money(clv[i]) if with_clv[i] else None,
                    }
                )
        return {"cells": cells, "buyers_without_clv": self.without_clv(members)}

    def clv_distribution(self, members, *, basis: str) -> dict:
        values = self.basis[members]
        return clv_distribution_data(values[self.buyer[members]], basis=basis)


def _codes(labels: pd.Series, codes: dict[str, int]) -> np.ndarray:
    """codes[label] per label, through a categorical (hashing a million strings once, where
    Series.map with a dict costs a Python call per row)."""
    names = list(codes)
    positions = pd.Categorical(labels.to_numpy(dtype=object), categories=names).codes
    if (positions < 0).any():
        raise ValueError(f"Unexpected labels {sorted(set(labels[positions < 0]))[:5]}")
    return np.asarray([codes[name] for name in names], dtype="int64")[positions]


class _AsOfFacts:
    """What the cohort and Pareto snapshots of every scope need, computed once from the daily frame:
    each scope then costs a mask and a bincount over these arrays, not a pass over the daily rows.
    The figures are those of cohorts_data and pareto_data on the scope's own rows (a test checks)."""

    def __init__(self, daily: pd.DataFrame, ids: np.ndarray, *, as_of: date):
        code = customer_codes(ids, daily["customer_id"].to_numpy())
        day = daily["day"].to_numpy()
        if day.dtype != np.dtype("datetime64[us]"):
            day = to_day(daily["day"]).to_numpy()
        as_of_midnight = np.datetime64(pd.Timestamp(as_of))
        # Cohorts: one (customer, month) pair per month with a purchase up to as_of; rows come sorted
        # by customer and day, so a new pair starts wherever the customer or the month changes.
        bought = (daily["purchase_amount"].to_numpy(dtype=float) > 0) & (day <= as_of_midnight)
        p_code = code[bought]
        p_month = day[bought].astype("datetime64[M]").astype("int64")  # months since 1970-01
        starts = (
            np.r_[True, (p_code[1:] != p_code[:-1]) | (p_month[1:] != p_month[:-1])]
            if p_code.size
            else np.zeros(0, bool)
        )
        self.pair_code, pair_month = p_code[starts], p_month[starts]
        first = np.r_[True, self.pair_code[1:] != self.pair_code[:-1]] if self.pair_code.size else np.zeros(0, bool)
        cohort = np.zeros(len(ids), dtype="int64")
        cohort[self.pair_code[first]] = pair_month[first]
        self.pair_cohort = cohort[self.pair_code]
        self.pair_k = pair_month - self.pair_cohort
        self.last_month = int(as_of_midnight.astype("datetime64[M]").astype("int64"))
        # Pareto: net revenue in the trailing window per customer with a row in it, summed exactly as
        # pareto_tier sums (a group's sum does not depend on the other groups).
        window_start = np.datetime64(pd.Timestamp(as_of) - pd.DateOffset(months=TRAILING_MONTHS))
        in_window = (day > window_start) & (day <= as_of_midnight)
        revenue = daily["amount"][in_window].astype(float).groupby(daily["customer_id"][in_window]).sum()
        # Ranked once, as pareto_tier ranks (revenue descending, then id): a scope's ranking is the
        # same order restricted to its members, so no scope needs a sort of its own.
        order = np.lexsort((revenue.index.to_numpy(), -revenue.to_numpy()))
        self.window_ids = revenue.index.to_numpy()[order]
        self.window_code = np.searchsorted(ids, revenue.index.to_numpy())[order]  # sorted lookups, then ranked
        self.window_revenue = revenue.to_numpy()[order]

    def cohorts(self, member: np.ndarray | None) -> dict:
        """cohorts_data of the customers where `member` is True (None: everyone)."""
        keep = slice(None) if member is None else member[self.pair_code]
        cohort, k = self.pair_cohort[keep], self.pair_k[keep]
        if cohort.size == 0:
            return {"cohorts": [], "sizes": [], "matrix": []}
        # One row per cohort with a customer (each has its k = 0 pair), the COHORT_LIMIT newest only:
        # the matrix stays COHORT_LIMIT rows by the age of the oldest of them, however old the data.
        cohorts, row = np.unique(cohort, return_inverse=True)
        shown = row >= len(cohorts) - COHORT_LIMIT
        cohorts, row, k = cohorts[-COHORT_LIMIT:], row[shown] - max(len(cohorts) - COHORT_LIMIT, 0), k[shown]
        width = int(k.max()) + 1
        active = np.bincount(row * width + k, minlength=len(cohorts) * width).reshape(len(cohorts), width)
        sizes = active[:, 0]
        retention = active / sizes[:, None]
        retention[cohorts[:, None] + np.arange(width)[None, :] > self.last_month] = np.nan
        retention = retention[:, ~np.isnan(retention).all(axis=0)]
        return {
            "cohorts": [f"{1970 + int(m) // 12:04d}-{int(m) % 12 + 1:02d}" for m in cohorts],
            "sizes": [int(size) for size in sizes],
            "matrix": [[None if np.isnan(v) else float(v) for v in row] for row in retention],
        }

    def pareto(self, member: np.ndarray | None) -> dict:
        """pareto_data of the customers where `member` is True (None: everyone)."""
        keep = slice(None) if member is None else member[self.window_code]
        ranked = pd.Series(self.window_revenue[keep], index=pd.Index(self.window_ids[keep], name="customer_id"))
        return _pareto_dict(pareto_of_ranked(ranked))


def _scopes(groups: list[Grouping], n: int, *, as_of: date) -> Iterator[tuple[str, np.ndarray | None, object]]:
    """(scope, member mask or None for everyone, member positions or slice(None)) of every scope on
    as_of; a manager's book is the customers assigned to them that day."""
    day_start = pd.Timestamp(as_of).normalize()
    for grouping in groups:
        customer, group = grouping.pairs(day_start, day_start + pd.Timedelta(days=1))
        order = np.argsort(group, kind="stable")
        bounds = np.searchsorted(group[order], np.arange(len(grouping.labels) + 1))
        for g, label in enumerate(grouping.labels):
            member, members = None, slice(None)
            if label:
                members = np.sort(customer[order[bounds[g] : bounds[g + 1]]])
                member = np.zeros(n, dtype=bool)
                member[members] = True
            yield label, member, members


def predicted_clv_sums(scored: pd.DataFrame, groups: list[Grouping], *, as_of: date) -> dict[str, tuple]:
    """scope -> (avg, total, buyers without one) predicted CLV over the scope's customers with one on
    as_of (avg and total None when nobody has one)."""
    clv = scored["predicted_clv"].to_numpy(dtype=float)
    has = np.isfinite(clv)
    buyer = scored["purchases"].to_numpy() > 0
    values = {"clv": np.where(has, clv, 0.0), "has": has.astype(float), "without": (buyer & ~has).astype(float)}
    day_start = pd.Timestamp(as_of).normalize()
    out = {}
    for grouping in groups:
        sums = _group_sums(grouping.pairs(day_start, day_start + pd.Timedelta(days=1)), len(grouping.labels), values)
        for g, label in enumerate(grouping.labels):
            count, without = sums["has"][g], int(sums["without"][g])
            average, total = (None, None) if count == 0 else (_money(sums["clv"][g] / count), _money(sums["clv"][g]))
            out[label] = (average, total, without)
    return out


def history_snapshots(
    *,
    daily: pd.DataFrame,
    customer_ids: np.ndarray,
    countries: pd.Series,
    assignments: pd.DataFrame,
    upsell_days: pd.Series,
    as_of: date,
    window_days: int,
) -> list[tuple[str, str, dict]]:
    """The snapshots that need the orders but not the model, as (kind, scope, JSON-safe data): the
    summary (without its predicted-CLV keys, which with_scores adds), the time series, cohorts and
    Pareto of every scope. The recompute computes them while it fits and scores.

    `daily`: (customer_id, day) rows sorted, of customers in `customer_ids` (sorted); `countries`
    aligned with `customer_ids`.
    """
    groups = groupings(customer_ids=customer_ids, countries=countries, assignments=assignments)
    periods = period_snapshots(_Population(daily, customer_ids, upsell_days, window_days), groups, as_of=as_of)
    out: list[tuple[str, str, dict]] = [("summary", scope, clean(data)) for scope, data in periods["summary"].items()]
    out.extend(("timeseries", scope, clean(data)) for scope, data in periods["timeseries"].items())
    out.extend(("periods", scope, clean(data)) for scope, data in periods["periods"].items())
    facts = _AsOfFacts(daily, customer_ids, as_of=as_of)
    for scope, member, _members in _scopes(groups, len(customer_ids), as_of=as_of):
        out.append(("cohorts", scope, clean(facts.cohorts(member))))
        out.append(("pareto", scope, clean(facts.pareto(member))))
    return out


def with_scores(
    history: list[tuple[str, str, dict]],
    *,
    scored: pd.DataFrame,
    countries: pd.Series,
    assignments: pd.DataFrame,
    as_of: date,
    segment_labels: dict[str, str],
    segment_keys: dict[str, str],
    clv_basis: str,
) -> list[tuple[str, str, dict]]:
    """`history` (history_snapshots of the same customers) and what needs the scores: the predicted
    CLV of each summary, and the CLV distribution, RFM segments and value x risk of every scope.

    `scored`: apply_scoring over every customer, indexed by sorted customer_id.
    """
    ids = scored.index.to_numpy()
    groups = groupings(customer_ids=ids, countries=countries, assignments=assignments)
    predicted = predicted_clv_sums(scored, groups, as_of=as_of)
    out = []
    for kind, scope, data in history:
        if kind == "summary":
            avg, total, without = predicted[scope]
            previous = {**data["previous"], "avg_predicted_clv": None, "total_predicted_clv": None}
            data = {
                **data,
                "previous": previous,
                "avg_predicted_clv": avg,
                "total_predicted_clv": total,
                "buyers_without_predicted_clv": without,
            }
        out.append((kind, scope, data))
    scores = _Scores(scored, "predicted_clv" if clv_basis == "predicted" else "net_revenue")
    for scope, _member, members in _scopes(groups, len(ids), as_of=as_of):
        out.append(("clv_distribution", scope, clean(scores.clv_distribution(members, basis=clv_basis))))
        out.append(("rfm", scope, clean(scores.rfm(members, segment_labels, segment_keys))))
        out.append(("value_risk", scope, clean(scores.value_risk(members))))
    return out
