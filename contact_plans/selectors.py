"""Reads of follow-ups and snoozes, scoped by the one visibility rule (customers.selectors), and of
the customers a reassignment would move."""

from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from customers.models import Customer
from customers.selectors import customer_editable_by, customer_visible_to

from .models import FollowUp


def followup_visible_to(user) -> QuerySet[FollowUp]:
    """Follow-ups of the customers ``user`` may see."""
    visible = customer_visible_to(user).order_by().values("pk")
    return FollowUp.objects.filter(customer__in=visible)


def followup_editable_by(user) -> QuerySet[FollowUp]:
    """Follow-ups ``user`` may complete or cancel: those of the customers they may edit."""
    editable = customer_editable_by(user).order_by().values("pk")
    return FollowUp.objects.filter(customer__in=editable)


def followup_list(*, user, state: str | None = None, customer_id: int | None = None, mine: bool = False):
    followups = followup_visible_to(user).select_related("customer", "assigned_to")
    if state:
        followups = followups.filter(state=state)
    if customer_id is not None:
        followups = followups.filter(customer_id=customer_id)
    if mine:
        followups = followups.filter(assigned_to=user)
    return followups.order_by("due_at", "id")


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def followup_due(*, viewer, assignee=None, today: date | None = None) -> QuerySet[FollowUp]:
    """The open follow-ups due today or before (overdue), of the customers ``viewer`` may see,
    oldest first: ``assignee``'s (None: everyone's). Served by followup_assignee_state_due."""
    today = today or timezone.localdate()
    followups = followup_visible_to(viewer).filter(
        state=FollowUp.State.OPEN, due_at__lt=day_start(today + timedelta(days=1))
    )
    if assignee is not None:
        followups = followups.filter(assigned_to=assignee)
    return followups.select_related("customer", "assigned_to", "plan").order_by("due_at", "id")


def followup_due_counts(*, viewer, assignee=None, today: date | None = None) -> dict[str, int]:
    """``{"overdue": n, "today": m}``: of followup_due, those due on an earlier day and those due today."""
    today = today or timezone.localdate()
    start = day_start(today)
    counts = (
        followup_due(viewer=viewer, assignee=assignee, today=today)
        .order_by()
        .aggregate(overdue=Count("id", filter=Q(due_at__lt=start)), today=Count("id", filter=Q(due_at__gte=start)))
    )
    return {"overdue": counts["overdue"] or 0, "today": counts["today"] or 0}


def followup_open_for_customer(*, customer: Customer) -> QuerySet[FollowUp]:
    return (
        customer.followups.filter(state=FollowUp.State.OPEN)
        .select_related("assigned_to", "plan")
        .order_by("due_at", "id")
    )


def book_reassign_candidates(*, from_manager, risk_level: str = "", value_level: str = "", country: str = ""):
    """Active customers of ``from_manager``'s book matching the filters, by primary key."""
    customers = Customer.objects.filter(account_manager=from_manager, archived_at__isnull=True)
    if risk_level:
        customers = customers.filter(metrics__risk_level=risk_level)
    if value_level:
        customers = customers.filter(metrics__value_level=value_level)
    if country:
        customers = customers.filter(country=country)
    return customers.order_by("pk")
