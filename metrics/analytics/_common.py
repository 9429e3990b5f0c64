"""Small helpers shared by the analytics modules: errors, column checks, time units."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

# Days in one model time unit; 'D' and 'W' are the two units the product fits in.
UNIT_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0}

# A month is 30 days by definition in metrics.md, so horizons in months do not depend on
# which calendar month a forecast starts in.
DAYS_PER_MONTH = 30.0


class NotEnoughData(ValueError):
    """The input cannot identify the model (empty, or nobody made a repeat purchase).

    `code` names the reason for a reader (metrics.run_messages renders it in their language); the
    message stays English, for logs and tracebacks.
    """

    def __init__(self, message: str, *, code: str = "not_identified"):
        super().__init__(message)
        self.code = code


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s) {missing}; it has {list(frame.columns)}")


def unit_days(unit: str) -> float:
    """Length of one model time unit in days; raises ValueError on an unknown unit."""
    try:
        return UNIT_DAYS[unit]
    except KeyError:
        raise ValueError(f"unit must be one of {sorted(UNIT_DAYS)}, not {unit!r}") from None


def to_day(values: pd.Series) -> pd.Series:
    """Calendar day (midnight) of datetimes, or of `datetime.date` objects as SQL returns them.

    Always microsecond resolution: pandas infers 's' for dates and 'us' for datetimes, and results
    should not depend on which shape the caller passed.
    """
    return pd.to_datetime(values).dt.normalize().dt.as_unit("us")


def as_float_array(values, *, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        array = array.reshape(-1)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} has missing or infinite values; drop customers with purchases == 0 first")
    return array


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is zero (never NaN)."""
    if denominator == 0:
        return None
    return float(numerator) / float(denominator)


def purchase_history(x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, t_x and T (the purchase-model inputs of summary_from_daily) as float arrays, checked."""
    x = as_float_array(x, name="x")
    t_x = as_float_array(t_x, name="t_x")
    T = as_float_array(T, name="T")
    if not (len(x) == len(t_x) == len(T)):
        raise ValueError("x, t_x and T must have the same length")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T):
        raise ValueError("need x >= 0 and 0 <= t_x <= T")
    return x, t_x, T
