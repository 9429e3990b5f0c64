"""Maximum-likelihood plumbing shared by the BG/NBD, Pareto/NBD and Gamma-Gamma fits."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from ._common import NotEnoughData

# Bound on log-parameters: e^±30 spans every plausible rate, age and spend while keeping a
# degenerate fit (a parameter running off to 0 or infinity) detectable instead of overflowing.
LOG_PARAM_BOUND = 30.0

# A fitted log-parameter this close to the bound means the data do not identify the model.
BOUND_MARGIN = 1.0

# Relative change of the mean log-likelihood at which L-BFGS-B stops: well below the 0.1
# precision at which log-likelihoods are published for thousands of customers.
FTOL = 1e-13

# Projected-gradient tolerance on the mean log-likelihood; tight enough for 3-decimal parameters.
GTOL = 1e-9

# Iteration cap: these 3-4 parameter problems converge in well under 200 iterations.
MAX_ITER = 1000


class DegenerateFit(NotEnoughData):
    """The optimum lies on the bound of some parameter; `log_params` says which ones."""

    def __init__(self, log_params: np.ndarray, message: str):
        super().__init__(message, code="degenerate")
        self.log_params = log_params


def at_upper_bound(log_params: np.ndarray) -> np.ndarray:
    return log_params > LOG_PARAM_BOUND - BOUND_MARGIN


def interior(log_params: np.ndarray) -> np.ndarray:
    return np.abs(log_params) <= LOG_PARAM_BOUND - BOUND_MARGIN


def collapse_rows(columns: dict[str, np.ndarray], weights: np.ndarray | None) -> tuple[dict, np.ndarray]:
    """Merge identical rows into one row with a count: the likelihood is a weighted sum, and
    customers share (x, t_x, T) far more often than not (most are one-time buyers)."""
    frame = pd.DataFrame(columns)
    frame["_weight"] = 1.0 if weights is None else np.asarray(weights, dtype=float)
    grouped = frame.groupby(list(columns), sort=False, as_index=False)["_weight"].sum()
    return {name: grouped[name].to_numpy(dtype=float) for name in columns}, grouped["_weight"].to_numpy(dtype=float)


def maximise(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray] | float],
    start: np.ndarray,
    *,
    model: str,
    jac: bool,
    upper: list[float] | None = None,
) -> np.ndarray:
    """Minimise a negative mean log-likelihood over log-parameters; returns the parameters.

    `upper` caps some log-parameters below LOG_PARAM_BOUND (None: no cap); a capped parameter may
    sit at its cap. Raises NotEnoughData when the optimum is not finite or runs to a bound.
    """
    upper = upper or [LOG_PARAM_BOUND] * len(start)
    bounds = [(-LOG_PARAM_BOUND, cap) for cap in upper]
    start = np.minimum(start, upper)
    result = minimize(
        objective,
        start,
        jac=jac,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": FTOL, "gtol": GTOL, "maxiter": MAX_ITER},
    )
    log_params = result.x
    value = result.fun
    if not np.isfinite(value) or not np.all(np.isfinite(log_params)):
        raise NotEnoughData(f"{model}: the likelihood has no finite maximum for these data", code="no_maximum")
    if np.any(np.abs(log_params) > LOG_PARAM_BOUND - BOUND_MARGIN):
        raise DegenerateFit(
            log_params,
            f"{model}: a parameter ran off to 0 or infinity ({np.exp(log_params)}); "
            "the data do not identify the model (too few or too uniform repeat purchases)",
        )
    return np.exp(log_params)
