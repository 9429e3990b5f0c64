"""Writes of the metrics app. The pure pieces (scoring, snapshots) take DataFrames and never touch
the database; recompute and refresh load with metrics.selectors and save in bulk."""

from .recompute import (
    chunk_ranges,
    churn_backtest,
    metrics_backtest,
    metrics_recompute,
    metrics_score_chunk,
    recompute_run_create,
)
from .refresh import metrics_refresh_customer

__all__ = [
    "chunk_ranges",
    "churn_backtest",
    "metrics_backtest",
    "metrics_recompute",
    "metrics_refresh_customer",
    "metrics_score_chunk",
    "recompute_run_create",
]
