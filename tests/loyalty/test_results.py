"""The programme's results over a period, worked out by hand on a few members."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from loyalty import redemption, services
from loyalty.models import Programme
from loyalty.results import programme_results
from tests.conftest import api_client_for
from tests.customers.factories import CustomerFactory

from .factories import EarningRuleFactory, MemberFactory, RewardFactory, TierFactory, place_order

pytestmark = pytest.mark.django_db

START, END = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)


@pytest.fixture
def programme(ada):
    EarningRuleFactory()
    Programme.objects.update_or_create(pk=1, defaults={"point_value": Decimal("0.02")})
    TierFactory(name="Silver", threshold=150)
    buyer, idle = MemberFactory(), MemberFactory()
    for day, amount in ((2, "450"), (9, "100")):  # a member who bought twice: 450 + 100 points
        order = place_order(buyer.customer, amount=amount, at=START + timedelta(days=day))
        services.points_earn_orders(orders=type(order).objects.filter(pk=order.pk))
    services.points_adjust(customer=idle.customer, points=50, reason="Welcome", user=ada)
    redemption.reward_redeem(
        customer_id=buyer.pk, reward_id=RewardFactory(points_cost=120).pk, now=START + timedelta(days=10)
    )
    services.member_tiers_refresh(now=START + timedelta(days=11))
    once, twice = CustomerFactory(), CustomerFactory()  # non-members: one of two bought again
    place_order(once, at=START + timedelta(days=3))
    place_order(twice, at=START + timedelta(days=3))
    place_order(twice, at=START + timedelta(days=4))
    return buyer, idle


def test_results_of_a_period(programme):
    results = programme_results(start=START, end=END)

    # Issued in March: 450 + 100 earned (the 50 adjustment is dated today); 120 redeemed; 430 + 50 left
    # at 0.02 each.
    assert (results.members, results.active_members) == (2, 1)
    assert (results.points_issued, results.points_redeemed, results.points_expired) == (550, 120, 0)
    assert results.redemption_rate == pytest.approx(120 / 550) and results.breakage is None
    assert (results.outstanding_points, results.outstanding_liability) == (480, Decimal("9.60"))
    assert results.tiers == [("Silver", 1)] and (results.moves_up, results.moves_down) == (1, 0)
    assert (results.repeat_rate_members, results.repeat_rate_others) == (1.0, 0.5)


def test_results_through_the_api_are_for_those_who_see_every_book(programme, marta, alice):
    url = reverse("api-loyalty-results")

    answer = api_client_for(marta).get(url, {"start": "2025-03-01", "end": "2025-03-31"})
    backwards = api_client_for(marta).get(url, {"start": "2025-03-31", "end": "2025-03-01"})

    assert answer.status_code == 200 and answer.json()["points_issued"] == 550
    assert backwards.status_code == 400 and "end" in backwards.json()["error"]["fields"]
    assert api_client_for(alice).get(url, {"start": "2025-03-01", "end": "2025-03-31"}).status_code == 403


# --- Breakage, by cohort (docs/metrics.md: expired over the points whose expiry date fell in the period)


@pytest.fixture
def cohorts():
    """300 points earned in January 2024 and 200 in June 2024 (expiring 365 days later); 100
    redeemed in February 2024 (from the oldest); expiry run after each expiry date."""
    EarningRuleFactory(starts_at=datetime(2023, 1, 1, tzinfo=UTC))
    member = MemberFactory(enrolled_at=datetime(2023, 1, 1, tzinfo=UTC))
    for at, amount in ((datetime(2024, 1, 10, tzinfo=UTC), "300"), (datetime(2024, 6, 10, tzinfo=UTC), "200")):
        order = place_order(member.customer, amount=amount, at=at)
        services.points_earn_orders(orders=type(order).objects.filter(pk=order.pk))
    redemption.reward_redeem(
        customer_id=member.pk, reward_id=RewardFactory(points_cost=100).pk, now=datetime(2024, 2, 1, tzinfo=UTC)
    )
    services.points_expire(now=datetime(2025, 1, 20, tzinfo=UTC))
    services.points_expire(now=datetime(2025, 6, 20, tzinfo=UTC))
    return member


def test_breakage_is_the_share_of_a_cohort_that_expired_unredeemed(cohorts):
    january = programme_results(start=datetime(2025, 1, 1, tzinfo=UTC), end=datetime(2025, 2, 1, tzinfo=UTC))
    june = programme_results(start=datetime(2025, 6, 1, tzinfo=UTC), end=datetime(2025, 7, 1, tzinfo=UTC))
    year = programme_results(start=datetime(2025, 1, 1, tzinfo=UTC), end=datetime(2026, 1, 1, tzinfo=UTC))

    # January's cohort: the 300 points of January 2024, of which 100 were redeemed and 200 expired.
    assert (january.breakage_cohort_points, january.breakage_expired_points) == (300, 200)
    assert january.breakage == pytest.approx(2 / 3)
    # June's: the 200 of June 2024, all expired; the year's, both.
    assert (june.breakage_cohort_points, june.breakage_expired_points, june.breakage) == (200, 200, 1.0)
    assert (year.breakage_cohort_points, year.breakage_expired_points) == (500, 400)
    # Never above 100 %, whatever expired in the period against what was issued in it.
    assert year.breakage <= 1 and january.points_expired == 200 and january.points_issued == 0


def test_breakage_of_a_period_whose_points_have_not_expired_yet_is_none(cohorts):
    earned = programme_results(start=datetime(2024, 1, 1, tzinfo=UTC), end=datetime(2024, 2, 1, tzinfo=UTC))
    later = programme_results(start=datetime(2090, 1, 1, tzinfo=UTC), end=datetime(2090, 2, 1, tzinfo=UTC))

    assert (earned.breakage_cohort_points, earned.breakage) == (0, None)
    assert (later.breakage_cohort_points, later.breakage) == (0, None)


def test_breakage_counts_what_was_taken_back_of_a_lot_out_of_its_cohort():
    EarningRuleFactory(starts_at=datetime(2023, 1, 1, tzinfo=UTC))
    member = MemberFactory(enrolled_at=datetime(2023, 1, 1, tzinfo=UTC))
    order = place_order(member.customer, amount="400", at=datetime(2024, 1, 10, tzinfo=UTC))
    services.points_earn_orders(orders=type(order).objects.filter(pk=order.pk))
    order.refunded_amount = Decimal("100")
    order.save(update_fields=["refunded_amount"])
    services.order_points_reverse(order_id=order.pk)  # 100 points taken back: 300 left to expire
    services.points_expire(now=datetime(2025, 1, 20, tzinfo=UTC))

    january = programme_results(start=datetime(2025, 1, 1, tzinfo=UTC), end=datetime(2025, 2, 1, tzinfo=UTC))

    assert (january.breakage_cohort_points, january.breakage_expired_points, january.breakage) == (300, 300, 1.0)
