import numpy as np
import pandas as pd
import pytest

from metrics.analytics import (
    BgNbdParams,
    GammaGammaParams,
    bgnbd_expected_purchases,
    bgnbd_fit,
    customer_predictions,
    customer_summary,
    gamma_gamma_expected_spend,
    gamma_gamma_fit,
    predictive_clv,
)

from .conftest import CDNOW_CALIBRATION_END

BGNBD_WEEKS = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W", log_likelihood=0.0, n_customers=0)
GAMMA_GAMMA = GammaGammaParams(p=6.25, q=3.74, gamma=15.44, log_likelihood=0.0, n_customers=0)
CUSTOMERS = {"x": [0, 2, 10], "t_x": [0.0, 20.0, 35.0], "T": [39.0, 39.0, 39.0], "monetary": [0.0, 20.0, 50.0]}


def test_clv_discounts_each_month_of_expected_purchases_times_expected_spend():
    c = CUSTOMERS

    clv = predictive_clv(
        BGNBD_WEEKS, GAMMA_GAMMA, c["x"], c["t_x"], c["T"], c["monetary"], horizon_months=2, monthly_discount=0.01
    )

    # By hand: month i ends after 30 i days; m (E[X(1)] / 1.01 + (E[X(2)] - E[X(1)]) / 1.01^2).
    spend = gamma_gamma_expected_spend(GAMMA_GAMMA, c["x"], c["monetary"])
    month1 = bgnbd_expected_purchases(BGNBD_WEEKS, c["x"], c["t_x"], c["T"], horizon_days=30)
    month2 = bgnbd_expected_purchases(BGNBD_WEEKS, c["x"], c["t_x"], c["T"], horizon_days=60)
    np.testing.assert_allclose(clv, spend * (month1 / 1.01 + (month2 - month1) / 1.01**2))


def test_clv_without_discount_is_spend_times_expected_purchases_over_the_horizon():
    c = CUSTOMERS

    clv = predictive_clv(
        BGNBD_WEEKS, GAMMA_GAMMA, c["x"], c["t_x"], c["T"], c["monetary"], horizon_months=12, monthly_discount=0.0
    )

    spend = gamma_gamma_expected_spend(GAMMA_GAMMA, c["x"], c["monetary"])
    year = bgnbd_expected_purchases(BGNBD_WEEKS, c["x"], c["t_x"], c["T"], horizon_days=360)
    np.testing.assert_allclose(clv, spend * year)


def test_clv_is_the_same_whether_the_model_was_fitted_in_days_or_weeks(cdnow_orders, cdnow_calibration):
    in_days = customer_summary(cdnow_orders, as_of=CDNOW_CALIBRATION_END, unit="D")
    fit_days = bgnbd_fit(in_days["x"], in_days["t_x"], in_days["T"], unit="D")
    fit_weeks = bgnbd_fit(cdnow_calibration["x"], cdnow_calibration["t_x"], cdnow_calibration["T"], unit="W")
    spend = gamma_gamma_fit(cdnow_calibration["x"], cdnow_calibration["monetary_value"])

    clv_days = predictive_clv(fit_days, spend, in_days["x"], in_days["t_x"], in_days["T"], in_days["monetary_value"])
    clv_weeks = predictive_clv(
        fit_weeks,
        spend,
        cdnow_calibration["x"],
        cdnow_calibration["t_x"],
        cdnow_calibration["T"],
        cdnow_calibration["monetary_value"],
    )

    # alpha is a time scale: 7 times larger in days; the other parameters do not move.
    assert fit_days.alpha == pytest.approx(7 * fit_weeks.alpha, rel=1e-5)
    np.testing.assert_allclose(clv_days, clv_weeks, rtol=1e-5)


def test_customer_predictions_skip_customers_without_a_purchase():
    summary = pd.DataFrame(
        {
            "purchases": [1, 3, 0],
            "x": [0, 2, 0],
            "t_x": [0.0, 20.0, np.nan],
            "T": [39.0, 39.0, np.nan],
            "monetary_value": [0.0, 20.0, 0.0],
        },
        index=pd.Index(["a", "b", "refund_only"], name="customer_id"),
    )

    predictions = customer_predictions(summary, bgnbd=BGNBD_WEEKS, gamma_gamma=GAMMA_GAMMA)

    assert predictions.index.tolist() == ["a", "b"]
    assert list(predictions.columns) == ["p_alive", "churn_risk", "expected_purchases", "expected_spend", "clv"]
    assert predictions.notna().all().all()
