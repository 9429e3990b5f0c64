"""BG/NBD expected purchases over the whole space a fit can return, against an independent computation.

The reference integrates the model itself with scipy.integrate: a live customer's expected purchases
in the next t are E[(1 - exp(-lambda p t)) / p] over their posterior rate lambda ~ Gamma(r + x,
alpha + T) and dropout probability p ~ Beta(a, b + x); the expectation over lambda is the Gamma's
Laplace transform, the one over p is integrated numerically by adaptive quadrature in log p on
(0, 1/2] and in log(1 - p) on [1/2, 1), where a spike of Beta mass at either end (a or b + x tiny)
is as wide as anywhere else. The product integrates in p by a fixed tanh-sinh rule on Beta-quantile
pieces and interpolates in log(t / (alpha + T)): a different method on a different variable.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import betaln

from metrics.analytics import BgNbdParams, bgnbd_expected_purchases, bgnbd_expected_purchases_new, bgnbd_p_alive
from metrics.analytics.clv import predictive_clv
from metrics.analytics.gamma_gamma import GammaGammaParams

# Over 450 random draws from the box below the two computations agreed to 3e-11 at worst (median
# 1e-15); the reference integrates at epsrel 1e-12 over a dozen pieces.
RELATIVE_TOLERANCE = 1e-9

# Below e^LOG_FLOOR the Beta density's other factor and the integrand are their values at the end
# to double precision, so the rest of the integral is closed-form.
LOG_FLOOR = -700.0


def _one_side(rate, other, g, g_at_end, log_beta, marks):
    """Integral over u in (0, 1/2] of u^(rate-1) (1-u)^(other-1) g(u) du / B, integrated in log u."""

    def body(z):
        u = np.exp(z)
        return np.exp(rate * z + (other - 1) * np.log1p(-u) - log_beta) * g(u)

    total = g_at_end * np.exp(rate * LOG_FLOOR - log_beta) / rate
    fixed = (-300.0, -100.0, -30.0, -10.0, -3.0, -1.0)
    points = sorted({*fixed, *(float(np.log(m)) for m in marks if 0 < m < 0.5)})
    edges = [LOG_FLOOR, *(p for p in points if LOG_FLOOR < p < np.log(0.5)), np.log(0.5)]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        total += integrate.quad(body, lo, hi, limit=2000, epsabs=0, epsrel=1e-12)[0]
    return total


def reference_if_alive(*, r, alpha, a, b, x, T, t) -> float:
    """E[purchases in (T, T + t] | alive at T] by quadrature of the model (see the module docstring)."""
    k, s, beta = r + x, t / (alpha + T), b + x
    log_beta = betaln(a, beta)

    def g(p):  # E over lambda of (1 - exp(-lambda p t)) / p
        y = p * s
        return k * s if y < 1e-200 else -np.expm1(-k * np.log1p(y)) / y * s

    mean = a / (a + beta)
    sd = np.sqrt(a * beta / ((a + beta) ** 2 * (a + beta + 1)))
    centres = [mean + j * sd for j in (-6, -3, -1, 0, 1, 3, 6)]
    near_zero_marks, near_one_marks = [1 / (k * s), 1 / beta, *centres], [1 / a, *(1 - c for c in centres)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _one_side(a, beta, g, k * s, log_beta, near_zero_marks)
        expected += _one_side(beta, a, lambda q: g(1 - q), g(1.0), log_beta, near_one_marks)
        # Divided by the density's own integral: betaln(a, b + x) is off by up to 1e-8 for large
        # arguments, and the ratio does not depend on it.
        mass = _one_side(a, beta, lambda p: 1.0, 1.0, log_beta, near_zero_marks)
        mass += _one_side(beta, a, lambda q: 1.0, 1.0, log_beta, near_one_marks)
    return expected / mass


def _log_uniform(low: float, high: float):
    return st.floats(np.log(low), np.log(high)).map(np.exp)


# The box a fit can return (log-parameters are bounded at +-30, but a fit far outside this box has
# customers buying many times a day or never): a tiny a is the no-dropout limit, a and b huge the
# homogeneous-dropout one; ages from 0 to years, horizons up to 24 months, x in the thousands.
customers = st.fixed_dictionaries(
    {
        "r": _log_uniform(1e-2, 1e2),
        "alpha": _log_uniform(1e-1, 1e4),
        "a": _log_uniform(1e-10, 1e5),
        "b": _log_uniform(1e-3, 1e7),
        "x": st.one_of(st.just(0), st.integers(1, 20), st.integers(21, 5000)),
        "T": st.floats(0, 2000),
        "last": st.floats(0, 1),
        "horizon": st.floats(0.5, 730),
    }
)


def _params(case) -> BgNbdParams:
    return BgNbdParams(
        r=case["r"], alpha=case["alpha"], a=case["a"], b=case["b"], unit="D", log_likelihood=0.0, n_customers=0
    )


def _expected(case, horizon) -> tuple[float, float]:
    """(E[purchases in horizon], P(alive)) of the case's customer, x repeat purchases at t_x <= T."""
    t_x = case["T"] * case["last"] if case["x"] else 0.0
    columns = ([case["x"]], [t_x], [case["T"]])
    expected = bgnbd_expected_purchases(_params(case), *columns, horizon_days=horizon)[0]
    return float(expected), float(bgnbd_p_alive(_params(case), *columns)[0])


