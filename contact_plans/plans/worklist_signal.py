"""The worklist's reason for a contact plan's task (retention_crm.worklist_signals): the customer's
open plan task due soonest, with its plan and due day; an overdue one raises the row's priority, and
says so on "My book" (the reminder when a task is overdue, where the account manager works).
Registered from ContactPlansConfig.ready()."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Case, FloatField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from retention_crm import worklist_signals
from retention_crm.formats import format_date

from ..models import FollowUp

# A task due within this many days is worth half an overdue one on the list.
SOON_DAYS = 2


class PlanTaskSignal:
    key = "plan_task"
    weight = 0.6

    def annotate(self, queryset: QuerySet, *, today: date) -> QuerySet:
        # One probe of the partial index followup_open_by_customer per row of the page.
        task = FollowUp.objects.filter(customer=OuterRef("pk"), state=FollowUp.State.OPEN, plan__isnull=False).order_by(
            "due_at", "id"
        )
        return queryset.annotate(
            wl_plan_task_due=Subquery(task.values("due_at")[:1]),
            wl_plan_task_kind=Subquery(task.values("kind")[:1]),
            wl_plan_task_plan=Subquery(task.values("plan__name")[:1]),
        )

    def flags(self, *, today: date) -> dict[str, QuerySet]:
        # The soonest open task is overdue (due soon) exactly when some open task is.
        now = timezone.now()
        tasks = FollowUp.objects.filter(state=FollowUp.State.OPEN, plan__isnull=False)
        return {
            "open": tasks,
            "overdue": tasks.filter(due_at__lt=now),
            "soon": tasks.filter(due_at__lt=now + timedelta(days=SOON_DAYS)),
        }

    def score(self):
        return Case(
            When(wl_plan_task_overdue=True, then=Value(1.0)),
            When(wl_plan_task_soon=True, then=Value(0.5)),
            default=Value(0.0),
            output_field=FloatField(),
        )

    def has_reason(self) -> Q:
        return Q(wl_plan_task_open=True)

    def reasons(self, row) -> list[str]:
        if row.wl_plan_task_due is None:
            return []
        values = {
            "task": FollowUp.Kind(row.wl_plan_task_kind).label,
            # A ready-made plan's English name has a translation; a marketer's own name shows as written.
            "plan": gettext(row.wl_plan_task_plan),
            "when": format_date(timezone.localtime(row.wl_plan_task_due).date()),
        }
        if row.wl_plan_task_due < timezone.now():
            return [_("Overdue task of the plan “%(plan)s”: %(task)s, due %(when)s.") % values]
        return [_("Task of the plan “%(plan)s”: %(task)s, due %(when)s.") % values]


def register() -> None:
    worklist_signals.register(PlanTaskSignal())
