"""The registry of risk signals: what, beside the purchase history, says why a customer may leave.

A neutral place, like ``events`` and ``worklist_signals``: the customer page's "Value and risk" card
and the API's ``risk_reasons`` (``metrics.selectors.customer_risk_reasons``) list the churn risk's
own reasons (``metrics.reasons``) and then every registered signal's, without metrics importing the
apps that know them. Each app registers its signals from its ``AppConfig.ready()``: surveys a recent
detractor answer, customers an open case past its due time.

A signal has a ``key`` (unique; registering it again replaces it), an ``order`` (the card lists the
signals by order, then key) and ``reasons(customer_id, *, today)``: plain, translated sentences
about one customer, or none. It is called for one customer at a time (a page, an API detail), so
one indexed query is its budget. Whoever calls it has already checked that the user may see the
customer; a signal says nothing about other customers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

Reasons = Callable[..., list[str]]


@dataclass(frozen=True)
class RiskSignal:
    key: str
    reasons: Reasons  # (customer_id: int, *, today: date) -> list[str]
    order: int = 100


_signals: dict[str, RiskSignal] = {}


def register(signal: RiskSignal) -> RiskSignal:
    """Add a signal; registering a key again replaces it, so a second ready() call changes nothing."""
    if not signal.key.isidentifier():
        raise ValueError(f"a risk signal key must be an identifier, not {signal.key!r}")
    _signals[signal.key] = signal
    return signal


def unregister(key: str) -> None:
    _signals.pop(key, None)


def signals() -> list[RiskSignal]:
    return sorted(_signals.values(), key=lambda s: (s.order, s.key))


def reasons_for(customer_id: int, *, today: date) -> list[str]:
    """Every registered signal's sentences about this customer, in the signals' order."""
    reasons: list[str] = []
    for signal in signals():
        reasons.extend(signal.reasons(customer_id, today=today))
    return reasons
