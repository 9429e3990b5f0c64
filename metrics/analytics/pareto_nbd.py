"""Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987), a second model beside BG/NBD.

Same inputs as `bgnbd`: x, t_x, T in the fit's unit; horizons in days. Likelihood as in
Fader & Hardie's note "A Note on Deriving the Pareto/NBD Model and Related Expressions" (2005).
The fit uses numerical gradients and 2F1 per row: about 40 s for 1M customers in days, against
about 3 s for `bgnbd_fit`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, gammaln, hyp2f1

from ._common import NotEnoughData, purchase_history, unit_days
from ._fit import collapse_rows, maximise


@dataclass(frozen=True)
class ParetoNbdParams:
    """Fitted Pareto/NBD parameters; alpha and beta are in `unit`s ('D' or 'W')."""

    r: float
    alpha: float
    s: float
    beta: float
    unit: str
    log_likelihood: float
    n_customers: int


def _log_a0(r, alpha, s, beta, x, t_x, T):
    """log of A0 = F(t_x) - F(T), F(t) = 2F1(r+s+x, k; r+s+x+1; |alpha-beta|/(max+t)) / (max+t)^(r+s+x).

    2F1(c-1, k; c; z) = (1-z)^-k 2F1(1, k; c; z/(z-1)) (Pfaff): the right side has no large
    parameter in its first slot and stays finite for customers with thousands of purchases.
    """
    rsx = r + s + x
    if alpha >= beta:
        top, k = alpha, s + 1
    else:
        top, k = beta, r + x
    diff = abs(alpha - beta)

    def log_f(t):
        z = diff / (top + t)
        return -k * np.log1p(-z) + np.log(hyp2f1(1.0, k, rsx + 1, z / (z - 1))) - rsx * np.log(top + t)

    upper, lower = log_f(t_x), log_f(T)
    with np.errstate(divide="ignore"):
        # t_x == T gives log(0) = -inf: no time to have died unseen, the term drops out.
        return upper + np.log(-np.expm1(np.minimum(lower - upper, 0.0)))


def _log_likelihood(r, alpha, s, beta, x, t_x, T):
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died = np.log(s) - np.log(r + s + x) + _log_a0(r, alpha, s, beta, x, t_x, T)
    return a1 + np.logaddexp(alive, died)


def pareto_nbd_fit(x, t_x, T, *, unit: str = "D", weights=None) -> ParetoNbdParams:
    """Maximum-likelihood Pareto/NBD parameters; raises NotEnoughData like `bgnbd_fit`."""
    unit_days(unit)
    x, t_x, T = purchase_history(x, t_x, T)
    if len(x) == 0:
        raise NotEnoughData("Pareto/NBD: no customers to fit", code="no_customers")
    if not np.any(x > 0):
        raise NotEnoughData(
            "Pareto/NBD: nobody made a repeat purchase, so the model cannot be fitted", code="no_repeat"
        )
    columns, counts = collapse_rows({"x": x, "t_x": t_x, "T": T}, weights)
    total = counts.sum()
    cols = (columns["x"], columns["t_x"], columns["T"])

    def objective(log_params):
        return -(_log_likelihood(*np.exp(log_params), *cols) @ counts) / total

    # Start with alpha = beta = mean age: purchase and dropout time scales of one lifetime.
    mean_age = max(float(np.average(columns["T"], weights=counts)), 1.0)
    r, alpha, s, beta = maximise(objective, np.log([1.0, mean_age, 1.0, mean_age]), model="Pareto/NBD", jac=False)
    return ParetoNbdParams(
        r=float(r),
        alpha=float(alpha),
        s=float(s),
        beta=float(beta),
        unit=unit,
        log_likelihood=float(_log_likelihood(r, alpha, s, beta, *cols) @ counts),
        n_customers=int(round(total)),
    )


def pareto_nbd_log_likelihood(params: ParetoNbdParams, x, t_x, T) -> np.ndarray:
    x, t_x, T = purchase_history(x, t_x, T)
    return _log_likelihood(params.r, params.alpha, params.s, params.beta, x, t_x, T)


def pareto_nbd_p_alive(params: ParetoNbdParams, x, t_x, T) -> np.ndarray:
    """P(alive at T | x, t_x, T)."""
    x, t_x, T = purchase_history(x, t_x, T)
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    log_odds_dead = (
        np.log(s)
        - np.log(r + s + x)
        + (r + x) * np.log(alpha + T)
        + s * np.log(beta + T)
        + _log_a0(r, alpha, s, beta, x, t_x, T)
    )
    return expit(-log_odds_dead)


def pareto_nbd_expected_purchases(params: ParetoNbdParams, x, t_x, T, *, horizon_days: float) -> np.ndarray:
    """Conditional expected purchases in the next `horizon_days` days."""
    x, t_x, T = purchase_history(x, t_x, T)
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    t = horizon_days / unit_days(params.unit)
    log_ratio = -np.log1p(t / (beta + T))
    # (1 - ((beta+T)/(beta+T+t))^(s-1)) / (s-1), whose limit at s = 1 is -log_ratio.
    shape = -np.expm1((s - 1) * log_ratio) / (s - 1) if s != 1 else -log_ratio
    return (r + x) * (beta + T) / (alpha + T) * shape * pareto_nbd_p_alive(params, x, t_x, T)
