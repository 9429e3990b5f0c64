"""Earning in bulk: the orders an import wrote earn in one INSERT ... SELECT (never a statement per
order), and the reactions: order.placed, order.changed and orders.imported reach the ledger once the
publisher's transaction commits."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers import services as customer_services
from loyalty import selectors, services
from loyalty.models import LedgerEntry
from tests.customers.factories import CustomerFactory, run_import

from .factories import EarningRuleFactory, MemberFactory, place_order

pytestmark = pytest.mark.django_db

HEADER = "order_id,customer_id,ordered_at,sku,product_name,category,quantity,unit_price,kind,status\n"


def _orders_csv(count: int) -> str:
    rows = [
        f"B-{n},BULK-{n % 7},2025-02-0{1 + n % 9}T10:00:00Z,SKU-{n % 3},Thing,Food,2,10.00,purchase,placed"
        for n in range(count)
    ]
    return HEADER + "\n".join(rows) + "\n"


@pytest.fixture
def bulk_members(db):
    EarningRuleFactory()
    EarningRuleFactory(kind="category", category="Food", value=Decimal("2"))
    selectors.programme_get()
    CustomerFactory(external_id="BULK-5"), CustomerFactory(external_id="BULK-6")  # not members
    return [MemberFactory(customer=CustomerFactory(external_id=f"BULK-{n}")) for n in range(5)]


def test_an_import_earns_in_one_statement_whatever_its_size(ada, bulk_members):
    small = run_import(ada, _orders_csv(7), "orders", "small.csv")
    large = run_import(ada, _orders_csv(70).replace("B-", "L-"), "orders", "large.csv")

    with CaptureQueriesContext(connection) as few:
        services.import_points_earn(job_id=small.pk)
    with CaptureQueriesContext(connection) as many:
        awarded = services.import_points_earn(job_id=large.pk)

    assert len(many) == len(few)
    assert awarded == 50  # the orders of the 5 members among 7 customers
    assert set(LedgerEntry.objects.filter(order__import_job=large).values_list("points", flat=True)) == {40}
    assert services.import_points_earn(job_id=large.pk) == 0  # a second run awards nothing
    assert selectors.balance_drift() == []


@pytest.mark.django_db(transaction=True)
def test_placing_refunding_and_importing_reach_the_ledger_through_the_events(ada):
    EarningRuleFactory()
    member = MemberFactory()
    MemberFactory(customer=CustomerFactory(external_id="BULK-0"))

    order = place_order(member.customer, amount="80", at=datetime(2025, 3, 1, tzinfo=UTC))
    customer_services.order_refund(order=order, amount=Decimal("20"))
    job = run_import(ada, _orders_csv(1), "orders", "one.csv")

    assert list(LedgerEntry.objects.filter(order=order).order_by("id").values_list("kind", "points")) == [
        ("earn", 80),
        ("reverse", -20),
    ]
    assert LedgerEntry.objects.filter(order__import_job=job).get().points == 20
    assert selectors.balance_drift() == []
