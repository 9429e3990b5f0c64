"""Reads of message templates, and who may do what with them (through customers.roles).

Administrators and marketers write templates (and test-send them to themselves); account managers
read and preview them, for the customers they may see; anyone without a role sees none.
"""

from django.db.models import Prefetch, QuerySet

from customers import roles
from customers.models import Customer
from customers.selectors import customer_visible_to

from ..models import MessageTemplate, MessageTemplateContent

# Customers offered when choosing whom to preview for: a short list to pick from, not a directory.
CUSTOMER_CHOICES = 20


def template_can_read(user) -> bool:
    return roles.has_any_role(user)


def template_can_edit(user) -> bool:
    return roles.is_administrator(user) or roles.is_marketer(user)


def template_list(*, user) -> QuerySet[MessageTemplate]:
    if not template_can_read(user):
        return MessageTemplate.objects.none()
    contents = MessageTemplateContent.objects.order_by("language")
    return MessageTemplate.objects.prefetch_related(Prefetch("contents", queryset=contents)).order_by("name", "id")


def template_get(*, user, template_id: int) -> MessageTemplate:
    """The template, or MessageTemplate.DoesNotExist when the user may not read it (a 404)."""
    return template_list(user=user).get(pk=template_id)


def preview_customers(*, user, search: str = "", limit: int = CUSTOMER_CHOICES) -> QuerySet[Customer]:
    """Customers the user may see, to preview a template for: matching ``search`` (name, email or
    customer number), by name."""
    customers = customer_visible_to(user).filter(archived_at__isnull=True)
    if search:
        customers = (
            customers.filter(name__icontains=search)
            | customers.filter(email__icontains=search)
            | (customers.filter(external_id__iexact=search))
        )
    return customers.select_related("account_manager").order_by("name", "id")[:limit]


def preview_customer_get(*, user, customer_id: int) -> Customer:
    """Customer.DoesNotExist when the user may not see them (a 404)."""
    return customer_visible_to(user).select_related("account_manager").get(pk=customer_id)
