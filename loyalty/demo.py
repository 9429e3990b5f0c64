"""The programme of the demo data (demo.seeded): earning rules, three tiers, a few rewards, and
about a third of the customers enrolled, with the points their orders earned.

Set-based like the seed itself: one INSERT ... SELECT enrols the members, the orders earn through
services.points_earn_orders (one statement), tiers are refreshed in one pass. Runs once: a
programme that already has tiers is left alone.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer, Order

from . import contests, redemption, selectors, services
from .models import Contest, EarningRule, Member, Programme, Reward, Tier

logger = logging.getLogger(__name__)

TIERS = [
    ("Bronze", Decimal("100"), Decimal("0"), Decimal("1"), "Birthday gift"),
    ("Silver", Decimal("500"), Decimal("5"), Decimal("1.25"), "5% off, early access to sales"),
    ("Gold", Decimal("1500"), Decimal("10"), Decimal("1.5"), "10% off, free delivery, event invitations"),
]
REWARDS = [("Tote bag", 250, 40), ("Voucher 10", 500, None), ("Tasting evening", 1500, 12)]
# Every third customer by id: enough members to fill the tiers and the results, and non-members to
# compare their repeat-purchase rate with.
ENROL_EVERY = 3
# Every second member who can afford a reward has redeemed one in the last weeks (at most this many),
# so that the results show redemptions and a breakage below 100 %.
REDEMPTIONS = 40


@transaction.atomic
def loyalty_demo_seed() -> bool:
    if Tier.objects.exists():
        return False
    start = timezone.now() - timedelta(days=5 * 365)
    EarningRule.objects.create(kind="base", name="1 point per unit", value=Decimal("1"), starts_at=start)
    EarningRule.objects.create(kind="first_purchase", name="Welcome bonus", value=Decimal("50"), starts_at=start)
    EarningRule.objects.create(
        kind="promotion",
        name="Double points week",
        value=Decimal("2"),
        starts_at=timezone.now() - timedelta(days=3),
        ends_at=timezone.now() + timedelta(days=4),
    )
    for name, threshold, discount, multiplier, benefits in TIERS:
        Tier.objects.create(
            name=name, threshold=threshold, discount_percent=discount, earn_multiplier=multiplier, benefits=benefits
        )
    for name, cost, stock in REWARDS:
        Reward.objects.create(name=name, points_cost=cost, stock=stock)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Member._meta.db_table} (customer_id, enrolled_at, points) "  # noqa: S608 - table names only
            f"SELECT id, %s, 0 FROM {Customer._meta.db_table} WHERE id %% %s = 0",
            (connection.ops.adapt_datetimefield_value(start), ENROL_EVERY),
        )
    awarded = services.points_earn_orders(orders=Order.objects.all())
    services.points_expire()
    services.member_tiers_refresh(notify=False)
    selectors.programme_get()
    Programme.objects.filter(pk=1).update(
        referral_reward_points=200, referred_reward_points=100, birthday_bonus_points=100
    )
    _contests_seed()
    redeemed = _redemptions_seed()
    logger.info("loyalty.demo_seeded orders=%s redemptions=%s", awarded, redeemed)
    return True


def _contests_seed() -> None:
    """A contest of last month, drawn (its winners not emailed: demo data), a points ranking of the
    same month, ranked, and two running now (a points race, entries by answering a survey)."""
    now = timezone.now()
    drawn = contests.contest_save(
        contest=Contest(
            name="Spring prize draw",
            prize="A hamper of the season's best",
            description="Every purchase of 20 or more is one entry.",
            starts_at=now - timedelta(days=60),
            ends_at=now - timedelta(days=30),
            entry_rule=Contest.EntryRule.PURCHASE,
            min_amount=Decimal("20"),
            winners_count=3,
        )
    )
    contests.contest_draw(contest_id=drawn.pk, now=now, notify=False)
    ranked = contests.contest_save(
        contest=Contest(
            name="Top earners of the spring",
            prize="A dinner for two",
            description="The members who earn the most points win.",
            starts_at=now - timedelta(days=60),
            ends_at=now - timedelta(days=30),
            entry_rule=Contest.EntryRule.POINTS,
            winner_method=Contest.WinnerMethod.RANKING,
            winners_count=3,
        )
    )
    contests.contest_draw(contest_id=ranked.pk, now=now, notify=False)
    contests.contest_save(
        contest=Contest(
            name="Tell us and win",
            prize="A voucher of 50",
            description="Every survey you answer is one entry.",
            starts_at=now - timedelta(days=5),
            ends_at=now + timedelta(days=25),
            entry_rule=Contest.EntryRule.SURVEY,
            winners_count=1,
        )
    )
    contests.contest_save(
        contest=Contest(
            name="Points race",
            prize="Two tickets to the tasting evening",
            description="Every 100 points earned is one entry.",
            starts_at=now - timedelta(days=10),
            ends_at=now + timedelta(days=20),
            entry_rule=Contest.EntryRule.POINTS,
            points_per_entry=100,
            winners_count=2,
        )
    )


def _redemptions_seed() -> int:
    """Members who can afford a reward redeem the dearest one in stock, spread over the last 50 days
    (each through reward_redeem: the ledger, the stock, the code and its email, the timeline)."""
    now = timezone.now()
    rewards = list(Reward.objects.order_by("-points_cost").values_list("pk", "points_cost"))
    cheapest = min(cost for _, cost in rewards)
    members = Member.objects.filter(points__gte=cheapest).order_by("pk").values_list("customer_id", "points")
    redeemed = 0
    for i, (customer_id, points) in enumerate(members[: REDEMPTIONS * 2 : 2]):
        for reward_id, cost in rewards:
            if cost > points:
                continue
            try:
                redemption.reward_redeem(
                    customer_id=customer_id, reward_id=reward_id, now=now - timedelta(days=1 + i % 50)
                )
            except ValidationError:  # out of stock: the next one down
                continue
            redeemed += 1
            break
    return redeemed
