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


# --- Refunds that arrive by import --------------------------------------------------------------

REFUND_HEADER = HEADER.rstrip("\n") + ",refunded_amount\n"


def _refunds_csv(rows: list[tuple[str, str, str, str]]) -> str:
    """(order id, customer id, status, refunded amount) of one-line orders of 2 x 10.00."""
    lines = [
        f"{order},{customer},2025-02-01T10:00:00Z,SKU-1,Thing,Food,2,10.00,purchase,{status},{refunded}"
        for order, customer, status, refunded in rows
    ]
    return REFUND_HEADER + "\n".join(lines) + "\n"


def test_refunds_by_import_reverse_the_points_set_based_and_once(ada, bulk_members):
    placed = [(f"R-{n}", f"BULK-{n}", "placed", "") for n in range(5)]
    first = run_import(ada, _refunds_csv(placed), "orders", "orders.csv")
    services.import_points_earn(job_id=first.pk)  # 20 x 2 (Food) = 40 points each
    refunds = [
        ("R-0", "BULK-0", "refunded", "5.00"),  # a quarter back: 10 points
        ("R-1", "BULK-1", "refunded", ""),  # in full: all 40
        ("R-2", "BULK-2", "cancelled", ""),  # cancelled: all 40
        ("R-3", "BULK-3", "placed", ""),  # unchanged
    ]
    second = run_import(ada, _refunds_csv(refunds), "orders", "refunds.csv")

    with CaptureQueriesContext(connection) as queries:
        services.points_reverse_orders(orders=services.import_job_orders(second.pk))
    again = services.points_reverse_orders(orders=services.import_job_orders(second.pk))

    reversed_ = dict(LedgerEntry.objects.filter(kind="reverse").values_list("order__external_id", "points"))
    assert reversed_ == {"R-0": -10, "R-1": -40, "R-2": -40}
    # savepoint, lock (PostgreSQL only: SQLite has no row locks), the INSERT ... SELECT, the
    # balances, release: never a statement per order
    assert again == 0 and len(queries) == (5 if connection.vendor == "postgresql" else 4)
    assert (
        dict(LedgerEntry.objects.filter(kind="reverse").values_list("order__external_id", "reason"))["R-1"]
        == "Order R-1 refunded or cancelled"
    )
    assert selectors.balance_drift() == []
    assert [m.points for m in type(bulk_members[0]).objects.order_by("pk")] == [30, 0, 0, 40, 40]


def test_an_imported_refund_never_takes_back_points_already_spent(ada, bulk_members):
    from loyalty import redemption

    from .factories import RewardFactory

    first = run_import(ada, _refunds_csv([("S-0", "BULK-0", "placed", "")]), "orders", "orders.csv")
    services.import_points_earn(job_id=first.pk)
    redemption.reward_redeem(customer_id=bulk_members[0].pk, reward_id=RewardFactory(points_cost=30).pk)
    second = run_import(ada, _refunds_csv([("S-0", "BULK-0", "refunded", "")]), "orders", "refund.csv")

    services.import_points_earn(job_id=second.pk)  # the reaction to orders.imported

    # 40 earned, 30 spent on a reward: only the 10 left of the order's points go back.
    assert LedgerEntry.objects.get(kind="reverse").points == -10
    bulk_members[0].refresh_from_db()
    assert bulk_members[0].points == 0 and selectors.balance_drift() == []


def test_a_partial_refund_by_import_then_a_larger_one_takes_back_the_difference(ada, bulk_members):
    run = run_import(ada, _refunds_csv([("P-0", "BULK-0", "placed", "")]), "orders", "a.csv")
    services.import_points_earn(job_id=run.pk)
    for name, refunded in (("b.csv", "5.00"), ("c.csv", "10.00")):
        job = run_import(ada, _refunds_csv([("P-0", "BULK-0", "refunded", refunded)]), "orders", name)
        services.import_points_earn(job_id=job.pk)

    assert list(LedgerEntry.objects.filter(kind="reverse").order_by("id").values_list("points", flat=True)) == [
        -10,
        -10,
    ]
    assert selectors.balance_drift() == []
