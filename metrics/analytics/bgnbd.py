"""BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way").

Per customer: x (repeat purchases), t_x (last purchase since first) and T (age since first
purchase), both in the fit's `unit`, as produced by `summary_from_daily`. Horizons are given in
days and converted with the fit's unit, so parameters fitted in weeks are used with weeks.

Timing sanity check (not a benchmark): `bgnbd_fit` on 1M simulated customers with ages in days
takes about 3 s on one core (analytic gradient; identical (x, t_x, T) rows merged first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, expit, gammaln

from . import _alive
from ._common import NotEnoughData, purchase_history, unit_days
from ._fit import LOG_PARAM_BOUND, DegenerateFit, at_upper_bound, collapse_rows, interior, maximise

# log(1e4): with a + b above ten thousand, Beta(a, b) has a standard deviation under 1% of its mean.
HOMOGENEOUS_DROPOUT_LOG_CAP = float(np.log(1e4))


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters; `alpha` is in `unit`s ('D' or 'W')."""

    r: float
    alpha: float
    a: float
    b: float
    unit: str
    log_likelihood: float
    n_customers: int


def _log_likelihood_terms(r, alpha, a, b, x, t_x, T):
    """Per-row log-likelihood and the log-sum-exp weights of its two terms (FHL eq. 6)."""
    repeat = x > 0
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    # Only repeat buyers can have dropped out after their last purchase; -inf removes the term.
    b_x = np.where(repeat, b + x - 1, 1.0)
    a4 = np.where(repeat, np.log(a) - np.log(b_x) - (r + x) * np.log(alpha + t_x), -np.inf)
    lse = np.logaddexp(a3, a4)
    return a1 + a2 + lse, np.exp(a3 - lse), np.exp(a4 - lse), b_x


