"""Does a contact plan or a campaign work? The share of customers who did something (purchased
within 30 days) among those contacted, against a held-out control group chosen at random.

Pure: numbers in, numbers out. The difference of two proportions with Newcombe's hybrid score
interval (method 10 of Newcombe 1998), built from each group's Wilson interval: it stays inside
[-1, 1] and behaves with small groups and with shares of 0 or 1, where the textbook Wald interval
does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import norm


@dataclass(frozen=True)
class Uplift:
    treated: int
    treated_converted: int
    control: int
    control_converted: int
    treated_rate: float | None
    control_rate: float | None
    difference: float | None  # treated_rate - control_rate
    low: float | None  # the confidence interval of the difference
    high: float | None
    confidence: float

    @property
    def significant(self) -> bool:
        """The interval leaves out zero: the plan made a difference at this confidence."""
        return self.low is not None and (self.low > 0 or self.high < 0)


def wilson_interval(converted: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval of a proportion converted / n (n > 0)."""
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= converted <= n:
        raise ValueError("converted must be between 0 and n")
    z = norm.ppf(0.5 + confidence / 2)
    p = converted / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def uplift(
    *, treated: int, treated_converted: int, control: int, control_converted: int, confidence: float = 0.95
) -> Uplift:
    """The rates of both groups, their difference and its interval. A group of nobody has no rate,
    and without both rates there is no difference (None, never a made-up 0)."""
    for name, n, k in (("treated", treated, treated_converted), ("control", control, control_converted)):
        if n < 0 or k < 0 or k > n:
            raise ValueError(f"{name}: converted must be between 0 and the group's size")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    treated_rate = treated_converted / treated if treated else None
    control_rate = control_converted / control if control else None
    difference = low = high = None
    if treated_rate is not None and control_rate is not None:
        difference = treated_rate - control_rate
        l1, u1 = wilson_interval(treated_converted, treated, confidence)
        l2, u2 = wilson_interval(control_converted, control, confidence)
        low = difference - math.sqrt((treated_rate - l1) ** 2 + (u2 - control_rate) ** 2)
        high = difference + math.sqrt((u1 - treated_rate) ** 2 + (control_rate - l2) ** 2)
    return Uplift(
        treated=treated,
        treated_converted=treated_converted,
        control=control,
        control_converted=control_converted,
        treated_rate=treated_rate,
        control_rate=control_rate,
        difference=difference,
        low=low,
        high=high,
        confidence=confidence,
    )
