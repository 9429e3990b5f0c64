"""The back-test of a fitted model's churn risk: fitted again at as_of - h on the data up to that
cut-off only, then judged on what happened in the h days after it (metrics.md "Customer risk").

It runs after the recompute has written every customer's scores, as a task of its own, so that one
worker scores while another back-tests; the result is stored on the ModelVersion, once.
"""

from __future__ import annotations

import logging
import time
from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from metrics import conf
from metrics.analytics import NotEnoughData, bgnbd_fit, purchases_between, roc_auc, summary_from_daily
from metrics.analytics import churn_backtest as analytics_churn_backtest
from metrics.analytics.scoring import shown_churn_risk, sort_daily
from metrics.models import ModelVersion
from metrics.run_messages import english, part
from metrics.selectors import customer_daily_frame

logger = logging.getLogger(__name__)


def churn_backtest(daily: pd.DataFrame, *, as_of: date, horizon_days: int) -> dict | None:
    """Fit at cutoff = as_of - horizon on data up to the cut-off only, then judge the risk on
    (cutoff, as_of]. Returns the ModelVersion backtest_* fields, or None when the cut-off data
    cannot fit the model."""
    cutoff = as_of - timedelta(days=horizon_days)
    cutoff_midnight = pd.Timestamp(cutoff)
    summary = summary_from_daily(daily, as_of=cutoff_midnight, unit="D")
    buyers = summary[summary["purchases"] > 0]
    try:
        params = bgnbd_fit(buyers["x"], buyers["t_x"], buyers["T"], unit="D")
    except NotEnoughData:
        return None
    actual = purchases_between(daily, start=cutoff_midnight, end=pd.Timestamp(as_of))
    baseline = analytics_churn_backtest(buyers, bgnbd=params, actual=actual, horizon_days=horizon_days)
    churned = actual.reindex(buyers.index, fill_value=0).to_numpy() == 0
    shown_risk = shown_churn_risk(params, buyers["x"], buyers["t_x"], buyers["T"], horizon_days=horizon_days)
    shown = roc_auc(shown_risk, churned)

    def finite_or_none(value):
        # A degenerate fit can predict NaN; it is stored and shown as "no figure", never as NaN.
        return None if value is None or not np.isfinite(value) else float(value)

    return {
        "backtest_cutoff": cutoff,
        "backtest_horizon_days": horizon_days,
        "backtest_auc": finite_or_none(shown),
        "backtest_baseline_auc": finite_or_none(baseline.auc),
        "backtest_predicted_purchases": finite_or_none(baseline.predicted_purchases),
        "backtest_actual_purchases": baseline.actual_purchases,
        "backtest_customers": baseline.customers,
    }


def metrics_backtest_queue(*, model_version_id: int) -> None:
    from metrics.tasks import metrics_backtest_task

    transaction.on_commit(lambda: metrics_backtest_task.delay(model_version_id))


def metrics_backtest(*, model_version_id: int, daily: pd.DataFrame | None = None) -> ModelVersion | None:
    """Back-test a fitted model's churn risk (churn_backtest) and store the result on it, once.

    Runs after the recompute has written every customer's scores (its own task, so that a worker
    scores while another back-tests); `daily` saves loading the orders again in the same process.
    """
    model_version = ModelVersion.objects.filter(pk=model_version_id).first()
    if model_version is None or model_version.backtested_at is not None:
        return model_version
    started = time.monotonic()
    if daily is None:
        daily = sort_daily(customer_daily_frame(as_of=model_version.as_of))
    result = churn_backtest(daily, as_of=model_version.as_of, horizon_days=int(conf.CHURN_HORIZON_DAYS))
    if result is None:
        notes = [*model_version.notes_parts, part("backtest_not_enough")]
        result = {"notes": english(notes), "notes_parts": notes}
    ModelVersion.objects.filter(pk=model_version_id, backtested_at__isnull=True).update(
        **result, backtested_at=timezone.now()
    )
    logger.info("metrics.backtest_done model=%s seconds=%.1f", model_version_id, time.monotonic() - started)
    return ModelVersion.objects.get(pk=model_version_id)
