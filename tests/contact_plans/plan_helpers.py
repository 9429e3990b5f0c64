"""Helpers of the contact plan tests: a plan built through the service, as the builder does."""

from datetime import timedelta

from django.utils import timezone

from contact_plans.plans.services import plan_save
from contact_plans.plans.validation import StepData
from customers.models import Order
from tests.customers.factories import OrderFactory, order_add_line

from .factories import MessageTemplateFactory


def email_template(**fields):
    fields.setdefault("purpose", "promotional")
    return MessageTemplateFactory(**fields)


def build_plan(*, steps=None, **data):
    """A plan saved through plan_save; by default promotional, first purchase, an email then a call."""
    data.setdefault("name", "Welcome")
    data.setdefault("trigger", "first_purchase")
    data.setdefault("control_percent", 0)
    data.setdefault("purpose", "promotional")
    if steps is None:
        steps = [
            StepData(kind="email", template=email_template()),
            StepData(kind="task", task_kind="call", delay_days=2, task_note="Ask how it went"),
        ]
    plan = plan_save(data=data, steps=steps)
    return plan


def move_checked_back(plan, *, minutes=10):
    """Pretend the plan's triggers last looked a while ago (as a plan created earlier would)."""
    plan.triggers_checked_at = timezone.now() - timedelta(minutes=minutes)
    plan.save(update_fields=["triggers_checked_at"])


def purchase(customer, *, days_ago=0, amount="20.00") -> Order:
    order = OrderFactory(customer=customer, ordered_at=timezone.now() - timedelta(days=days_ago))
    order_add_line(order, unit_price=amount)
    return order
