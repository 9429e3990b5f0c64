"""Reads of contact plans, scoped by the one visibility rule (customers.selectors): every role reads
plans (their definitions name no customer); enrolments and tasks are those of the customers the user
may see; marketers and administrators build plans and enrol segments."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from customers import roles
from customers.models import Customer
from customers.selectors import customer_editable_by, customers_visible_filter

from ..models import ContactPlan, Enrolment, EnrolmentStep, FollowUp


def plan_can_edit(user) -> bool:
    return roles.is_administrator(user) or roles.is_marketer(user)


def plan_visible_to(user) -> QuerySet[ContactPlan]:
    return ContactPlan.objects.all() if roles.has_any_role(user) else ContactPlan.objects.none()


def plan_editable_by(user) -> QuerySet[ContactPlan]:
    return ContactPlan.objects.all() if plan_can_edit(user) else ContactPlan.objects.none()


def plan_get(*, user, plan_id: int) -> ContactPlan | None:
    return plan_visible_to(user).select_related("trigger_segment").filter(pk=plan_id).first()


def plan_list(*, user) -> list[ContactPlan]:
    return list(plan_visible_to(user).select_related("trigger_segment").prefetch_related("steps").order_by("name"))


def enrolment_visible_to(user) -> QuerySet[Enrolment]:
    return Enrolment.objects.filter(customers_visible_filter(user))


def enrolment_may_change(*, user, enrolment: Enrolment) -> bool:
    """Marketers and administrators end any enrolment; an account manager those of their own book."""
    if plan_can_edit(user):
        return True
    return customer_editable_by(user).filter(pk=enrolment.customer_id).exists()


def customer_may_enrol(*, user, customer: Customer) -> bool:
    return plan_can_edit(user) or customer_editable_by(user).filter(pk=customer.pk).exists()


def enrolment_list(*, user, plan_id: int | None = None, customer_id: int | None = None, state: str = ""):
    enrolments = enrolment_visible_to(user).select_related("plan", "customer")
    if plan_id is not None:
        enrolments = enrolments.filter(plan_id=plan_id)
    if customer_id is not None:
        enrolments = enrolments.filter(customer_id=customer_id)
    if state:
        enrolments = enrolments.filter(state=state)
    return enrolments


def enrolments_of_customer(*, customer: Customer, limit: int = 20) -> list[Enrolment]:
    """A customer's enrolments, newest first, each with ``runs`` (what each step did, in order)."""
    enrolments = list(
        Enrolment.objects.filter(customer=customer).select_related("plan").order_by("-enrolled_at", "-id")[:limit]
    )
    runs: dict[int, list[EnrolmentStep]] = {}
    for run in (
        EnrolmentStep.objects.filter(enrolment__in=enrolments)
        .select_related("step", "step__template", "message", "followup")
        .order_by("at", "id")
    ):
        runs.setdefault(run.enrolment_id, []).append(run)
    for enrolment in enrolments:
        enrolment.runs = runs.get(enrolment.pk, [])
    return enrolments


def task_list(*, user, state: str = "", plan_id: int | None = None, mine: bool = False) -> QuerySet[FollowUp]:
    """Plans' tasks (follow-ups a plan created) of the customers the user may see, soonest first."""
    tasks = FollowUp.objects.filter(customers_visible_filter(user), plan__isnull=False).select_related(
        "customer", "plan", "assigned_to"
    )
    if state:
        tasks = tasks.filter(state=state)
    if plan_id is not None:
        tasks = tasks.filter(plan_id=plan_id)
    if mine:
        tasks = tasks.filter(assigned_to=user)
    return tasks.order_by("due_at", "id")


def plans_open_for_enrolment() -> QuerySet[ContactPlan]:
    return ContactPlan.objects.filter(is_active=True).order_by("name")


def plan_enrolment_counts(*, plan_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per plan: enrolled (contacted), in control, and open now; one GROUP BY for the list."""
    rows = (
        Enrolment.objects.filter(plan_id__in=plan_ids)
        .values("plan_id")
        .annotate(
            enrolled=Count("id", filter=Q(is_control=False)),
            control=Count("id", filter=Q(is_control=True)),
            open=Count("id", filter=~Q(state=Enrolment.State.ENDED)),
        )
    )
    return {row.pop("plan_id"): row for row in rows}
