"""What a recompute run says, stored as data and written in the reader's language.

A run is computed by a worker, which has no reader: a sentence it wrote would stay in the worker's
language whoever reads it. So a run stores its message as parts, each a code and its parameters
(`RecomputeRun.message_parts`: ``[{"code": "buyers", "params": {"buyers": 812, ...}}]``), and the
page, the API and the command line render them when they are read (`render`), with the dates and
numbers formatted for that reader (retention_crm.formats). `RecomputeRun.message` keeps the English
rendering for the logs and the admin.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils import translation
from django.utils.translation import gettext, gettext_noop, ngettext

from retention_crm import formats, heartbeat

# code -> message. gettext_noop marks a sentence for makemessages and it is translated when rendered;
# a sentence with a count is a function of the count (ngettext, so makemessages sees both forms).
MESSAGES: dict[str, str | Callable[[int], str]] = {
    "loading": gettext_noop("Loading orders…"),
    "fitting": gettext_noop("Fitting the purchase model…"),
    "scoring": gettext_noop("Scoring customers…"),
    "no_customers": gettext_noop("No customers yet: nothing to compute."),
    "no_purchases": gettext_noop("No purchases up to %(as_of)s: %(customers)s customers were saved without figures."),
    "buyers": gettext_noop("%(buyers)s of %(customers)s customers have a purchase up to %(as_of)s."),
    "fit_seconds": gettext_noop("Purchase model fitted in %(seconds)s s."),
    "not_enough_history": gettext_noop(
        "Not enough purchase history to fit the churn model (%(reason)s): churn risk, P(alive) and "
        "predicted CLV are left empty; purchases, revenue and RFM are up to date."
    ),
    "no_spend_model": gettext_noop("Predicted CLV is left empty: the spend model could not be fitted."),
    "predictions_missing": lambda count: ngettext(
        "The predictions of %(count)s customer could not be computed; they are left empty and out of the totals.",
        "The predictions of %(count)s customers could not be computed; they are left empty and out of the totals.",
        count,
    ),
    "failed": gettext_noop("The recompute failed unexpectedly; the previous figures are kept. See the server log."),
    # Its worker died (no heartbeat): the reason in the kernel's words (retention_crm.heartbeat).
    "worker_lost": lambda count: (
        gettext("%(reason)s The previous figures are kept; start it again.")
        % {"reason": heartbeat.INTERRUPTED, "count": count}
    ),
    "scoring_failed": gettext_noop("Scoring customers failed; the previous figures of the other customers are kept."),
    "saving_failed": gettext_noop(
        "Saving the new customer scores failed; the previous figures are kept. See the server log."
    ),
    # The notes of a model version (ModelVersion.notes_parts), shown on the model-health page.
    "spend_model_no_mean": gettext_noop(
        "The spend model (Gamma-Gamma) found no average spend (q = %(q)s, at most 1): predicted CLV is left empty."
    ),
    "spend_model_not_fitted": gettext_noop("The spend model (Gamma-Gamma) was not fitted: %(reason)s."),
    "backtest_not_enough": gettext_noop("Back-test: not enough data before the cut-off."),
}

# Why a model could not be fitted (metrics.analytics NotEnoughData.code), for the "reason" parameter.
REASONS: dict[str, str] = {
    "no_customers": gettext_noop("no customer to fit"),
    "no_repeat": gettext_noop("nobody made a repeat purchase yet"),
    "no_repeat_spend": gettext_noop("no repeat buyer with a positive spend"),
    "no_maximum": gettext_noop("the data have no best fit"),
    "degenerate": gettext_noop("too few or too uniform repeat purchases to tell customers apart"),
    "not_identified": gettext_noop("the data do not identify the model"),
}

# How each parameter is shown: dates as dates, seconds with one decimal, counts grouped.
_DATES = {"as_of"}
_ONE_DECIMAL = {"seconds"}
_THREE_DIGITS = {"q"}


def part(code: str, **params) -> dict:
    """One stored part; refuses a code that has no message, so a typo fails where it is written."""
    if code not in MESSAGES:
        raise KeyError(f"no recompute message {code!r}")
    return {"code": code, "params": params}


def _param(name: str, value):
    if name in _DATES:
        return formats.format_date(value)
    if name in _ONE_DECIMAL:
        return formats.format_number(value, 1)
    if name in _THREE_DIGITS:
        return formats.format_number(value, 3)
    if name == "reason" and value in REASONS:
        return gettext(REASONS[value])
    if isinstance(value, int | float) and not isinstance(value, bool):
        return formats.format_number(value, 0)
    return value


def _sentence(item: dict) -> str:
    message = MESSAGES.get(item.get("code", ""))
    if message is None:
        return ""  # a part from a newer release: say nothing rather than something wrong
    params = item.get("params") or {}
    shown = {name: _param(name, value) for name, value in params.items()}
    if callable(message):
        text = message(int(params.get("count", 0)))
        return text % shown if params else text
    return gettext(message) % shown


def render(parts: list[dict]) -> str:
    """The parts as sentences in the active language."""
    return " ".join(sentence for sentence in map(_sentence, parts or []) if sentence)


def english(parts: list[dict]) -> str:
    with translation.override("en"):
        return render(parts)
