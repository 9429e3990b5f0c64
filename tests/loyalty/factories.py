"""factory_boy factories for the loyalty app, and a helper that records an order through the
customers service (as the API and the browser do)."""

from datetime import UTC, datetime
from decimal import Decimal

import factory

from customers import services as customer_services
from loyalty.models import EarningRule, Member, Reward, Tier
from tests.customers.factories import CustomerFactory

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    customer = factory.SubFactory(CustomerFactory)
    enrolled_at = EPOCH


class EarningRuleFactory(factory.django.DjangoModelFactory):
    """One point per currency unit, in force from 2020 on, unless told otherwise."""

    class Meta:
        model = EarningRule

    kind = EarningRule.Kind.BASE
    name = factory.Sequence(lambda n: f"Rule {n}")
    value = Decimal("1")
    starts_at = EPOCH


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier

    name = factory.Sequence(lambda n: f"Tier {n}")
    threshold = Decimal("100")


_orders = iter(range(1, 10**9))


def place_order(customer, *, amount="100.00", at=None, sku="SKU-L", category="", external_id=None):
    """One line of ``amount`` through customers.services.order_record."""
    return customer_services.order_record(
        external_id=external_id or f"LO-{next(_orders)}",
        customer=customer,
        ordered_at=at or datetime(2025, 3, 1, 10, tzinfo=UTC),
        lines=[{"sku": sku, "name": "Thing", "category": category, "quantity": 1, "unit_price": str(amount)}],
    )


class RewardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reward

    name = factory.Sequence(lambda n: f"Reward {n}")
    points_cost = 100
