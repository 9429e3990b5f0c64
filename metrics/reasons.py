"""The sentences that explain a customer's churn risk: made here only.

The customer page's "Value and risk" card (``selectors.risk_explanation``) and the account
manager's worklist ("Why now", the signals of ``contact_plans.worklist``) both say why a customer is
at risk; they call these functions with the same figures of ``CustomerMetrics`` (read from the model
row, or from the worklist's annotations of it), so the two screens never tell different stories.
Each function takes plain values and makes no query.
"""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from retention_crm.formats import format_percent

# A change of churn risk smaller than this between recomputes is noise, not news.
RISK_CHANGE_WORTH_MENTIONING = 0.05


def _percent(share: float) -> str:
    # In the reader's language: "80%" in English, "80 %" in Catalan.
    return format_percent(share)


def purchase_history_reason(
    *, purchases: int | None, last_purchase: date | None, usual_interval_days: float | None, today: date
) -> str:
    """What the customer's purchases say, in one sentence: the base of every churn risk (BG/NBD reads
    only the number of purchases and their dates)."""
    if not purchases or last_purchase is None:
        return _("No purchase yet.")
    days = max((today - last_purchase).days, 0)
    if purchases == 1:
        return ngettext(
            "Only one purchase so far, %(days)d day ago.", "Only one purchase so far, %(days)d days ago.", days
        ) % {"days": days}
    if not usual_interval_days:
        # Several purchases on one day: no interval to compare with.
        return ngettext("Last purchase %(days)d day ago.", "Last purchase %(days)d days ago.", days) % {"days": days}
    values = {"days": days, "interval": max(round(usual_interval_days), 1)}
    if days > values["interval"]:
        return (
            ngettext(
                "No purchase for %(days)d day; usually buys every %(interval)d days.",
                "No purchase for %(days)d days; usually buys every %(interval)d days.",
                days,
            )
            % values
        )
    return (
        ngettext(
            "Last purchase %(days)d day ago; usually buys every %(interval)d days.",
            "Last purchase %(days)d days ago; usually buys every %(interval)d days.",
            days,
        )
        % values
    )


def risk_change_reason(*, before: float | None, after: float | None) -> str | None:
    """How the churn risk moved since the previous recompute, or None when it barely moved."""
    if before is None or after is None or abs(after - before) < RISK_CHANGE_WORTH_MENTIONING:
        return None
    values = {"before": _percent(before), "after": _percent(after)}
    if after > before:
        return _("Churn risk rose from %(before)s to %(after)s since the last recompute.") % values
    return _("Churn risk fell from %(before)s to %(after)s since the last recompute.") % values
