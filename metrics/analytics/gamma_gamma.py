"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang 1999).

Per customer: x (repeat purchases) and m (mean spend of the repeat purchases, the summary's
``monetary_value``). Parameters in the published notation p, q, gamma (lifetimes: p, q, v).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from ._common import NotEnoughData, as_float_array
from ._fit import LOG_PARAM_BOUND, collapse_rows, maximise


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters; gamma is in the currency of the amounts."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    n_customers: int


def _check(x, monetary) -> tuple[np.ndarray, np.ndarray]:
    x = as_float_array(x, name="x")
    monetary = as_float_array(monetary, name="monetary")
    if len(x) != len(monetary):
        raise ValueError("x and monetary must have the same length")
    return x, monetary


def _log_likelihood(p, q, gamma, x, m):
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x)
    )


def _objective(log_params, x, m, weights, total):
    p, q, gamma = np.exp(log_params)
    px = p * x
    log_spend = np.log(gamma + m * x)
    d_p = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - log_spend)
    d_q = digamma(px + q) - digamma(q) + np.log(gamma) - log_spend
    d_gamma = q / gamma - (px + q) / (gamma + m * x)
    grad = np.array([p * d_p @ weights, q * d_q @ weights, gamma * d_gamma @ weights])
    return -(_log_likelihood(p, q, gamma, x, m) @ weights) / total, -grad / total


def gamma_gamma_fit(x, monetary, *, weights=None, start: GammaGammaParams | None = None) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from the repeat buyers among the rows.

    Rows with x == 0 or monetary <= 0 are left out (their spend says nothing about repeat
    purchases). `start` (optional): parameters to start the search from (an earlier fit). Raises
    NotEnoughData when no repeat buyer with positive spend remains.
    """
    x, m = _check(x, monetary)
    keep = (x > 0) & (m > 0)
    if not np.any(keep):
        raise NotEnoughData("Gamma-Gamma: no repeat buyer with a positive spend to fit", code="no_repeat_spend")
    w = None if weights is None else np.asarray(weights, dtype=float)[keep]
    columns, counts = collapse_rows({"x": x[keep], "m": m[keep]}, w)
    total = counts.sum()
    # Start at p = q = 1 and gamma = mean spend: the spend distribution's scale is set by gamma.
    initial = np.log([1.0, 1.0, float(np.average(columns["m"], weights=counts))])
    if start is not None:
        previous = np.array([start.p, start.q, start.gamma], dtype=float)
        if np.all(np.isfinite(previous)) and np.all(previous > 0):
            initial = np.clip(np.log(previous), -LOG_PARAM_BOUND + 1.0, LOG_PARAM_BOUND - 1.0)
    p, q, gamma = maximise(
        lambda params: _objective(params, columns["x"], columns["m"], counts, total),
        initial,
        model="Gamma-Gamma",
        jac=True,
    )
    ll = _log_likelihood(p, q, gamma, columns["x"], columns["m"]) @ counts
    return GammaGammaParams(
        p=float(p),
        q=float(q),
        gamma=float(gamma),
        log_likelihood=float(ll),
        n_customers=int(round(total)),
    )


def gamma_gamma_log_likelihood(params: GammaGammaParams, x, monetary) -> np.ndarray:
    """Per-customer log-likelihood of repeat buyers (x > 0, monetary > 0)."""
    x, m = _check(x, monetary)
    return _log_likelihood(params.p, params.q, params.gamma, x, m)


def gamma_gamma_expected_spend(params: GammaGammaParams, x, monetary) -> np.ndarray:
    """Conditional expected mean spend per purchase, (gamma + m x) p / (p x + q - 1).

    For x == 0 this is the population mean p gamma / (q - 1); it needs q > 1 (a mean spend).
    """
    x, m = _check(x, monetary)
    p, q, gamma = params.p, params.q, params.gamma
    if q <= 1:
        raise ValueError(f"Gamma-Gamma q = {q:.3g} <= 1: the fitted spend distribution has no mean")
    return (gamma + m * x) * p / (p * x + q - 1)
