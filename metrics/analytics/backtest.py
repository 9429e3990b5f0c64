"""Back-testing a churn-risk score: ROC AUC for "no purchase in the next h days"."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from .bgnbd import BgNbdParams, bgnbd_churn_risk, bgnbd_expected_purchases


@dataclass(frozen=True)
class BacktestResult:
    auc: float | None
    customers: int
    churned: int
    predicted_purchases: float
    actual_purchases: int


def roc_auc(scores, labels) -> float | None:
    """Area under the ROC curve = P(score of a random positive > score of a random negative),
    ties counted one half (Mann-Whitney U from mid-ranks). None when a class is empty."""
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=bool)
    if scores.shape != labels.shape:
        raise ValueError("scores and labels must have the same shape")
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return None
    rank_sum = rankdata(scores)[labels].sum()
    return float((rank_sum - positives * (positives + 1) / 2) / (positives * negatives))


def churn_backtest(
    summary: pd.DataFrame, *, bgnbd: BgNbdParams, actual: pd.Series, horizon_days: float = 90.0
) -> BacktestResult:
    """Judge BG/NBD churn risk at a cut-off against what happened in the next `horizon_days`.

    `summary`: `summary_from_daily` at the cut-off in `bgnbd.unit` (customers with purchases == 0
    are left out). `actual`: purchase days per customer_id in (cutoff, cutoff + horizon], e.g.
    from `purchases_between`; missing customers count 0, customers not in summary are ignored.
    """
    buyers = summary[summary["purchases"] > 0]
    x, t_x, T = buyers["x"], buyers["t_x"], buyers["T"]
    observed = actual.reindex(buyers.index, fill_value=0).to_numpy()
    risk = bgnbd_churn_risk(bgnbd, x, t_x, T, horizon_days=horizon_days)
    expected = bgnbd_expected_purchases(bgnbd, x, t_x, T, horizon_days=horizon_days)
    churned = observed == 0
    return BacktestResult(
        auc=roc_auc(risk, churned),
        customers=int(len(buyers)),
        churned=int(churned.sum()),
        predicted_purchases=float(expected.sum()),
        actual_purchases=int(observed.sum()),
    )
