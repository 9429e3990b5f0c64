"""The worklist's "overdue complaint" reason: a customer with a case (complaint, support contact,
review) past its due time. Registered in the worklist-signal registry from CustomersConfig.ready(),
since customers owns the cases (retention_crm.worklist_signals describes the protocol)."""

from datetime import date

from django.db.models import Case, FloatField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from retention_crm import worklist_signals
from retention_crm.formats import format_datetime

from .models import Interaction


class OverdueCaseSignal:
    key = "overdue_case"
    weight = 0.4

    def annotate(self, queryset: QuerySet, *, today: date) -> QuerySet:
        # The oldest overdue case of each customer shown: one probe of the small partial index of
        # pending cases by (customer, due_at) per row of the page.
        overdue = Interaction.objects.filter(
            customer=OuterRef("pk"),
            status__in=Interaction.PENDING_STATUSES,
            due_at__lt=timezone.now(),
        ).order_by("due_at")
        return queryset.annotate(
            wl_overdue_case_due=Subquery(overdue.values("due_at")[:1]),
            wl_overdue_case_subject=Subquery(overdue.values("subject")[:1]),
            wl_overdue_case_kind=Subquery(overdue.values("kind")[:1]),
        )

    def flags(self, *, today: date) -> dict[str, QuerySet]:
        # What ranks: the customers with a case past its due time (the small partial index
        # interaction_case_pending_due, read from its start to now).
        return {
            "overdue": Interaction.objects.filter(status__in=Interaction.PENDING_STATUSES, due_at__lt=timezone.now())
        }

    def score(self):
        return Case(When(wl_overdue_case_overdue=True, then=Value(1.0)), default=Value(0.0), output_field=FloatField())

    def has_reason(self) -> Q:
        return Q(wl_overdue_case_overdue=True)

    def reasons(self, row) -> list[str]:
        if row.wl_overdue_case_due is None:
            return []
        kind = Interaction.Kind(row.wl_overdue_case_kind).label
        return [
            _("%(kind)s overdue since %(when)s: %(subject)s")
            % {"kind": kind, "when": format_datetime(row.wl_overdue_case_due), "subject": row.wl_overdue_case_subject}
        ]


def register() -> None:
    worklist_signals.register(OverdueCaseSignal())
