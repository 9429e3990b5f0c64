"""The worklist's "overdue complaint" reason: a customer with a case (complaint, support contact,
review) past its due time. Registered in the worklist-signal registry from CustomersConfig.ready(),
since customers owns the cases (retention_crm.worklist_signals describes the protocol), and in the
risk-signal registry (retention_crm.risk_signals) for the customer page's "Value and risk" card."""

from datetime import date

from django.db.models import Case, FloatField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from retention_crm import risk_signals, worklist_signals
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
        return [_overdue_sentence(row.wl_overdue_case_kind, row.wl_overdue_case_due, row.wl_overdue_case_subject)]


def _overdue_sentence(kind: str, due_at, subject: str) -> str:
    return _("%(kind)s overdue since %(when)s: %(subject)s") % {
        "kind": Interaction.Kind(kind).label,
        "when": format_datetime(due_at),
        "subject": subject,
    }


def overdue_case_risk_reasons(customer_id: int, *, today: date) -> list[str]:
    """The risk signal of the customer page's "Value and risk" card: the customer's oldest open case
    past its due time, in the worklist's words (one probe of the partial index of pending cases)."""
    case = (
        Interaction.objects.filter(
            customer_id=customer_id, status__in=Interaction.PENDING_STATUSES, due_at__lt=timezone.now()
        )
        .order_by("due_at")
        .values("kind", "due_at", "subject")
        .first()
    )
    return [] if case is None else [_overdue_sentence(case["kind"], case["due_at"], case["subject"])]


def register() -> None:
    worklist_signals.register(OverdueCaseSignal())
    risk_signals.register(risk_signals.RiskSignal("overdue_case", overdue_case_risk_reasons, order=10))
