"""One customer's row, refreshed after an order: the current model's parameters (no refit) and the
last recompute's cut points, applied to that customer's orders only.

A few milliseconds: one query for the last run and its model, one for the customer's days, one
upsert; the figures are computed with numpy on arrays of length one (the same `predictions` and
`scores` as the full recompute; base figures by one_customer_figures, checked against the full
recompute's in tests/metrics/test_refresh.py).
"""

from __future__ import annotations

import logging

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer
from customers.rollups import customer_rollups_refresh_if_waiting
from metrics import conf
from metrics.analytics.scoring import one_customer_figures, predictions, scores
from metrics.models import METRIC_FIELDS, CustomerMetrics, RecomputeRun
from metrics.selectors import customer_days
from retention_crm import events

from .recompute import model_params
from .writes import metrics_rows, metrics_upsert

logger = logging.getLogger(__name__)


def _last_run() -> RecomputeRun | None:
    return (
        RecomputeRun.objects.filter(status=RecomputeRun.Status.SUCCEEDED)
        .select_related("model_version")
        .order_by("-finished_at", "-id")
        .first()
    )


def metrics_refresh_customer(*, customer_id: int) -> CustomerMetrics | None:
    """Recompute `customer_id`'s CustomerMetrics as of today. previous_churn_risk is left alone: it is
    the risk at the last full recompute. Returns the row, or None when the customer is gone."""
    run = _last_run()
    model_version = run.model_version if run else None
    bgnbd, gamma_gamma = model_params(model_version)
    as_of = timezone.localdate()
    customer_rollups_refresh_if_waiting(customer_id)
    days = customer_days(customer_id=customer_id, as_of=as_of)
    # A customer with orders exists (orders protect their customer); only without any, check.
    if not days and not Customer.objects.filter(pk=customer_id).exists():
        logger.info("metrics.refresh_skipped customer=%s reason=customer_gone", customer_id)
        return None
    day, amount, purchase_amount = (np.array(column) for column in zip(*days, strict=True)) if days else ([], [], [])
    columns = one_customer_figures(day, amount, purchase_amount, as_of=as_of)
    columns.update(predictions(columns, bgnbd=bgnbd, gamma_gamma=gamma_gamma, **conf.prediction_settings()))
    ids = np.array([customer_id])
    columns.update(scores(columns, ids, run.scoring if run else {}, risk_thresholds=conf.RISK_THRESHOLDS))
    rows = metrics_rows(
        columns, ids, as_of=as_of, model_version_id=model_version.pk if model_version else None, previous={}
    )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A derived row that the next recompute rewrites anyway: waiting for the WAL flush would
            # be most of the refresh's time, and a crash can lose at most this one refresh.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        metrics_upsert(rows, fields=METRIC_FIELDS)
        events.publish(events.METRICS_CUSTOMER_REFRESHED, customer_id=customer_id)
    return rows[0]
