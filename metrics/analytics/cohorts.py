"""Monthly acquisition cohorts: share of each cohort purchasing in the k-th month after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ._common import require_columns, to_day


@dataclass(frozen=True)
class CohortTable:
    """`retention`: index = cohort month (Period[M]), columns k = 0, 1, ...; share of the cohort
    with a purchase in calendar month cohort + k (k = 0 is 1.0; NaN for months after as_of).
    `active`: the same as customer counts. `sizes`: customers per cohort."""

    retention: pd.DataFrame
    active: pd.DataFrame
    sizes: pd.Series


def _month_number(day: pd.Series) -> np.ndarray:
    return (day.dt.year * 12 + day.dt.month - 1).to_numpy()


def cohort_retention(daily: pd.DataFrame, *, as_of: pd.Timestamp | None = None) -> CohortTable:
    """Cohort matrix from purchase days up to `as_of` (default: the last day in the data).

    `daily`: customer_id, day, purchase_amount (> 0 marks a purchase day); order rows renamed to
    this shape work too. Cohort = calendar month of the first purchase.
    """
    require_columns(daily, ("customer_id", "day", "purchase_amount"), name="daily")
    day = to_day(daily["day"])
    mask = daily["purchase_amount"] > 0
    if as_of is not None:
        mask &= day <= pd.Timestamp(as_of)
    if not mask.any():
        empty = pd.DataFrame(index=pd.PeriodIndex([], freq="M", name="cohort"))
        return CohortTable(retention=empty, active=empty.copy(), sizes=pd.Series(dtype="int64", name="size"))
    month = pd.DataFrame({"customer_id": daily["customer_id"][mask].to_numpy(), "month": _month_number(day[mask])})
    last_month = int(month["month"].max()) if as_of is None else _month_number(pd.Series([pd.Timestamp(as_of)]))[0]
    month["cohort"] = month.groupby("customer_id")["month"].transform("min")
    month["k"] = month["month"] - month["cohort"]
    pairs = month[["customer_id", "cohort", "k"]].drop_duplicates()
    active = pairs.groupby(["cohort", "k"]).size().unstack("k", fill_value=0)
    active = active.reindex(columns=range(int(active.columns.max()) + 1), fill_value=0)
    sizes = active[0]
    retention = active.div(sizes, axis=0).astype(float)
    # Month cohort + k has not happened yet when it is after as_of: unknown, not 0%.
    not_yet = (active.index.to_numpy()[:, None] + active.columns.to_numpy()[None, :]) > last_month
    retention = retention.mask(not_yet)
    index = pd.PeriodIndex.from_fields(
        year=active.index.to_numpy() // 12, month=active.index.to_numpy() % 12 + 1, freq="M"
    ).rename("cohort")
    active.index = retention.index = index
    active.columns.name = retention.columns.name = "k"
    return CohortTable(retention=retention, active=active, sizes=sizes.set_axis(index).rename("size"))


def partial_columns(cohorts: list[str], *, as_of: date) -> list[int | None]:
    """For each cohort ("YYYY-MM"), the k of its column that is still running on `as_of`: the month of
    `as_of` when `as_of` is not its last day (a share of a month seen in part looks like a fall that
    is not there). None where that month is complete, or before the cohort."""
    if (as_of + timedelta(days=1)).day == 1:
        return [None] * len(cohorts)
    current = as_of.year * 12 + as_of.month - 1
    out: list[int | None] = []
    for cohort in cohorts:
        year, month = str(cohort)[:7].split("-")
        k = current - (int(year) * 12 + int(month) - 1)
        out.append(k if k >= 0 else None)
    return out
