"""Is a fitted model believable? Checks of fitted BG/NBD and Gamma-Gamma parameters for the
model-health page: pure arithmetic on the parameters, no data.

A maximum-likelihood fit can "succeed" and still say nothing: when the data show no difference
between customers (made-up data, or a history too short or too uniform), a mixing distribution
collapses to a point and its parameters run off towards infinity together, or a parameter ends at
the edge of what the optimiser searches. Each finding is a code; the page words it for a marketer.

- ``same_dropout``: a + b above SAME_DROPOUT_SHAPE. Beta(a, b) then has a standard deviation under
  1% of its mean: every customer drops out with the same probability, which real customers never
  do (the demo once fitted a = 4.7 million, b = 326 million).
- ``same_rate``: r above SAME_RATE_SHAPE. Gamma(r, alpha) then has a coefficient of variation
  1 / sqrt(r) under 3%: every customer buys at the same rate.
- ``at_limit``: a parameter within _fit.BOUND_MARGIN of the optimiser's bounds (e^±30).
- ``no_mean_spend`` (Gamma-Gamma): q <= 1, where the mean spend per purchase is not finite.
"""

from __future__ import annotations

import math

from ._fit import BOUND_MARGIN, LOG_PARAM_BOUND

# Where Beta(a, b) is a point mass for any practical purpose: the same bound at which bgnbd_fit caps
# a homogeneous dropout (bgnbd.HOMOGENEOUS_DROPOUT_LOG_CAP is log(1e4) for each of a and b).
SAME_DROPOUT_SHAPE = 1e4
# Gamma shape r = 1000: purchase rates within about 3% of each other for nearly everyone.
SAME_RATE_SHAPE = 1e3


def _at_limit(*values: float) -> bool:
    return any(not math.isfinite(v) or v <= 0 or abs(math.log(v)) > LOG_PARAM_BOUND - BOUND_MARGIN for v in values)


def bgnbd_findings(*, r: float, alpha: float, a: float, b: float) -> list[str]:
    """The codes (module docstring) that make a BG/NBD fit doubtful; [] for a believable one."""
    findings = []
    if _at_limit(r, alpha, a, b):
        findings.append("at_limit")
    if math.isfinite(a + b) and a + b > SAME_DROPOUT_SHAPE:
        findings.append("same_dropout")
    if math.isfinite(r) and r > SAME_RATE_SHAPE:
        findings.append("same_rate")
    return findings


def gamma_gamma_findings(*, p: float, q: float, gamma: float) -> list[str]:
    """The codes that make a Gamma-Gamma fit doubtful; [] for a believable one."""
    findings = []
    if _at_limit(p, q, gamma):
        findings.append("at_limit")
    if q <= 1:
        findings.append("no_mean_spend")
    return findings
