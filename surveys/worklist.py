"""The worklist signal of surveys: the customer's latest answer was a detractor's; and the same as a
risk signal of the customer page's "Value and risk" card.

Registered with ``retention_crm.worklist_signals`` and ``retention_crm.risk_signals`` from
``SurveysConfig.ready()``. The latest named answer of the last ``RECENT_DAYS``; a detractor's
(NPS 0-6, CSAT 1-2, CES 1-3, or a negative comment) ranks the row and
says why. A later answer that is not a detractor's takes it off: the loop is closed.
"""

from datetime import date, timedelta

from django.db.models import Case, FloatField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils.translation import gettext as _

from retention_crm import formats, risk_signals, worklist_signals

from .models import Kind, Response

# A detractor answer older than three months is history, not a reason to call today.
RECENT_DAYS = 90


class DetractorSignal:
    key = "detractor"
    weight = 0.5

    def annotate(self, queryset: QuerySet, *, today: date) -> QuerySet:
        # For the rows of the page: one probe of the (customer, answered_on) index each.
        latest = _latest_answers(OuterRef("pk"), today=today)
        return queryset.annotate(
            wl_detractor_is=Subquery(latest.values("is_detractor")[:1]),
            wl_detractor_score=Subquery(latest.values("score")[:1]),
            wl_detractor_kind=Subquery(latest.values("survey__kind")[:1]),
            wl_detractor_on=Subquery(latest.values("answered_on")[:1]),
        )

    def flags(self, *, today: date) -> dict[str, QuerySet]:
        # The recent detractor answers that are their customer's latest: few, each checked
        # against the customer's latest answer (the same ordering as the row's details).
        recent = Response.objects.filter(answered_on__gte=today - timedelta(days=RECENT_DAYS), is_detractor=True)
        latest = _latest_answers(OuterRef("customer_id"), today=today).values("pk")[:1]
        return {"latest": recent.filter(pk=Subquery(latest))}

    def score(self):
        return Case(When(wl_detractor_latest=True, then=Value(1.0)), default=Value(0.0), output_field=FloatField())

    def has_reason(self) -> Q:
        return Q(wl_detractor_latest=True)

    def reasons(self, row) -> list[str]:
        if not row.wl_detractor_is:
            return []
        return [_detractor_sentence(score=row.wl_detractor_score, kind=row.wl_detractor_kind, on=row.wl_detractor_on)]


def _detractor_sentence(*, score, kind: str, on: date) -> str:
    label = Kind(kind).label if kind in Kind.values else ""
    return _("Detractor answer: %(score)s in a %(kind)s survey on %(date)s.") % {
        "score": score,
        "kind": label,
        "date": formats.format_date(on),
    }


# The comment quoted on the customer page: enough to know what went wrong, short enough for a card.
QUOTE_CHARS = 200


def detractor_risk_reasons(customer_id: int, *, today: date) -> list[str]:
    """The risk signal of the "Value and risk" card: the same answer and sentence as the worklist's
    reason (the latest named answer of the last ``RECENT_DAYS``, a detractor's), with its comment.
    One probe of the (customer, answered_on) index."""
    latest = (
        _latest_answers(customer_id, today=today)
        .values("is_detractor", "score", "survey__kind", "answered_on", "comment")
        .first()
    )
    if latest is None or not latest["is_detractor"]:
        return []
    sentence = _detractor_sentence(score=latest["score"], kind=latest["survey__kind"], on=latest["answered_on"])
    comment = " ".join(latest["comment"].split())
    if not comment:
        return [sentence]
    if len(comment) > QUOTE_CHARS:
        comment = comment[: QUOTE_CHARS - 1].rstrip() + "…"
    return [sentence + " " + _("They said: “%(comment)s”") % {"comment": comment}]


def _latest_answers(customer, *, today: date) -> QuerySet:
    """The named answers of ``customer`` (an id or an OuterRef) of the last RECENT_DAYS, latest
    first; the id breaks ties, so that the ranking and the row's details pick the same one."""
    return Response.objects.filter(customer=customer, answered_on__gte=today - timedelta(days=RECENT_DAYS)).order_by(
        "-answered_on", "-answered_at", "-pk"
    )


def register() -> None:
    worklist_signals.register(DetractorSignal())
    risk_signals.register(risk_signals.RiskSignal("survey_detractor", detractor_risk_reasons, order=20))