@settings(max_examples=30, deadline=None)
@given(customers)
def test_expected_purchases_equal_the_integrated_model(case):
    expected, p_alive = _expected(case, case["horizon"])

    reference = p_alive * reference_if_alive(
        r=case["r"], alpha=case["alpha"], a=case["a"], b=case["b"], x=case["x"], T=case["T"], t=case["horizon"]
    )
    assert np.isfinite(expected) and expected >= 0
    assert expected == pytest.approx(reference, rel=RELATIVE_TOLERANCE)


@settings(max_examples=200, deadline=None)
@given(customers, st.floats(0.5, 730))
def test_expected_purchases_are_finite_bounded_and_grow_with_the_horizon(case, other_horizon):
    short, long = sorted((case["horizon"], other_horizon))

    (at_short, p_alive), (at_long, _) = _expected(case, short), _expected(case, long)

    assert np.isfinite(at_short) and np.isfinite(at_long)
    assert 0 <= at_short <= at_long * (1 + 1e-12)
    # Dropout only removes purchases: never more than the no-dropout (r + x) t / (alpha + T).
    no_dropout = p_alive * (case["r"] + case["x"]) * long / (case["alpha"] + case["T"])
    assert at_long <= no_dropout * (1 + 1e-9)


@pytest.mark.parametrize("x", [0, 3, 2500])
def test_the_no_dropout_limit_is_the_poisson_forecast(x):
    params = BgNbdParams(r=0.724, alpha=65.6, a=1e-12, b=2555.0, unit="D", log_likelihood=0.0, n_customers=0)
    horizons = np.array([1.0, 90.0, 360.0, 730.0])

    # The last purchase today: alive for sure (the odds of having dropped out are a / (b + x - 1)).
    expected = [
        bgnbd_expected_purchases(params, [x], [67.0 if x else 0.0], [67.0], horizon_days=h)[0] for h in horizons
    ]

    np.testing.assert_allclose(expected, (0.724 + x) * horizons / (65.6 + 67.0), rtol=1e-9)


def test_the_homogeneous_dropout_limit_is_the_fixed_dropout_forecast():
    """a, b -> infinity with a / (a + b) = p fixed: every customer drops out with probability p."""
    p, r, alpha, x, T = 0.3, 1.5, 20.0, 4, 100.0
    params = BgNbdParams(r=r, alpha=alpha, a=p * 1e9, b=(1 - p) * 1e9, unit="D", log_likelihood=0.0, n_customers=0)
    horizons = np.array([7.0, 90.0, 730.0])

    expected = [
        bgnbd_expected_purchases(params, [x], [60.0], [T], horizon_days=h)[0]
        / bgnbd_p_alive(params, [x], [60.0], [T])[0]
        for h in horizons
    ]

    fixed = (1 - (1 + p * horizons / (alpha + T)) ** -(r + x)) / p
    np.testing.assert_allclose(expected, fixed, rtol=1e-7)


