"""The back-test: fitted on data up to the cut-off only, judged on what happened next, and never
touched by data after as_of."""

from datetime import date, timedelta

import pandas as pd
import pytest
from django.test import override_settings

from customers.models import Order
from metrics.analytics import bgnbd_fit, churn_backtest, purchases_between, summary_from_daily
from metrics.models import ModelVersion
from metrics.selectors import customer_daily_frame
from metrics.services import churn_backtest as service_backtest
from metrics.services import metrics_recompute

from .conftest import SIMULATED_AS_OF, at_noon

pytestmark = pytest.mark.django_db

BACKTEST_FIELDS = (
    "bgnbd_r",
    "bgnbd_alpha",
    "bgnbd_a",
    "bgnbd_b",
    "backtest_cutoff",
    "backtest_horizon_days",
    "backtest_auc",
    "backtest_baseline_auc",
    "backtest_predicted_purchases",
    "backtest_actual_purchases",
    "backtest_customers",
)


def _model_fields(run) -> dict:
    return ModelVersion.objects.filter(pk=run.model_version_id).values(*BACKTEST_FIELDS).get()


def test_back_test_equals_the_analytics_core_at_the_cutoff(simulated):
    run = metrics_recompute(as_of=SIMULATED_AS_OF)

    model = run.model_version
    cutoff = pd.Timestamp(SIMULATED_AS_OF - timedelta(days=90))
    daily = customer_daily_frame(as_of=SIMULATED_AS_OF)
    summary = summary_from_daily(daily, as_of=cutoff)
    buyers = summary[summary["purchases"] > 0]
    params = bgnbd_fit(buyers["x"], buyers["t_x"], buyers["T"])
    actual = purchases_between(daily, start=cutoff, end=pd.Timestamp(SIMULATED_AS_OF))
    expected = churn_backtest(buyers, bgnbd=params, actual=actual, horizon_days=90)
    assert model.backtest_cutoff == date(2024, 4, 1) and model.backtest_horizon_days == 90
    assert model.backtest_baseline_auc == pytest.approx(expected.auc, rel=1e-9)
    assert model.backtest_customers == expected.customers
    assert model.backtest_actual_purchases == expected.actual_purchases
    assert model.backtest_predicted_purchases == pytest.approx(expected.predicted_purchases, rel=1e-6)


def test_shown_risk_is_at_least_as_good_as_the_bgnbd_formula(simulated):
    model = metrics_recompute(as_of=SIMULATED_AS_OF).model_version

    assert model.backtest_auc >= model.backtest_baseline_auc
    assert 0.5 < model.backtest_baseline_auc <= 1.0


def test_orders_after_as_of_change_nothing(simulated):
    with_later = _model_fields(metrics_recompute(as_of=SIMULATED_AS_OF))
    later = Order.objects.filter(ordered_at__gte=at_noon(SIMULATED_AS_OF + timedelta(days=1)))
    assert later.exists()

    later.delete()
    # Both fits start from the same point (a current model would be the second one's start).
    ModelVersion.objects.update(is_current=False)
    without_later = _model_fields(metrics_recompute(as_of=SIMULATED_AS_OF))

    assert without_later == with_later


def test_orders_after_the_cutoff_do_not_move_the_back_test_fit(simulated):
    daily = customer_daily_frame(as_of=SIMULATED_AS_OF)
    cutoff = pd.Timestamp(SIMULATED_AS_OF - timedelta(days=90))
    before_only = daily[pd.to_datetime(daily["day"]) <= cutoff]

    full = service_backtest(daily, as_of=SIMULATED_AS_OF, horizon_days=90)
    truncated = service_backtest(before_only, as_of=SIMULATED_AS_OF, horizon_days=90)

    # Same fit and the same predictions; only the outcome (actual purchases) differs.
    assert truncated["backtest_predicted_purchases"] == full["backtest_predicted_purchases"]
    assert truncated["backtest_customers"] == full["backtest_customers"]
    assert truncated["backtest_actual_purchases"] == 0 < full["backtest_actual_purchases"]


def test_horizon_follows_the_setting(simulated):
    with override_settings(METRICS_CHURN_HORIZON_DAYS=60):
        model = metrics_recompute(as_of=SIMULATED_AS_OF).model_version

    assert (model.backtest_cutoff, model.backtest_horizon_days) == (SIMULATED_AS_OF - timedelta(days=60), 60)


def test_too_little_history_before_the_cutoff_leaves_the_back_test_empty(simulated):
    # 620 days before SIMULATED_AS_OF nobody had bought twice yet.
    result = service_backtest(customer_daily_frame(as_of=SIMULATED_AS_OF), as_of=date(2022, 11, 20), horizon_days=90)

    assert result is None
