"""Tiers: reached by points earned (or spend) in the window, never by the spendable balance; an
upgrade at once, a downgrade after the grace period; the tier's multiplier applies to earning."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty import selectors, services
from loyalty.models import Programme, TierChange

from .factories import EarningRuleFactory, MemberFactory, TierFactory, place_order

pytestmark = pytest.mark.django_db

AT = datetime(2025, 3, 1, 10, tzinfo=UTC)


@pytest.fixture
def tiers(db):
    EarningRuleFactory()
    selectors.programme_get()
    return TierFactory(name="Silver", threshold=100), TierFactory(name="Gold", threshold=500, earn_multiplier=2)


def earn(member, amount, at=AT):
    order = place_order(member.customer, amount=str(amount), at=at)
    services.points_earn_orders(orders=type(order).objects.filter(pk=order.pk))
    return order


def test_points_earned_reach_a_tier_and_spending_them_does_not_lose_it(tiers, ada):
    silver, gold = tiers
    member = MemberFactory()
    earn(member, 150)

    services.member_tiers_refresh(now=AT + timedelta(days=1))
    services.points_adjust(customer=member.customer, points=-150, reason="Spent", user=ada)
    services.member_tiers_refresh(now=AT + timedelta(days=2))

    member.refresh_from_db()
    assert (member.tier, member.points, member.tier_grace_until) == (silver, 0, None)
    assert TierChange.objects.get().to_tier == silver


def test_a_member_below_the_threshold_keeps_the_tier_for_the_grace_period_then_moves_down(tiers):
    silver, _gold = tiers
    Programme.objects.filter(pk=1).update(tier_grace_days=30)
    member = MemberFactory()
    earn(member, 150)
    services.member_tiers_refresh(now=AT + timedelta(days=1))

    later = AT + timedelta(days=400)  # the points fell out of the rolling year
    services.member_tiers_refresh(now=later)
    member.refresh_from_db()
    assert (member.tier, member.tier_grace_until) == (silver, (later + timedelta(days=30)).date())

    services.member_tiers_refresh(now=later + timedelta(days=31))
    member.refresh_from_db()
    assert (member.tier, member.tier_grace_until) == (None, None)
    assert list(TierChange.objects.order_by("id").values_list("to_tier__name", flat=True)) == ["Silver", None]


def test_qualifying_again_within_the_grace_period_keeps_the_tier_without_a_move(tiers):
    silver, _gold = tiers
    member = MemberFactory()
    earn(member, 150)
    services.member_tiers_refresh(now=AT + timedelta(days=1))
    services.member_tiers_refresh(now=AT + timedelta(days=400))

    earn(member, 120, at=AT + timedelta(days=405))
    services.member_tiers_refresh(now=AT + timedelta(days=406))

    member.refresh_from_db()
    assert (member.tier, member.tier_grace_until) == (silver, None)
    assert TierChange.objects.count() == 1


def test_tiers_by_spend_over_the_calendar_year(tiers):
    _silver, gold = tiers
    Programme.objects.filter(pk=1).update(tier_basis="spend", tier_window="calendar_year")
    member = MemberFactory()
    earn(member, 300, at=datetime(2024, 12, 20, tzinfo=UTC))  # last year: does not count
    earn(member, 520, at=datetime(2025, 1, 5, tzinfo=UTC))

    services.member_tiers_refresh(now=datetime(2025, 2, 1, tzinfo=UTC))

    member.refresh_from_db()
    assert member.tier == gold


def test_the_tier_multiplier_applies_to_what_an_order_earns_and_the_standing_shows_the_next_tier(tiers):
    silver, gold = tiers
    member = MemberFactory()
    earn(member, 500)
    services.member_tiers_refresh(now=AT + timedelta(hours=1))

    order = earn(member, 10, at=AT + timedelta(days=1))

    assert order.loyalty_entries.get().points == 20
    standing = selectors.member_standing(member=member, now=AT + timedelta(days=2))
    assert (standing["tier"], standing["next_tier"], standing["points"]) == (gold, None, 520)
    assert standing["qualifying"] == Decimal("520")