class _Objective:
    """The negative mean log-likelihood (FHL eq. 6) and its gradient in log-parameters, for L-BFGS-B.

    Every special function depends on x, T or t_x alone, which take a few hundred or thousand
    distinct values among hundreds of thousands of rows: they are evaluated once per distinct value
    and gathered, leaving the rows only the log-sum-exp of the likelihood's two terms. Equal to
    _log_likelihood_terms row by row (a test checks value and gradient).
    """

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray):
        self.ux, self.ix = np.unique(x, return_inverse=True)
        self.uT, self.iT = np.unique(T, return_inverse=True)
        self.ut, self.it = np.unique(t_x, return_inverse=True)
        self.repeat = x > 0
        self.weights, self.total = weights, weights.sum()

    def __call__(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(log_params)
        ux, ix, repeat = self.ux, self.ix, self.repeat
        # Per distinct x.
        rx = r + ux
        b_x = np.where(ux > 0, b + ux - 1, 1.0)
        head = gammaln(rx) - gammaln(r) + r * np.log(alpha) + betaln(a, b + ux) - betaln(a, b)
        log_a_bx = np.log(a) - np.log(b_x)
        dg_r = digamma(rx) - digamma(r) + np.log(alpha)
        dg_ab = digamma(a + b) - digamma(a + b + ux)
        dg_b = digamma(b + ux) - digamma(b)
        # Per distinct T and t_x.
        log_T, inv_T = np.log(alpha + self.uT), 1.0 / (alpha + self.uT)
        log_t, inv_t = np.log(alpha + self.ut), 1.0 / (alpha + self.ut)
        # Per row.
        rx_row = rx[ix]
        a3 = -rx_row * log_T[self.iT]
        a4 = np.where(repeat, log_a_bx[ix] - rx_row * log_t[self.it], -np.inf)
        lse = np.logaddexp(a3, a4)
        w3, w4 = np.exp(a3 - lse), np.exp(a4 - lse)
        ll = head[ix] + lse
        d_r = dg_r[ix] - w3 * log_T[self.iT] - w4 * log_t[self.it]
        d_alpha = r / alpha - rx_row * (w3 * inv_T[self.iT] + w4 * inv_t[self.it])
        d_ab = dg_ab[ix]
        d_a = d_ab + w4 / a
        d_b = d_ab + dg_b[ix] - np.where(repeat, w4 / b_x[ix], 0.0)
        weights = self.weights
        grad = np.array([r * d_r @ weights, alpha * d_alpha @ weights, a * d_a @ weights, b * d_b @ weights])
        return -(ll @ weights) / self.total, -grad / self.total


def _start(params: BgNbdParams | None, unit: str) -> np.ndarray | None:
    """Log-parameters of a usable starting point: finite, positive, in the same unit."""
    if params is None or params.unit != unit:
        return None
    values = np.array([params.r, params.alpha, params.a, params.b], dtype=float)
    if not (np.all(np.isfinite(values)) and np.all(values > 0)):
        return None
    return np.clip(np.log(values), -LOG_PARAM_BOUND + 1.0, LOG_PARAM_BOUND - 1.0)


def bgnbd_fit(x, t_x, T, *, unit: str = "D", weights=None, start: BgNbdParams | None = None) -> BgNbdParams:
    """Maximum-likelihood BG/NBD parameters from per-customer x, t_x, T (in `unit`s).

    `weights` (optional) counts customers per row. `start` (optional): parameters to start the search
    from, such as yesterday's fit on almost the same data (the optimum is the same, found in fewer
    steps). Raises NotEnoughData when there are no customers, no repeat buyers, or the likelihood has
    no interior maximum.
    """
    unit_days(unit)
    x, t_x, T = purchase_history(x, t_x, T)
    if len(x) == 0:
        raise NotEnoughData("BG/NBD: no customers to fit", code="no_customers")
    if not np.any(x > 0):
        raise NotEnoughData("BG/NBD: nobody made a repeat purchase, so the model cannot be fitted", code="no_repeat")
    columns, counts = collapse_rows({"x": x, "t_x": t_x, "T": T}, weights)
    total = counts.sum()
    # Start at r = a = b = 1 and alpha = mean age: r/alpha then is about one purchase per
    # lifetime, the right order of magnitude whatever the unit.
    initial = _start(start, unit)
    if initial is None:
        initial = np.log([1.0, max(float(np.average(columns["T"], weights=counts)), 1.0), 1.0, 1.0])

    objective = _Objective(columns["x"], columns["t_x"], columns["T"], counts)

    try:
        r, alpha, a, b = maximise(objective, initial, model="BG/NBD", jac=True)
    except DegenerateFit as exc:
        log_a_b = exc.log_params[2:]
        homogeneous = (at_upper_bound(log_a_b).any() and (log_a_b > HOMOGENEOUS_DROPOUT_LOG_CAP).all()) and interior(
            exc.log_params[:2]
        ).all()
        if not homogeneous:
            raise
        # When every customer drops out with about the same probability, the Beta mixing
        # distribution of p degenerates: a and b run off to infinity together with a/(a+b) fixed.
        # That limit is still a proper model (homogeneous dropout); cap a and b where Beta(a, b)
        # is already a point mass for any practical purpose and keep the fit.
        r, alpha, a, b = maximise(
            objective, initial, model="BG/NBD", jac=True,
            upper=[LOG_PARAM_BOUND, LOG_PARAM_BOUND, HOMOGENEOUS_DROPOUT_LOG_CAP, HOMOGENEOUS_DROPOUT_LOG_CAP],
        )  # fmt: skip
    ll = _log_likelihood_terms(r, alpha, a, b, columns["x"], columns["t_x"], columns["T"])[0]
    return BgNbdParams(
        r=float(r),
        alpha=float(alpha),
        a=float(a),
        b=float(b),
        unit=unit,
        log_likelihood=float(ll @ counts),
        n_customers=int(round(total)),
    )


def bgnbd_log_likelihood(params: BgNbdParams, x, t_x, T) -> np.ndarray:
    """Per-customer log-likelihood; its sum is the model's log-likelihood."""
    x, t_x, T = purchase_history(x, t_x, T)
    return _log_likelihood_terms(params.r, params.alpha, params.a, params.b, x, t_x, T)[0]


def bgnbd_p_alive(params: BgNbdParams, x, t_x, T) -> np.ndarray:
    """P(customer still alive at T | x, t_x, T); 1 for customers without a repeat purchase."""
    x, t_x, T = purchase_history(x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    log_odds_dead = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)),
        -np.inf,
    )
    return expit(-log_odds_dead)


