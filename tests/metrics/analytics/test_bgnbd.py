import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import hyp2f1

from metrics.analytics import (
    BgNbdParams,
    NotEnoughData,
    bgnbd_churn_risk,
    bgnbd_cumulative_repeat_purchases,
    bgnbd_expected_purchases,
    bgnbd_expected_purchases_new,
    bgnbd_fit,
    bgnbd_log_likelihood,
    bgnbd_p_alive,
    purchases_between,
    repeat_purchase_rate,
)

from .conftest import CDNOW_CALIBRATION_END, CDNOW_HOLDOUT_END

# FHL 2005, table 1 / data README.
PUBLISHED = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W", log_likelihood=-9582.4, n_customers=2357)


def _columns(summary):
    return summary["x"], summary["t_x"], summary["T"]


def test_bgnbd_fit_on_raw_cdnow_reproduces_the_published_parameters(cdnow_calibration):
    params = bgnbd_fit(*_columns(cdnow_calibration), unit="W")

    assert (round(params.r, 3), round(params.alpha, 3), round(params.a, 3), round(params.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert round(params.log_likelihood, 1) == -9582.4
    assert params.n_customers == 2357
    assert bgnbd_log_likelihood(params, *_columns(cdnow_calibration)).sum() == pytest.approx(params.log_likelihood)


def test_cdnow_repeat_purchase_rate_in_calibration_is_946_of_2357(cdnow_daily):
    rate = repeat_purchase_rate(cdnow_daily, as_of=CDNOW_CALIBRATION_END)

    assert (rate.numerator, rate.denominator) == (946, 2357)


def test_cdnow_holdout_has_1882_repeat_purchases(cdnow_daily):
    holdout = purchases_between(cdnow_daily, start=CDNOW_CALIBRATION_END, end=CDNOW_HOLDOUT_END)

    assert int(holdout.sum()) == 1882


def test_bgnbd_tracking_forecast_at_week_78_is_about_4_percent_under_the_actual_4339(cdnow_calibration):
    params = bgnbd_fit(*_columns(cdnow_calibration), unit="W")

    forecast = bgnbd_cumulative_repeat_purchases(
        params, first_purchase=cdnow_calibration["first_purchase"], dates=[CDNOW_HOLDOUT_END]
    ).iloc[0]

    assert 2457 + 1882 == 4339
    assert 1 - forecast / 4339 == pytest.approx(0.04, abs=0.01)


def test_conditional_expectation_equals_the_textbook_formula_on_cdnow(cdnow_calibration):
    x, t_x, T = (column.to_numpy(dtype=float) for column in _columns(cdnow_calibration))
    p = PUBLISHED
    t = 39.0

    expected = bgnbd_expected_purchases(p, x, t_x, T, horizon_days=t * 7)

    # FHL eq. 10 as printed (it overflows for very large x, which is why the code transforms it).
    z = t / (p.alpha + T + t)
    printed = (
        (p.a + p.b + x - 1)
        / (p.a - 1)
        * (1 - ((p.alpha + T) / (p.alpha + T + t)) ** (p.r + x) * hyp2f1(p.r + x, p.b + x, p.a + p.b + x - 1, z))
        * bgnbd_p_alive(p, x, t_x, T)
    )
    np.testing.assert_allclose(expected, printed, rtol=1e-9, atol=1e-12)


def test_new_customer_expectation_equals_the_textbook_formula():
    p = PUBLISHED
    weeks = np.array([1.0, 10.0, 39.0, 78.0])

    expected = bgnbd_expected_purchases_new(p, horizon_days=weeks * 7)

    printed = (
        (p.a + p.b - 1)
        / (p.a - 1)
        * (1 - (p.alpha / (p.alpha + weeks)) ** p.r * hyp2f1(p.r, p.b, p.a + p.b - 1, weeks / (p.alpha + weeks)))
    )
    np.testing.assert_allclose(expected, printed, rtol=1e-10)


def test_bgnbd_fit_with_weights_equals_the_fit_on_repeated_rows(cdnow_calibration):
    x, t_x, T = (column.to_numpy(dtype=float)[:800] for column in _columns(cdnow_calibration))
    counts = np.random.default_rng(1).integers(1, 5, size=x.size)

    weighted = bgnbd_fit(x, t_x, T, unit="W", weights=counts)
    repeated = bgnbd_fit(np.repeat(x, counts), np.repeat(t_x, counts), np.repeat(T, counts), unit="W")

    for name in ("r", "alpha", "a", "b", "log_likelihood"):
        assert getattr(weighted, name) == pytest.approx(getattr(repeated, name), rel=1e-5)
    assert weighted.n_customers == counts.sum()


def test_a_customer_with_5000_purchases_gets_finite_probabilities(cdnow_calibration):
    x, t_x, T = (column.to_numpy(dtype=float) for column in _columns(cdnow_calibration))
    x, t_x, T = np.append(x, 5000), np.append(t_x, 38.0), np.append(T, 39.0)

    params = bgnbd_fit(x, t_x, T, unit="W")
    p_alive = bgnbd_p_alive(params, [5000, 5000], [39.0, 38.0], [39.0, 39.0])
    risk = bgnbd_churn_risk(params, [5000, 5000], [39.0, 38.0], [39.0, 39.0], horizon_days=90)
    expected = bgnbd_expected_purchases(params, [5000], [39.0], [39.0], horizon_days=7)

    assert np.isfinite(params.log_likelihood)
    assert np.all(np.isfinite(p_alive)) and np.all(np.isfinite(risk)) and np.all(np.isfinite(expected))
    # Buying 128 times a week up to today: alive. The same customer silent for the last week,
    # where about 128 purchases were due: gone.
    assert p_alive[0] > 0.5 and p_alive[1] < 1e-6
    assert risk[0] < 0.01 and risk[1] > 0.99
    assert expected[0] > 50


def test_bgnbd_fit_refuses_data_without_repeat_buyers():
    x, t_x, T = np.zeros(100), np.zeros(100), np.linspace(1, 50, 100)

    with pytest.raises(NotEnoughData, match="repeat purchase"):
        bgnbd_fit(x, t_x, T)


def test_bgnbd_fit_refuses_empty_input():
    with pytest.raises(NotEnoughData, match="no customers"):
        bgnbd_fit([], [], [])


def test_bgnbd_fit_refuses_customers_without_a_purchase_rather_than_returning_nan():
    summary = pd.DataFrame({"x": [0, 1], "t_x": [np.nan, 3.0], "T": [np.nan, 5.0]})

    with pytest.raises(ValueError, match="purchases == 0"):
        bgnbd_fit(summary["x"], summary["t_x"], summary["T"])


def test_churn_risk_follows_the_metrics_formula():
    p = PUBLISHED
    x, t_x, T, h_weeks = 2.0, 20.0, 39.0, 90 / 7

    risk = bgnbd_churn_risk(p, [x], [t_x], [T], horizon_days=90)[0]

    alive = bgnbd_p_alive(p, [x], [t_x], [T])[0]
    assert risk == pytest.approx((1 - alive) + alive * ((p.alpha + T) / (p.alpha + T + h_weeks)) ** (p.r + x))
    # One-time buyers all have P(alive) = 1, but their risk still grows with age.
    young, old = bgnbd_churn_risk(p, [0, 0], [0, 0], [2.0, 39.0])
    assert bgnbd_p_alive(p, [0], [0], [39.0])[0] == 1.0
    assert young < old


@settings(max_examples=300, deadline=None)
@given(
    r=st.floats(0.01, 50),
    alpha=st.floats(0.01, 500),
    a=st.floats(0.01, 50),
    b=st.floats(0.01, 50),
    x=st.integers(0, 20_000),
    recency=st.floats(0, 1),
    T=st.floats(0.01, 5_000),
    horizon_days=st.floats(0, 5_000),
)
def test_churn_risk_and_p_alive_are_probabilities(r, alpha, a, b, x, recency, T, horizon_days):
    params = BgNbdParams(r=r, alpha=alpha, a=a, b=b, unit="D", log_likelihood=0.0, n_customers=0)
    t_x = recency * T

    risk = bgnbd_churn_risk(params, [x], [t_x], [T], horizon_days=horizon_days)[0]
    alive = bgnbd_p_alive(params, [x], [t_x], [T])[0]

    assert 0.0 <= risk <= 1.0
    assert 0.0 <= alive <= 1.0


def test_fit_keeps_homogeneous_dropout_instead_of_refusing_the_data():
    # Given customers who all drop out after a purchase with the same probability (p = 0.1): the
    # Beta mixing distribution degenerates and a, b run off together with a/(a+b) = p.
    rng = np.random.default_rng(3)
    T = np.full(3000, 300.0)
    x = np.zeros(3000)
    t_x = np.zeros(3000)
    rates = rng.gamma(2.0, 1 / 40.0, size=3000)
    for i, rate in enumerate(rates):
        t = 0.0
        while True:
            t += rng.exponential(1 / rate)
            if t > T[i]:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < 0.1:
                break

    # When
    params = bgnbd_fit(x, t_x, T)

    # Then the fit is kept, finite, with the dropout probability close to the truth
    assert np.isfinite([params.r, params.alpha, params.a, params.b]).all()
    assert params.a / (params.a + params.b) == pytest.approx(0.1, abs=0.03)


def test_expected_purchases_keep_growing_with_the_horizon_when_a_and_b_are_large():
    # Given the homogeneous-dropout limit (a, b in the hundreds and thousands), where a naive
    # hypergeometric series cancels numbers near 1e38
    params = BgNbdParams(r=1.258, alpha=114.3, a=143.9, b=1e4, unit="D", log_likelihood=0.0, n_customers=1)
    x, t_x, T = np.array([0.0, 5.0, 20.0]), np.array([0.0, 300.0, 600.0]), np.array([300.0, 500.0, 700.0])

    # When
    by_horizon = np.array([bgnbd_expected_purchases(params, x, t_x, T, horizon_days=h) for h in (30, 90, 360, 720)])

    # Then every customer's expectation is finite, positive and grows with the horizon
    assert np.isfinite(by_horizon).all() and (by_horizon > 0).all()
    assert (np.diff(by_horizon, axis=0) > 0).all()


def test_the_fit_objective_is_the_mean_log_likelihood_and_its_exact_gradient(cdnow_calibration):
    from metrics.analytics.bgnbd import _log_likelihood_terms, _Objective

    x, t_x, T = (cdnow_calibration[name].to_numpy(dtype=float) for name in ("x", "t_x", "T"))
    weights = np.ones_like(x)
    objective = _Objective(x, t_x, T, weights)
    log_params = np.log([0.3, 5.0, 0.7, 2.2])

    value, gradient = objective(log_params)

    r, alpha, a, b = np.exp(log_params)
    assert value == pytest.approx(-_log_likelihood_terms(r, alpha, a, b, x, t_x, T)[0].mean(), rel=1e-12)
    step = 1e-6
    numeric = [
        (objective(log_params + step * np.eye(4)[i])[0] - objective(log_params - step * np.eye(4)[i])[0]) / (2 * step)
        for i in range(4)
    ]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-9)
