"""The ledger invariant under random sequences of earn / refund / cancel / expire / adjust / redeem against PostgreSQL: after every step the
cached balance equals the sum of the entries, no balance is below zero, an order never loses more
than it earned, and expired points never exceed what was earned."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers import services as customer_services
from customers.models import Order
from loyalty import redemption as redeeming
from loyalty import selectors, services
from loyalty.models import LedgerEntry, Member, Programme, Tier

from .factories import EarningRuleFactory, MemberFactory, RewardFactory, TierFactory, place_order

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# Early enough that the longest sequence (25 steps of up to 400 days: 27 years) stays in the past:
# an order is refused more than a day ahead (retention_crm/dates.py).
START = datetime(1995, 1, 1, tzinfo=UTC)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(1, 500), st.integers(0, 120)),
        st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 100)),
        st.tuples(st.just("cancel"), st.integers(0, 20), st.just(0)),
        st.tuples(st.just("expire"), st.integers(0, 400), st.just(0)),
        st.tuples(st.just("adjust"), st.integers(-300, 300), st.just(0)),
        st.tuples(st.just("redeem"), st.integers(1, 300), st.just(0)),
    ),
    min_size=1,
    max_size=25,
)


class _Rollback(Exception):
    pass


def _check_tier(member, now):
    """The tier is the highest whose threshold the points earned in the last 365 days reach."""
    services.member_tiers_refresh(member_ids=[member.pk], now=now)
    member.refresh_from_db()
    earned = (
        LedgerEntry.objects.filter(
            member=member,
            kind__in=["earn", "reverse"],
            occurred_at__gte=now - timedelta(days=365),
            occurred_at__lte=now,
        ).aggregate(s=Sum("points"))["s"]
        or 0
    )
    expected = Tier.objects.filter(threshold__lte=earned).order_by("-threshold").first()
    assert member.tier == expected


def _check(member_ids):
    assert selectors.balance_drift() == []
    assert not Member.objects.filter(points__lt=0).exists()
    for member_id in member_ids:
        entries = LedgerEntry.objects.filter(member_id=member_id)
        earned = entries.filter(kind="earn").aggregate(s=Sum("points"))["s"] or 0
        expired = -(entries.filter(kind="expire").aggregate(s=Sum("points"))["s"] or 0)
        assert expired <= earned + (entries.filter(kind="adjust", points__gt=0).aggregate(s=Sum("points"))["s"] or 0)
    for order_id, earned in LedgerEntry.objects.filter(kind="earn").values_list("order_id", "points"):
        assert -selectors.points_reversed_for_order(order_id=order_id) <= earned


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_the_ledger_adds_up_and_never_goes_below_zero(ada, steps):
    try:
        with transaction.atomic():
            EarningRuleFactory()
            selectors.programme_get()
            Programme.objects.filter(pk=1).update(tier_grace_days=0)
            TierFactory(name="Silver", threshold=300)
            TierFactory(name="Gold", threshold=900, earn_multiplier=Decimal("1.5"))
            member = MemberFactory()
            now = START
            orders: list[Order] = []
            for action, number, other in steps:
                if action == "earn":
                    now += timedelta(days=other)
                    order = place_order(member.customer, amount=str(number), at=now)
                    orders.append(order)
                    services.order_points_earn(order_id=order.pk)
                elif action in ("refund", "cancel") and orders:
                    order = Order.objects.get(pk=orders[number % len(orders)].pk)
                    try:
                        if action == "cancel":
                            customer_services.order_cancel(order=order)
                        else:
                            part = (order.gross_amount * other / 100).quantize(Decimal("0.01"))
                            customer_services.order_refund(order=order, amount=max(part, Decimal("0.01")))
                    except ValidationError:
                        pass  # a cancelled order is not refunded: the customers rule, not ours
                    services.order_points_reverse(order_id=order.pk)
                elif action == "expire":
                    now += timedelta(days=number)
                    services.points_expire(now=now)
                elif action == "redeem":
                    reward = RewardFactory(points_cost=number)
                    try:
                        with transaction.atomic():
                            redeeming.reward_redeem(customer_id=member.pk, reward_id=reward.pk, now=now)
                    except ValidationError:
                        member.refresh_from_db()
                        assert member.points < number  # refused only when the balance is short
                elif action == "adjust" and number:
                    try:
                        with transaction.atomic():
                            services.points_adjust(customer=member.customer, points=number, reason=action, user=ada)
                    except ValidationError:
                        member.refresh_from_db()
                        assert member.points + number < 0  # refused only when it would go below zero
                _check([member.pk])
                _check_tier(member, now)
            raise _Rollback
    except _Rollback:
        pass
