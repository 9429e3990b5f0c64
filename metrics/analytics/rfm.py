"""RFM quintile scores and the named segments of metrics.md."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import require_columns

# metrics.md: scores 1-5 by quintiles.
N_SCORES = 5

# A lone customer has no quintile; the middle score says "no information either way".
LONE_CUSTOMER_SCORE = 3

# metrics.md's table, (R scores, F scores, segment). It covers each of the 25 (R, F) pairs
# exactly once (tests/metrics/analytics/test_rfm.py checks it), so nothing needs a fallback.
SEGMENT_TABLE: tuple[tuple[tuple[int, ...], tuple[int, ...], str], ...] = (
    ((5,), (4, 5), "Champions"),
    ((3, 4), (4, 5), "Loyal"),
    ((4, 5), (2, 3), "Potential loyalists"),
    ((5,), (1,), "New customers"),
    ((4,), (1,), "Promising"),
    ((3,), (3,), "Need attention"),
    ((3,), (1, 2), "About to sleep"),
    ((1, 2), (5,), "Can't lose them"),
    ((1, 2), (3, 4), "At risk"),
    ((1, 2), (1, 2), "Hibernating"),
)
SEGMENTS: tuple[str, ...] = tuple(name for _, _, name in SEGMENT_TABLE)


def _segment_grid() -> np.ndarray:
    grid = np.full((N_SCORES, N_SCORES), "", dtype=object)
    for r_scores, f_scores, name in SEGMENT_TABLE:
        for r in r_scores:
            for f in f_scores:
                grid[r - 1, f - 1] = name
    return grid


SEGMENT_GRID = _segment_grid()


def quintile_scores(values, *, ties: str = "average") -> np.ndarray:
    """Scores 1-5, higher value = higher score; equals pd.qcut(ranks, 5, labels=[1..5]).

    `ties`: 'first' breaks ties by order of appearance (frequency); 'average' gives tied
    values one score, that of their mean rank (recency, monetary). Computed from ranks so that
    heavy ties never produce duplicate quantile edges, which pd.qcut on raw values rejects.
    """
    ranks = pd.Series(np.asarray(values, dtype=float)).rank(method=ties).to_numpy()
    n = ranks.size
    if n == 1:
        return np.array([LONE_CUSTOMER_SCORE])
    # Rank r falls in quintile j when q(j-1) < r <= q(j), q(j) = 1 + (n - 1) j / 5.
    return np.clip(np.ceil(N_SCORES * (ranks - 1) / (n - 1)), 1, N_SCORES).astype(int)


def rfm_segment(r, f) -> np.ndarray:
    """Segment names for arrays of R and F scores (1-5)."""
    return SEGMENT_GRID[np.asarray(r, dtype=int) - 1, np.asarray(f, dtype=int) - 1]


def rfm_scores(summary: pd.DataFrame, *, as_of: pd.Timestamp) -> pd.DataFrame:
    """R, F, M scores and segment per customer with at least one purchase.

    `summary`: a `summary_from_daily` table (last_purchase, purchases, net_revenue, indexed by
    customer_id; its row order is the "order of appearance" for frequency ties).
    Columns: recency_days, frequency, monetary, r, f, m, segment.
    """
    require_columns(summary, ("last_purchase", "purchases", "net_revenue"), name="summary")
    buyers = summary[summary["purchases"] > 0]
    out = pd.DataFrame(index=buyers.index)
    out["recency_days"] = (pd.Timestamp(as_of).normalize() - buyers["last_purchase"]).dt.days
    out["frequency"] = buyers["purchases"]
    out["monetary"] = buyers["net_revenue"]
    if out.empty:
        return out.assign(r=[], f=[], m=[], segment=[])
    out["r"] = quintile_scores(-out["recency_days"].to_numpy())
    out["f"] = quintile_scores(out["frequency"].to_numpy(), ties="first")
    out["m"] = quintile_scores(out["monetary"].to_numpy())
    out["segment"] = rfm_segment(out["r"], out["f"])
    return out
