"""What orders earn, as one query: the earning rules applied to a set of orders in SQL.

``earn_rows(orders)`` annotates a queryset of orders with the points each earns by the rules in
force when it was placed, and the same query serves one order (placed through the API or the
browser) and a whole import (``INSERT ... SELECT``, services.points_earn_orders): one definition of
earning, never a Python loop over orders.

points = floor(sum over lines of amount x the line's multiplier (the highest product or category
rule in force, else 1) x points per currency unit (the base rule in force) x the highest promotion
in force (else 1) x the member's tier multiplier (else 1)) + the first-purchase bonus in force (when
no earlier purchase of the customer exists).

Only purchases that are placed (not refunded or cancelled) earn, of customers enrolled by the time
of the order.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import (
    BigIntegerField,
    Case,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Floor

from customers.models import Order, OrderLine

from .models import EarningRule, Member

RATE = DecimalField(max_digits=20, decimal_places=6)


def _in_force(at) -> Q:
    return Q(starts_at__lte=at) & (Q(ends_at__isnull=True) | Q(ends_at__gt=at))


def _rule_value(kind: str, at, *, highest: bool = False) -> Subquery:
    rules = EarningRule.objects.filter(_in_force(at), kind=kind)
    # The newest base rule in force is the rule; of several promotions or bonuses, the best counts.
    order = ("-value", "-id") if highest else ("-starts_at", "-id")
    return Subquery(rules.order_by(*order).values("value")[:1], output_field=RATE)


def _weighted_amount() -> Subquery:
    ordered_at = OuterRef(OuterRef("ordered_at"))
    line_rule = (
        EarningRule.objects.filter(_in_force(ordered_at))
        .filter(
            Q(kind=EarningRule.Kind.PRODUCT, sku=OuterRef("product__sku"))
            | Q(kind=EarningRule.Kind.CATEGORY, category=OuterRef("product__category"))
        )
        .order_by("-value", "-id")
        .values("value")[:1]
    )
    lines = (
        OrderLine.objects.filter(order=OuterRef("pk"))
        .annotate(multiplier=Coalesce(Subquery(line_rule, output_field=RATE), Value(Decimal(1)), output_field=RATE))
        .values("order")
        .annotate(total=Sum(F("amount") * F("multiplier"), output_field=RATE))
        .values("total")
    )
    return Subquery(lines, output_field=RATE)


def _earlier_purchase() -> Exists:
    return Exists(
        Order.objects.filter(customer_id=OuterRef("customer_id"), kind=Order.Kind.PURCHASE)
        .exclude(status=Order.Status.CANCELLED)
        .filter(Q(ordered_at__lt=OuterRef("ordered_at")) | Q(ordered_at=OuterRef("ordered_at"), pk__lt=OuterRef("pk")))
    )


def earn_rows(orders: QuerySet[Order], *, expiry_days: int | None) -> QuerySet:
    """``orders`` that earn, with ``earn_points`` (> 0) and ``earn_expires_at`` annotated."""
    at = OuterRef("ordered_at")
    base = Coalesce(_rule_value(EarningRule.Kind.BASE, at), Value(Decimal(0)), output_field=RATE)
    promotion = Coalesce(
        _rule_value(EarningRule.Kind.PROMOTION, at, highest=True), Value(Decimal(1)), output_field=RATE
    )
    tier = Coalesce(
        Subquery(Member.objects.filter(pk=OuterRef("customer_id")).values("tier__earn_multiplier")[:1]),
        Value(Decimal(1)),
        output_field=RATE,
    )
    bonus = Case(
        When(earlier_purchase=True, then=Value(Decimal(0))),
        default=Coalesce(
            _rule_value(EarningRule.Kind.FIRST_PURCHASE, at, highest=True), Value(Decimal(0)), output_field=RATE
        ),
        output_field=RATE,
    )
    earned = ExpressionWrapper(
        Floor(Coalesce(_weighted_amount(), Value(Decimal(0)), output_field=RATE) * base * promotion * tier)
        + Floor(bonus),
        output_field=RATE,
    )
    expires_at = (
        ExpressionWrapper(F("ordered_at") + timedelta(days=expiry_days), output_field=DateTimeField())
        if expiry_days
        else Value(None, output_field=DateTimeField())
    )
    enrolled = Exists(Member.objects.filter(pk=OuterRef("customer_id"), enrolled_at__lte=OuterRef("ordered_at")))
    return (
        orders.filter(kind=Order.Kind.PURCHASE, status=Order.Status.PLACED)
        .filter(enrolled)
        .annotate(earlier_purchase=_earlier_purchase())
        .annotate(earn_points=Cast(earned, BigIntegerField()), earn_expires_at=expires_at)
        .filter(earn_points__gt=0)
    )
