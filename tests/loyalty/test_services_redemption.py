"""Rewards: redeeming takes the points and one item of stock and gives a single-use code; every
refusal (balance short, unknown, not yet or no longer available, out of stock, over the limit; a
code unknown, used or expired) leaves the ledger and the stock unchanged."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from loyalty import redemption as redeeming
from loyalty import selectors, services
from loyalty.models import LedgerEntry, Redemption, Reward

from .factories import MemberFactory, RewardFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def member(ada):
    member = MemberFactory()
    services.points_adjust(customer=member.customer, points=250, reason="Welcome", user=ada)
    return member


def test_redeeming_takes_the_points_and_the_stock_and_gives_a_code(member):
    reward = RewardFactory(points_cost=100, stock=3)

    redemption = redeeming.reward_redeem(customer_id=member.pk, reward_id=reward.pk, now=NOW)

    member.refresh_from_db()
    reward.refresh_from_db()
    assert (member.points, reward.stock) == (150, 2)
    entry = LedgerEntry.objects.get(kind="redeem")
    assert (entry.points, entry.source, entry.redemption) == (-100, "reward", redemption)
    assert len(redemption.code) == 11 and redemption.code_expires_at == NOW + timedelta(days=90)
    assert selectors.balance_drift() == []


@pytest.mark.parametrize(
    ("reward_fields", "message"),
    [
        ({"points_cost": 300}, "costs 300 points and the balance is 250"),
        ({"stock": 0}, "out of stock"),
        ({"active": False}, "no longer offered"),
        ({"valid_until": NOW}, "expired"),
        ({"valid_from": NOW + timedelta(days=1)}, "not available yet"),
    ],
)
def test_a_redemption_that_cannot_be_made_is_refused_with_its_reason_and_changes_nothing(
    member, reward_fields, message
):
    reward = RewardFactory(**reward_fields)

    with pytest.raises(ValidationError, match=message):
        redeeming.reward_redeem(customer_id=member.pk, reward_id=reward.pk, now=NOW)

    member.refresh_from_db()
    assert member.points == 250
    assert Reward.objects.get(pk=reward.pk).stock == reward_fields.get("stock")
    assert not Redemption.objects.exists() and not LedgerEntry.objects.filter(kind="redeem").exists()


def test_an_unknown_reward_and_a_customer_who_is_not_a_member_are_refused(member):
    with pytest.raises(ValidationError, match="no such reward"):
        redeeming.reward_redeem(customer_id=member.pk, reward_id=999_999, now=NOW)
    with pytest.raises(ValidationError, match="not a member"):
        redeeming.reward_redeem(customer_id=member.pk + 1000, reward_id=RewardFactory().pk, now=NOW)


def test_the_per_customer_limit_counts_each_members_redemptions(member):
    reward = RewardFactory(points_cost=10, per_customer_limit=2)
    for _ in range(2):
        redeeming.reward_redeem(customer_id=member.pk, reward_id=reward.pk, now=NOW)

    with pytest.raises(ValidationError, match="2 times per customer"):
        redeeming.reward_redeem(customer_id=member.pk, reward_id=reward.pk, now=NOW)


def test_a_code_is_checked_and_used_once_and_an_expired_or_unknown_code_is_refused(member):
    reward = RewardFactory(points_cost=10, code_valid_days=30)
    redemption = redeeming.reward_redeem(customer_id=member.pk, reward_id=reward.pk, now=NOW)
    everyone = Redemption.objects.all()
    typed = redemption.code.lower().replace("-", " ")

    assert redeeming.redemption_check(code=typed, redemptions=everyone, now=NOW) == (redemption, "")
    redeeming.redemption_use(code=typed, redemptions=everyone, now=NOW + timedelta(hours=1))
    with pytest.raises(ValidationError, match="already used"):
        redeeming.redemption_use(code=redemption.code, redemptions=everyone, now=NOW + timedelta(hours=2))
    with pytest.raises(ValidationError, match="unknown"):
        redeeming.redemption_use(code="ZZZZZ-ZZZZZ", redemptions=everyone, now=NOW)

    late = redeeming.reward_redeem(customer_id=member.pk, reward_id=reward.pk, now=NOW)
    with pytest.raises(ValidationError, match="expired"):
        redeeming.redemption_use(code=late.code, redemptions=everyone, now=NOW + timedelta(days=31))
    assert Redemption.objects.filter(used_at__isnull=False).count() == 1
