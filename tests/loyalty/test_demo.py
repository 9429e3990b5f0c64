"""The demo's programme (demo.seeded): tiers, rules, rewards, every third customer enrolled with
what their orders earned, tiers from those points; a second seed changes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty import contests, selectors
from loyalty.demo import loyalty_demo_seed
from loyalty.models import Contest, ContestWinner, LedgerEntry, Member, Redemption, Reward, Tier
from tests.customers.factories import CustomerFactory

from .factories import place_order

pytestmark = pytest.mark.django_db


def test_the_demo_programme_enrols_a_third_of_the_customers_with_their_points_and_tiers():
    customers = [CustomerFactory() for _ in range(9)]
    for customer in customers:
        place_order(customer, amount="700", at=timezone.now() - timedelta(days=10))

    assert loyalty_demo_seed() is True
    assert loyalty_demo_seed() is False

    members = Member.objects.all()
    assert members.count() == 3 and {m.pk % 3 for m in members} == {0}
    assert Tier.objects.count() == 3 and Reward.objects.count() == 3
    assert LedgerEntry.objects.filter(kind="earn").count() == 3
    assert set(members.values_list("tier__name", flat=True)) == {"Silver"}  # 700 + 50 welcome bonus
    assert selectors.balance_drift() == []


def test_the_demo_members_who_can_afford_a_reward_have_redeemed_some():
    for customer in [CustomerFactory() for _ in range(9)]:
        place_order(customer, amount="700", at=timezone.now() - timedelta(days=10))

    loyalty_demo_seed()

    # Every second member who can afford one: the dearest reward within 750 points, dated in the past.
    redemptions = Redemption.objects.order_by("member_id")
    assert [r.reward.name for r in redemptions] == ["Voucher 10", "Voucher 10"]
    assert all(r.created_at < timezone.now() - timedelta(hours=23) for r in redemptions)
    assert sorted(Member.objects.values_list("points", flat=True)) == [250, 250, 750]
    assert LedgerEntry.objects.filter(kind="redeem").count() == 2
    assert selectors.balance_drift() == []


def test_the_demo_has_a_drawn_contest_and_a_running_one():
    customers = [CustomerFactory() for _ in range(12)]
    for customer in customers:
        place_order(customer, amount="70", at=timezone.now() - timedelta(days=45))

    loyalty_demo_seed()

    drawn = Contest.objects.get(name="Spring prize draw")
    running = Contest.objects.get(name="Points race")
    ranked = Contest.objects.get(name="Top earners of the spring")
    assert ranked.drawn_at is not None and contests.contest_redraw(contest=ranked)[1] is True
    assert Contest.objects.filter(entry_rule="survey", drawn_at=None).count() == 1
    assert drawn.drawn_at is not None and running.drawn_at is None and running.ends_at > timezone.now()
    assert ContestWinner.objects.filter(contest=drawn).count() == 3  # 4 members entered, 3 winners
    assert contests.contest_redraw(contest=drawn)[1] is True
    assert selectors.programme_get().referral_reward_points == 200
