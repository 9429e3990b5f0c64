"""What loyalty adds to the registries from its ready(): segment conditions (member, tier,
balance, points expiring: one statement each) and the worklist's "about to lose a tier" signal."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contact_plans import worklist
from customers.models import Customer
from loyalty import services
from retention_crm import segment_conditions as sc
from tests.contact_plans.worklist_helpers import book_customer, metrics_for
from tests.customers.factories import CustomerFactory

from .factories import MemberFactory, TierFactory

pytestmark = pytest.mark.django_db


def matching(key, operator, value=None, days=None) -> set[str]:
    condition = sc.get(key)
    value, days = condition.clean(operator, value, days)
    return set(Customer.objects.filter(condition.to_q(operator, value, days)).values_list("name", flat=True))


@pytest.fixture
def people(ada):
    gold = TierFactory(name="Gold", threshold=500)
    rich = MemberFactory(customer=CustomerFactory(name="Rich"), tier=gold)
    poor = MemberFactory(customer=CustomerFactory(name="Poor"))
    CustomerFactory(name="Outsider")
    services.points_adjust(customer=rich.customer, points=800, reason="Welcome", user=ada)
    services.points_adjust(customer=poor.customer, points=20, reason="Welcome", user=ada)
    return gold


def test_member_tier_and_balance_conditions(people):
    assert matching("loyalty.member", "is_true") == {"Rich", "Poor"}
    assert matching("loyalty.member", "is_false") == {"Outsider"}
    assert matching("loyalty.tier", "eq", people.pk) == {"Rich"}
    assert matching("loyalty.tier", "is_empty") == {"Poor", "Outsider"}
    assert matching("loyalty.points", "between", [10, 100]) == {"Poor"}


def test_points_expiring_within_a_window(people):
    # Adjustments expire after the programme's 365 days.
    assert matching("loyalty.points_expiring", "gte", 500, days=400) == {"Rich"}
    assert matching("loyalty.points_expiring", "gt", 0, days=30) == set()
    assert matching("loyalty.points_expiring", "lte", 0, days=30) == {"Rich", "Poor", "Outsider"}


def test_a_valuable_member_in_the_grace_period_of_a_downgrade_has_a_reason_on_the_worklist(alice):
    gold = TierFactory(name="Gold", threshold=500)
    leaving = book_customer(alice, name="Leaving")
    metrics_for(leaving, value="high")
    MemberFactory(customer=leaving, tier=gold, tier_grace_until=timezone.localdate() + timedelta(days=9))
    staying = book_customer(alice, name="Staying")
    metrics_for(staying, value="high")
    MemberFactory(customer=staying, tier=gold)

    rows = worklist.rows_with_reasons(worklist.worklist_queryset(viewer=alice, manager=alice))

    reasons = {row.name: row.reasons for row in rows}
    assert any("Loses the Gold tier after" in reason for reason in reasons["Leaving"])
    assert not any("tier" in reason for reason in reasons["Staying"])
