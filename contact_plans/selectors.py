"""Reads of follow-ups and snoozes, scoped by the one visibility rule (customers.selectors)."""

from django.db.models import QuerySet

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


def followup_open_for_customer(*, customer: Customer) -> QuerySet[FollowUp]:
    return customer.followups.filter(state=FollowUp.State.OPEN).select_related("assigned_to").order_by("due_at", "id")
