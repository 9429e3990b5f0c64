"""The registry of worklist signals: why a customer is on an account manager's list today.

A neutral place, like ``events`` and ``customers.panels``: contact_plans registers the built-in
signals (purchase gap, rising risk, open complaint, falling order value) and later apps add theirs
(surveys: a detractor answer) from their ``AppConfig.ready()``, without importing one another.

A signal works on the worklist's queryset of ``customers.Customer`` rows:

- ``key``: unique name; every annotation the signal adds starts with ``wl_<key>_`` so none clash.
- ``weight``: how much a full-strength signal adds to the row's priority (see
  ``contact_plans.worklist`` for the formula); 0 for a signal that only explains, never ranks.
- ``annotate(queryset, *, today)``: the queryset with the signal's SQL annotations added: what
  its reasons say (the complaint's subject, the plan's name...). Only the rows shown read them.
- ``flags(*, today)`` (optional): what the ranking reads of the signal's own tables, as named sets
  of rows that point at customers (``{"open": Interaction.objects.filter(...)}``, a queryset of a
  model with a ``customer`` foreign key). The worklist annotates each as ``wl_<key>_<name>``, True
  for the customers of the book with such a row: one query per set restricted to the book, hashed,
  instead of a probe of the signal's table per customer (see ``contact_plans.worklist``).
- ``score()``: an SQL expression between 0 and 1 (null counts as 0), only used when ``weight`` > 0.
  It is evaluated for every customer of the book: build it from the flags and from columns of
  joined one-to-one rows (the metrics), never from a subquery of ``annotate``.
- ``factor()`` (optional): an SQL expression between 0 and 1 that multiplies the row's whole
  priority (null counts as 1), for what lowers the urgency for a while (a recent call); None when
  it changes nothing. Evaluated for every row of the book too, so from the flags as well.
- ``has_reason()``: a ``Q`` (over the flags and columns, as ``score``), true exactly when
  ``reasons`` says something; the "only with reasons" filter ORs them.
- ``reasons(row)``: plain, translated sentences built from the row's annotations (never a query:
  it runs for the rows shown only, from the one query of the page's rows).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol, runtime_checkable

from django.db.models import Expression, Q, QuerySet


@runtime_checkable
class WorklistSignal(Protocol):
    key: str
    weight: float

    def annotate(self, queryset: QuerySet, *, today: date) -> QuerySet: ...

    def score(self) -> Expression | None: ...

    def has_reason(self) -> Q: ...

    def reasons(self, row: Any) -> list[str]: ...


_signals: dict[str, WorklistSignal] = {}


def register(signal: WorklistSignal) -> WorklistSignal:
    """Add a signal; registering a key again replaces it, so a second ready() call changes nothing."""
    if not signal.key.isidentifier():
        raise ValueError(f"a worklist signal key must be an identifier, not {signal.key!r}")
    if signal.weight < 0:
        raise ValueError("a worklist signal's weight cannot be negative")
    _signals[signal.key] = signal
    return signal


def unregister(key: str) -> None:
    _signals.pop(key, None)


def signals() -> list[WorklistSignal]:
    """The registered signals, heaviest first (the order their reasons are listed in), then by key."""
    return sorted(_signals.values(), key=lambda s: (-s.weight, s.key))


def prefix(key: str) -> str:
    """The prefix of the annotations of signal ``key``."""
    return f"wl_{key}_"
