"""Each condition selects the customers it says, and a whole definition is ONE SQL query."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from customers.models import Interaction
from segmentation.conditions import segment_definition_clean
from segmentation.models import SegmentMembership
from segmentation.services import segment_matching_customers
from tests.customers.factories import CustomerFactory, InteractionFactory, ProductFactory

from .factories import SegmentFactory
from .segment_factories import group, metrics, purchase, refund, rule

pytestmark = pytest.mark.django_db


def members(*rules, op="and") -> set[str]:
    definition = segment_definition_clean(group(*rules, op=op))
    return set(segment_matching_customers(definition).values_list("name", flat=True))


def test_three_condition_segment_is_one_query(django_assert_num_queries):
    for index in range(6):
        customer = CustomerFactory(country="GB" if index % 2 else "FR", tags=["vip"] if index < 3 else [])
        metrics(customer, churn_risk=index / 10)
        purchase(customer, category="Books", days_ago=5 + index)
    definition = segment_definition_clean(
        group(
            rule("metrics.churn_risk", "gte", 0.1),
            rule("customer.country", "eq", "GB"),
            rule("behaviour.bought_category", "in", ["Books"], days=30),
        )
    )

    with django_assert_num_queries(1):
        count = segment_matching_customers(definition).count()

    assert count == 3


def test_nested_or_group_is_still_one_query(django_assert_num_queries):
    customer = CustomerFactory(country="GB", tags=["vip"])
    metrics(customer, churn_risk=0.9, rfm_segment="at_risk")
    definition = segment_definition_clean(
        group(
            rule("metrics.risk_level", "ne", "low"),
            group(rule("customer.tags", "all", ["vip"]), rule("metrics.rfm_segment", "eq", "at_risk"), op="or"),
            group(rule("behaviour.purchase", "not_within", 30), rule("metrics.revenue_in_last_days", "lt", 5, days=30)),
        )
    )

    with django_assert_num_queries(1):
        assert segment_matching_customers(definition).count() == 1


def test_customer_fields():
    ann = CustomerFactory(
        name="Ann", country="GB", language="ca", acquisition_source="fair", acquired_at=date(2024, 3, 1)
    )
    CustomerFactory(name="Ben", country="FR", acquired_at=date(2023, 1, 1), tags=["vip", "b2b"])
    CustomerFactory(
        name="Cat",
        country="",
        tags=["vip"],
        marketing_consent=True,
        consent_at=timezone.now(),
        consent_source="web_form",
    )
    ann.tags.set([])

    assert members(rule("customer.country", "eq", "GB")) == {"Ann"}
    assert members(rule("customer.country", "is_empty")) == {"Cat"}
    assert members(rule("customer.country", "not_in", ["GB", "FR"])) == {"Cat"}
    assert members(rule("customer.language", "eq", "ca")) == {"Ann"}
    assert members(rule("customer.acquisition_source", "contains", "FAI")) == {"Ann"}
    assert members(rule("customer.marketing_consent", "is_true")) == {"Cat"}
    assert members(rule("customer.acquired_at", "between", ["2024-01-01", "2024-12-31"])) == {"Ann"}
    assert members(rule("customer.tags", "in", ["vip"])) == {"Ben", "Cat"}
    assert members(rule("customer.tags", "all", ["vip", "b2b"])) == {"Ben"}
    assert members(rule("customer.tags", "not_in", ["b2b"])) == {"Ann", "Cat"}


def test_account_manager(alice, bob):
    CustomerFactory(name="Ann", account_manager=alice)
    CustomerFactory(name="Ben", account_manager=bob)
    CustomerFactory(name="Cat")

    assert members(rule("customer.account_manager", "eq", str(alice.pk))) == {"Ann"}
    assert members(rule("customer.account_manager", "is_empty")) == {"Cat"}
    assert members(rule("customer.account_manager", "ne", alice.pk)) == {"Ben", "Cat"}


def test_archived_customers_are_never_members():
    CustomerFactory(name="Ann", country="GB")
    CustomerFactory(name="Old", country="GB", archived_at=timezone.now())

    assert members(rule("customer.country", "eq", "GB")) == {"Ann"}


def test_metric_conditions():
    ann, ben, cat = CustomerFactory(name="Ann"), CustomerFactory(name="Ben"), CustomerFactory(name="Cat")
    CustomerFactory(name="Dan")  # no metrics at all
    metrics(
        ann, churn_risk=0.9, risk_level="high", value_level="high", r_score=5, rfm_segment="champions", pareto_top=True
    )
    metrics(ben, churn_risk=0.1, risk_level="low", value_level="low", r_score=2, recency_days=200, purchases=4)
    metrics(cat, churn_risk=None, purchases=0, net_revenue=0)

    assert members(rule("metrics.churn_risk", "gt", 0.8)) == {"Ann"}
    assert members(rule("metrics.churn_risk", "is_empty")) == {"Cat", "Dan"}
    assert members(rule("metrics.risk_level", "in", ["high", "medium"])) == {"Ann"}
    assert members(rule("metrics.rfm_segment", "ne", "champions")) == {"Ben", "Cat", "Dan"}
    assert members(rule("metrics.r_score", "between", [1, 3])) == {"Ben"}
    assert members(rule("metrics.pareto_top", "is_true")) == {"Ann"}
    assert members(rule("metrics.recency_days", "gte", 180)) == {"Ben"}
    assert members(rule("metrics.purchases", "gte", 1), rule("metrics.value_level", "eq", "low")) == {"Ben"}


def test_predicted_clv_percentile_and_ratio():
    for index, (predicted, historical) in enumerate([(100, 90), (200, 50), (300, 100), (400, 300), (500, 100)]):
        metrics(CustomerFactory(name=f"C{index}"), predicted_clv=predicted, net_revenue=historical)
    metrics(CustomerFactory(name="Never bought"), purchases=0, predicted_clv=1000, net_revenue=0)

    # Percent rank among buyers: 0, 25, 50, 75, 100.
    assert members(rule("metrics.predicted_clv_percentile", "gte", 75)) == {"C3", "C4"}
    assert members(rule("metrics.predicted_over_historical_clv", "gte", 2)) == {"C1", "C2", "C4"}


def test_revenue_in_a_window_counts_refunds_and_customers_without_orders():
    ann, ben, cat = CustomerFactory(name="Ann"), CustomerFactory(name="Ben"), CustomerFactory(name="Cat")
    purchase(ann, amount="120.00", days_ago=10)
    purchase(ben, amount="120.00", days_ago=10)
    refund(ben, amount="50.00", days_ago=5)
    purchase(cat, amount="500.00", days_ago=100)

    assert members(rule("metrics.revenue_in_last_days", "gt", 100, days=30)) == {"Ann"}
    assert members(rule("metrics.revenue_in_last_days", "lt", 100, days=30)) == {"Ben", "Cat"}
    assert members(rule("metrics.revenue_in_last_days", "eq", 0, days=30)) == {"Cat"}
    assert members(rule("metrics.revenue_in_last_days", "between", [50, 100], days=30)) == {"Ben"}


def test_bought_product_and_category_ever_or_in_a_window():
    book = ProductFactory(sku="BOOK-1", category="Books")
    ann, ben, cat = CustomerFactory(name="Ann"), CustomerFactory(name="Ben"), CustomerFactory(name="Cat")
    purchase(ann, product=book, days_ago=5)
    purchase(ben, product=book, days_ago=200)
    purchase(cat, category="Music", days_ago=5)

    assert members(rule("behaviour.bought_product", "eq", "BOOK-1")) == {"Ann", "Ben"}
    assert members(rule("behaviour.bought_product", "eq", "BOOK-1", days=30)) == {"Ann"}
    assert members(rule("behaviour.bought_category", "not_in", ["Books"])) == {"Cat"}
    assert members(rule("behaviour.bought_category", "in", ["Books", "Music"], days=30)) == {"Ann", "Cat"}


def test_refunded_order_is_not_a_purchase():
    ann = CustomerFactory(name="Ann")
    order = purchase(ann, category="Books", days_ago=3)
    order.status, order.net_amount = "cancelled", 0
    order.save()

    assert members(rule("behaviour.bought_category", "eq", "Books")) == set()
    assert members(rule("behaviour.purchase", "not_within", 30)) == {"Ann"}


def test_did_not_buy_in_n_days():
    ann, ben = CustomerFactory(name="Ann"), CustomerFactory(name="Ben")
    CustomerFactory(name="Cat")
    purchase(ann, days_ago=10)
    purchase(ben, days_ago=100)

    assert members(rule("behaviour.purchase", "not_within", 90)) == {"Ben", "Cat"}
    assert members(rule("behaviour.purchase", "within", 90)) == {"Ann"}


def test_open_complaint_and_interactions():
    ann, ben, cat = CustomerFactory(name="Ann"), CustomerFactory(name="Ben"), CustomerFactory(name="Cat")
    InteractionFactory(customer=ann, kind=Interaction.Kind.COMPLAINT)
    InteractionFactory(customer=ben, kind=Interaction.Kind.COMPLAINT, resolved_at=timezone.now())
    InteractionFactory(customer=cat, kind=Interaction.Kind.MEETING, occurred_at=timezone.now() - timedelta(days=40))

    assert members(rule("behaviour.open_complaint", "is_true")) == {"Ann"}
    assert members(rule("behaviour.open_complaint", "is_false")) == {"Ben", "Cat"}
    assert members(rule("behaviour.interaction", "in", ["meeting", "call"])) == {"Cat"}
    assert members(rule("behaviour.interaction", "eq", "meeting", days=30)) == set()
    assert members(rule("behaviour.interaction", "ne", "complaint")) == {"Cat"}


def test_referrals_who_bought():
    ann, ben = CustomerFactory(name="Ann"), CustomerFactory(name="Ben")
    CustomerFactory(name="Cat")
    buyer = CustomerFactory(name="Buyer", referred_by=ann)
    CustomerFactory(name="Browser", referred_by=ben)
    purchase(buyer)

    assert members(rule("behaviour.referrals_who_bought", "gte", 1)) == {"Ann"}
    assert "Cat" in members(rule("behaviour.referrals_who_bought", "eq", 0))
    assert "Ann" not in members(rule("behaviour.referrals_who_bought", "lt", 1))


def test_member_of_another_segment():
    ann, ben = CustomerFactory(name="Ann"), CustomerFactory(name="Ben")
    other = SegmentFactory(name="Other", definition=group(rule("customer.country", "eq", "GB")))
    SegmentMembership.objects.create(segment=other, customer=ann, entered_at=timezone.now())
    SegmentMembership.objects.create(
        segment=other, customer=ben, entered_at=timezone.now() - timedelta(days=2), exited_at=timezone.now()
    )

    assert members(rule("segment.member_of", "in", [other.pk])) == {"Ann"}
    assert members(rule("segment.member_of", "not_in", [other.pk])) == {"Ben"}
