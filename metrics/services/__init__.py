"""Writes of the metrics app: a recompute run's life (runs), the recompute itself (recompute), the
rows and snapshots it saves (writes, swap), the back-test (backtest) and the refresh of one customer
(refresh). They load with metrics.selectors, compute with metrics.analytics and save in bulk."""

from .backtest import churn_backtest, metrics_backtest
from .recompute import chunk_ranges, metrics_recompute, metrics_score_chunk, model_params
from .refresh import metrics_refresh_customer
from .runs import recompute_run_create, recompute_runs_reap

__all__ = [
    "chunk_ranges",
    "churn_backtest",
    "metrics_backtest",
    "metrics_recompute",
    "metrics_refresh_customer",
    "metrics_score_chunk",
    "model_params",
    "recompute_run_create",
    "recompute_runs_reap",
]
