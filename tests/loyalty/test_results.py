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
    assert results.redemption_rate == pytest.approx(120 / 550) and results.breakage == 0
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
