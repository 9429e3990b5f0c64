"""Builders for the segment tests: definitions, hand-set metrics and orders on a given day."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from customers.models import Order
from metrics.models import CustomerMetrics
from tests.customers.factories import OrderFactory, ProductFactory, order_add_line
from tests.metrics.factories import CustomerMetricsFactory


def rule(field: str, operator: str, value=None, days=None) -> dict:
    node = {"field": field, "operator": operator, "value": value}
    if days is not None:
        node["days"] = days
    return node


def group(*rules, op: str = "and") -> dict:
    return {"op": op, "rules": list(rules)}


def metrics(customer, **fields) -> CustomerMetrics:
    """A CustomerMetrics row set by hand; every figure not given keeps the model's default."""
    for money in ("net_revenue", "revenue_12m", "predicted_clv"):
        if fields.get(money) is not None:
            fields[money] = Decimal(str(fields[money]))
    return CustomerMetricsFactory(customer=customer, **fields)


def purchase(customer, *, days_ago: int = 10, amount="20.00", sku=None, category="", product=None) -> Order:
    """A purchase of one product `days_ago` days ago (a new product unless given)."""
    order = OrderFactory(customer=customer, ordered_at=timezone.now() - timedelta(days=days_ago))
    if product is None:
        product = ProductFactory(**({"sku": sku} if sku else {}), category=category)
    order_add_line(order, product=product, unit_price=amount)
    return order


def refund(customer, *, days_ago: int = 5, amount="15.00") -> Order:
    amount = Decimal(amount)
    return OrderFactory(
        customer=customer,
        ordered_at=timezone.now() - timedelta(days=days_ago),
        kind=Order.Kind.REFUND,
        gross_amount=-amount,
        net_amount=-amount,
    )