def test_online_retails_nearly_no_dropout_fit_gives_what_lifetimes_gives():
    """Issue 11's figures from lifetimes' BetaGeoFitter, with the product's fit on Online Retail as of
    2011-09-09 in days (r 0.7236, alpha 65.570, a 2.52e-6, b 2555.2, as the slow test prints them)."""
    params = BgNbdParams(r=0.7236, alpha=65.570, a=2.52e-6, b=2555.2, unit="D", log_likelihood=0.0, n_customers=0)

    one_time = [bgnbd_expected_purchases(params, [0], [0], [67], horizon_days=h)[0] for h in (90, 180, 360)]
    repeat = [bgnbd_expected_purchases(params, [1], [37], [80], horizon_days=h)[0] for h in (90, 180, 360)]

    # lifetimes' figures have 4 decimals, the parameters 4-5 digits.
    np.testing.assert_allclose(one_time, [0.4912, 0.9825, 1.9649], rtol=1e-4)
    np.testing.assert_allclose(repeat, [1.0656, 2.1312, 4.2625], rtol=1e-4)


def test_a_new_customers_forecast_is_finite_for_every_horizon_of_a_nearly_no_dropout_fit():
    params = BgNbdParams(r=0.724, alpha=65.6, a=2.5e-6, b=2555.0, unit="D", log_likelihood=0.0, n_customers=0)
    days = np.array([0.0, 1.0, 30.0, 365.0, 730.0])

    expected = bgnbd_expected_purchases_new(params, horizon_days=days)

    np.testing.assert_allclose(expected, 0.724 * days / 65.6, rtol=1e-5)


def test_predicted_clv_is_finite_for_one_time_buyers_of_a_nearly_no_dropout_fit():
    bgnbd = BgNbdParams(r=0.724, alpha=65.6, a=2.5e-6, b=2555.0, unit="D", log_likelihood=0.0, n_customers=0)
    spend = GammaGammaParams(p=2.1, q=3.4, gamma=150.0, log_likelihood=0.0, n_customers=0)
    x, t_x, T = np.array([0.0, 0.0, 1.0, 40.0]), np.array([0.0, 0.0, 37.0, 500.0]), np.array([0.0, 67.0, 80.0, 700.0])

    clv = predictive_clv(bgnbd, spend, x, t_x, T, np.array([0.0, 0.0, 20.0, 35.0]))

    assert np.all(np.isfinite(clv)) and np.all(clv > 0)
    # A one-time buyer's spend is the population mean, p gamma / (q - 1); with no dropout, month i
    # adds r 30 / (alpha + T) purchases.
    monthly = 0.724 * 30 / (65.6 + 67.0)
    by_hand = 2.1 * 150.0 / 2.4 * sum(monthly / 1.01**i for i in range(1, 13))
    assert clv[1] == pytest.approx(by_hand, rel=1e-5)


def test_a_customers_figures_do_not_depend_on_who_else_is_computed_with_them():
    """A refresh of one customer must give the recompute's figures to the last bit."""
    from metrics.analytics import _alive

    rng = np.random.default_rng(5)
    x = rng.integers(0, 40, size=400).astype(float)
    T = rng.integers(0, 900, size=400).astype(float)
    t_x = np.where(x > 0, np.floor(T * rng.random(400)), 0.0)
    bgnbd = BgNbdParams(r=0.53, alpha=28.5, a=1.3e-8, b=2130.0, unit="D", log_likelihood=0.0, n_customers=0)
    spend = GammaGammaParams(p=2.27, q=3.38, gamma=50.0, log_likelihood=0.0, n_customers=0)
    monetary = rng.gamma(3, 20, size=400) * (x > 0)

    together = (
        bgnbd_expected_purchases(bgnbd, x, t_x, T, horizon_days=90),
        predictive_clv(bgnbd, spend, x, t_x, T, monetary),
    )
    _alive._PIECES.clear()  # recomputed, not looked up
    alone = [
        (bgnbd_expected_purchases(bgnbd, x[i : i + 1], t_x[i : i + 1], T[i : i + 1], horizon_days=90)[0],
         predictive_clv(bgnbd, spend, x[i : i + 1], t_x[i : i + 1], T[i : i + 1], monetary[i : i + 1])[0])
        for i in range(0, 400, 7)
    ]  # fmt: skip

    assert [(together[0][i], together[1][i]) for i in range(0, 400, 7)] == alone
