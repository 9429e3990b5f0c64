"""The worklist signal of surveys: the customer's latest answer was a detractor's.

Registered with ``retention_crm.worklist_signals`` from ``SurveysConfig.ready()``. The latest
named answer of the last ``RECENT_DAYS``; a detractor's (NPS 0-6, CSAT 1-2, CES 1-3, or a negative comment) ranks the row and
says why. A later answer that is not a detractor's takes it off: the loop is closed.
"""

from datetime import date, timedelta

from django.db.models import Case, FloatField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils.translation import gettext as _

from retention_crm import formats, worklist_signals

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
        kind = Kind(row.wl_detractor_kind).label if row.wl_detractor_kind in Kind.values else ""
        return [
            _("Detractor answer: %(score)s in a %(kind)s survey on %(date)s.")
            % {"score": row.wl_detractor_score, "kind": kind, "date": formats.format_date(row.wl_detractor_on)}
        ]


def _latest_answers(customer, *, today: date) -> QuerySet:
    """The named answers of ``customer`` (an id or an OuterRef) of the last RECENT_DAYS, latest
    first; the id breaks ties, so that the ranking and the row's details pick the same one."""
    return Response.objects.filter(customer=customer, answered_on__gte=today - timedelta(days=RECENT_DAYS)).order_by(
        "-answered_on", "-answered_at", "-pk"
    )


def register() -> None:
    worklist_signals.register(DetractorSignal())