def unique_pairs(x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (x, T) pairs and, per customer, the position of theirs."""
    if len(x) == 0:
        return x, T, np.zeros(0, dtype="int64")
    # One int64 key per customer from the positions of x and T among their own distinct values: a
    # 1-d unique, several times faster than np.unique(..., axis=0) on a million rows.
    x_values, x_code = np.unique(x, return_inverse=True)
    T_values, T_code = np.unique(T, return_inverse=True)
    keys, inverse = np.unique(x_code.astype("int64") * len(T_values) + T_code, return_inverse=True)
    return x_values[keys // len(T_values)], T_values[keys % len(T_values)], inverse.reshape(-1)


def purchases_if_alive(params: BgNbdParams, x, T, t) -> np.ndarray:
    """E[purchases in (T, T + t] | alive at T, x repeat purchases], t in the fit's unit; x, T and t
    broadcast together. FHL eq. 10 without its P(alive) factor, computed as the integral over the
    dropout probability that it is (metrics.analytics._alive): finite and accurate wherever the fit
    can land, the no-dropout limit (a -> 0, where it tends to (r + x) t / (alpha + T)) included."""
    x, T, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, T, t)))
    return _alive.purchases_if_alive(r=params.r, a=params.a, b=params.b, x=x, s=t / (params.alpha + T))


def purchases_if_alive_by_customer(params: BgNbdParams, x: np.ndarray, T: np.ndarray, t) -> np.ndarray:
    """purchases_if_alive for every customer (1-d x, T) at each horizon of `t` (1-d, in the fit's
    unit): shape (customers, horizons). Evaluated once per distinct (x, T): a million customers share
    a few tens of thousands of them."""
    horizons = np.atleast_1d(np.asarray(t, dtype=float))
    x_u, T_u, inverse = unique_pairs(x, T)
    per_pair = purchases_if_alive(params, x_u[:, None], T_u[:, None], horizons[None, :])
    return per_pair[inverse]


def bgnbd_expected_purchases(params: BgNbdParams, x, t_x, T, *, horizon_days: float) -> np.ndarray:
    """Conditional expected number of purchases in the next `horizon_days` days (FHL eq. 10)."""
    x, t_x, T = purchase_history(x, t_x, T)
    t = horizon_days / unit_days(params.unit)
    return purchases_if_alive_by_customer(params, x, T, t)[:, 0] * bgnbd_p_alive(params, x, t_x, T)


def bgnbd_churn_risk(params: BgNbdParams, x, t_x, T, *, horizon_days: float = 90.0) -> np.ndarray:
    """P(no purchase in the next `horizon_days` days) =
    (1 - P(alive)) + P(alive) * ((alpha + T) / (alpha + T + h)) ** (r + x)   (metrics.md)."""
    x, t_x, T = purchase_history(x, t_x, T)
    h = horizon_days / unit_days(params.unit)
    p_alive = bgnbd_p_alive(params, x, t_x, T)
    no_purchase_if_alive = np.exp(-(params.r + x) * np.log1p(h / (params.alpha + T)))
    return np.clip((1 - p_alive) + p_alive * no_purchase_if_alive, 0.0, 1.0)


def bgnbd_expected_purchases_new(params: BgNbdParams, *, horizon_days) -> np.ndarray:
    """E[X(t)]: expected repeat purchases of a new customer in the `horizon_days` after their
    first purchase (vectorised over horizons; 0 for horizons <= 0)."""
    t = np.maximum(np.asarray(horizon_days, dtype=float), 0.0) / unit_days(params.unit)
    # A new customer is the conditional case x = t_x = T = 0, alive for sure.
    return purchases_if_alive(params, 0.0, 0.0, t)


def bgnbd_cumulative_repeat_purchases(params: BgNbdParams, *, first_purchase: pd.Series, dates) -> pd.Series:
    """Expected cumulative repeat purchases of a population at each date in `dates`:
    the sum over customers of E[X(date - first purchase)] (the FHL tracking curve).

    `first_purchase`: one datetime per customer. Vectorised over distinct first-purchase days.
    """
    dates = pd.DatetimeIndex(dates)
    counts = pd.to_datetime(first_purchase).value_counts()
    firsts = pd.DatetimeIndex(counts.index)
    ages_days = (dates.to_numpy()[None, :] - firsts.to_numpy()[:, None]) / np.timedelta64(1, "D")
    expected = bgnbd_expected_purchases_new(params, horizon_days=ages_days)
    return pd.Series(counts.to_numpy(dtype=float) @ expected, index=dates, name="expected")
