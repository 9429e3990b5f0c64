"""Predictive CLV (metrics.md) and a one-call table of per-customer predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import DAYS_PER_MONTH, purchase_history, unit_days
from .bgnbd import (
    BgNbdParams,
    bgnbd_churn_risk,
    bgnbd_expected_purchases,
    bgnbd_p_alive,
    purchases_if_alive,
    unique_pairs,
)
from .gamma_gamma import GammaGammaParams, gamma_gamma_expected_spend

# metrics.md defaults: a one-year horizon discounted at 1% a month.
DEFAULT_HORIZON_MONTHS = 12
DEFAULT_MONTHLY_DISCOUNT = 0.01

# metrics.md: churn risk is the probability of no purchase in the next 90 days by default.
DEFAULT_RISK_HORIZON_DAYS = 90.0


def predictive_clv(
    bgnbd: BgNbdParams,
    gamma_gamma: GammaGammaParams,
    x,
    t_x,
    T,
    monetary,
    *,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    monthly_discount: float = DEFAULT_MONTHLY_DISCOUNT,
) -> np.ndarray:
    """sum_{i=1..H} m (E[X(i)] - E[X(i-1)]) / (1 + d)^i per customer.

    E[X(i)] is the BG/NBD conditional expected purchases by the end of month i (a month is
    30 days, converted to the fit's unit), m the Gamma-Gamma conditional mean spend (for a customer
    without a repeat purchase, the population's mean). x, t_x, T in the BG/NBD unit; monetary is
    the summary's monetary_value.
    """
    return forecasts(
        bgnbd,
        gamma_gamma,
        x,
        t_x,
        T,
        monetary,
        horizon_days=None,
        horizon_months=horizon_months,
        monthly_discount=monthly_discount,
    )["predicted_clv"]


def forecasts(
    bgnbd: BgNbdParams,
    gamma_gamma: GammaGammaParams | None,
    x,
    t_x,
    T,
    monetary,
    *,
    horizon_days: float | None,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    monthly_discount: float = DEFAULT_MONTHLY_DISCOUNT,
) -> dict[str, np.ndarray]:
    """p_alive, expected_purchases (in horizon_days; left out when None) and, with a Gamma-Gamma fit,
    expected_spend and predicted_clv per customer, from one evaluation of the BG/NBD expectation per
    distinct (x, T) at every horizon at once (what the recompute needs, without evaluating P(alive)
    and the distinct pairs of a million customers once per figure)."""
    x, t_x, T = purchase_history(x, t_x, T)
    p_alive = bgnbd_p_alive(bgnbd, x, t_x, T)
    out = {"p_alive": p_alive}
    months = np.arange(1, horizon_months + 1) if gamma_gamma is not None else np.zeros(0, dtype=int)
    unit = unit_days(bgnbd.unit)
    days = np.concatenate([[horizon_days] if horizon_days is not None else [], months * DAYS_PER_MONTH])
    if days.size == 0:
        return out
    # E[X(t)] given alive, per distinct (x, T) and horizon; P(alive) and the spend are per customer.
    x_u, T_u, inverse = unique_pairs(x, T)
    if_alive = purchases_if_alive(bgnbd, x_u[:, None], T_u[:, None], days[None, :] / unit)
    if horizon_days is not None:
        out["expected_purchases"] = if_alive[inverse, 0] * p_alive
        if_alive = if_alive[:, 1:]
    if gamma_gamma is not None:
        spend = gamma_gamma_expected_spend(gamma_gamma, x, monetary)
        increments = np.diff(if_alive, axis=1, prepend=0.0)
        # Multiplied and summed row by row (not a matrix product, which may add in another order for
        # one customer than for a million): a refresh gives the recompute's figure to the last bit.
        discounted = (increments * (1 + monthly_discount) ** -months.astype(float)).sum(axis=1)
        out["expected_spend"] = spend
        out["predicted_clv"] = spend * p_alive * discounted[inverse]
    return out


def customer_predictions(
    summary: pd.DataFrame,
    *,
    bgnbd: BgNbdParams,
    gamma_gamma: GammaGammaParams | None = None,
    horizon_days: float = DEFAULT_RISK_HORIZON_DAYS,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    monthly_discount: float = DEFAULT_MONTHLY_DISCOUNT,
) -> pd.DataFrame:
    """Per-customer predictions from a `summary_from_daily` table built in `bgnbd.unit`.

    Customers with purchases == 0 are left out. Columns: p_alive, churn_risk (no purchase in
    `horizon_days`), expected_purchases (in `horizon_days`), and with a Gamma-Gamma fit
    expected_spend and clv (over `horizon_months`).
    """
    buyers = summary[summary["purchases"] > 0]
    x, t_x, T = buyers["x"], buyers["t_x"], buyers["T"]
    out = pd.DataFrame(index=buyers.index)
    out["p_alive"] = bgnbd_p_alive(bgnbd, x, t_x, T)
    out["churn_risk"] = bgnbd_churn_risk(bgnbd, x, t_x, T, horizon_days=horizon_days)
    out["expected_purchases"] = bgnbd_expected_purchases(bgnbd, x, t_x, T, horizon_days=horizon_days)
    if gamma_gamma is not None:
        monetary = buyers["monetary_value"]
        out["expected_spend"] = gamma_gamma_expected_spend(gamma_gamma, x, monetary)
        out["clv"] = predictive_clv(
            bgnbd,
            gamma_gamma,
            x,
            t_x,
            T,
            monetary,
            horizon_months=horizon_months,
            monthly_discount=monthly_discount,
        )
    return out
