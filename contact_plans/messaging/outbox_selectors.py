"""Reads of the outbox, scoped by the one visibility rule (customers.selectors)."""

from __future__ import annotations

from django.db.models import QuerySet

from contact_plans.models import AddressStatus, Message
from customers.models import Customer
from customers.selectors import customer_visible_to, customers_visible_filter

from .policy import recipient_of


def message_visible_to(user) -> QuerySet[Message]:
    """Messages to the customers ``user`` may see (an account manager: her book)."""
    return Message.objects.filter(customer__in=customer_visible_to(user).order_by().values("pk"))


def message_list(*, user, customer_id: int | None = None, state: str = "", channel: str = "") -> QuerySet[Message]:
    # Newest first by id: the primary key's index (or, for one customer, message_customer_id) serves
    # it; an account manager's book is checked as its ids (customers.selectors, as the other lists).
    messages = Message.objects.filter(customers_visible_filter(user))
    if customer_id is not None:
        messages = messages.filter(customer_id=customer_id)
    if state:
        messages = messages.filter(state=state)
    if channel:
        messages = messages.filter(channel=channel)
    return messages.order_by("-id")


def address_status_of(customer: Customer, channel: str) -> str:
    """ "bounced", "complained", "stopped" when the customer's address is blocked, else ""."""
    address, _reason = recipient_of(customer, channel)
    if not address:
        return ""
    return AddressStatus.objects.filter(channel=channel, address=address).values_list("status", flat=True).first() or ""
