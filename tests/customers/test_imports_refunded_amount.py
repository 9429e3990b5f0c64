"""The orders import's refunded_amount column: partial refunds go in, order_rules' refund rules
hold for the whole file with the API's words (issue 13)."""

from decimal import Decimal

import pytest

from customers import order_rules
from customers.models import Order

from .factories import CustomerFactory, OrderFactory, errors_of, order_add_line, run_import

pytestmark = pytest.mark.django_db

HEADER = "order_id,customer_id,ordered_at,kind,status,refunded_amount,sku,quantity,unit_price\n"


@pytest.fixture
def customer(db):
    return CustomerFactory(external_id="C-1")


def test_a_partial_refund_is_recorded_as_given(ada, customer):
    content = HEADER + (
        "O-1,C-1,2024-03-01 10:00:00,purchase,refunded,12.50,SKU-A,2,20.00\n"
        "O-1,C-1,2024-03-01 10:00:00,purchase,refunded,12.50,SKU-B,1,10.00\n"
        "O-2,C-1,2024-03-02 10:00:00,purchase,refunded,,SKU-A,1,20.00\n"
        "O-3,C-1,2024-03-03 10:00:00,purchase,placed,0.00,SKU-A,1,20.00\n"
    )

    job = run_import(ada, content, "orders")

    assert (job.created_count, job.error_count) == (3, 0), errors_of(job)
    amounts = {o.external_id: (o.refunded_amount, o.net_amount) for o in Order.objects.all()}
    assert amounts == {
        "O-1": (Decimal("12.50"), Decimal("37.50")),
        "O-2": (Decimal("20.00"), Decimal("0.00")),  # refunded, no amount given: in full, as before
        "O-3": (Decimal("0.00"), Decimal("20.00")),
    }


def test_a_decimal_comma_file_gives_its_refunded_amount_with_a_comma(ada, customer):
    content = (
        "order_id;customer_id;ordered_at;status;refunded_amount;sku;quantity;unit_price\n"
        "O-1;C-1;2024-03-01 10:00:00;refunded;7,25;SKU-A;2;20,00\n"
    )

    job = run_import(ada, content, "orders")

    assert job.error_count == 0, errors_of(job)
    assert Order.objects.get(external_id="O-1").refunded_amount == Decimal("7.25")


def test_the_refund_rules_hold_with_the_apis_words_and_nothing_half_written(ada, customer):
    OrderFactory(customer=customer, external_id="O-CANCELLED", status="cancelled")
    content = HEADER + (
        "O-1,C-1,2024-03-01 10:00:00,purchase,refunded,50.01,SKU-A,1,50.00\n"  # more than the order
        "O-2,C-1,2024-03-01 10:00:00,refund,refunded,1.00,SKU-A,1,5.00\n"  # not a purchase
        "O-3,C-1,2024-03-01 10:00:00,purchase,placed,1.00,SKU-A,1,5.00\n"  # placed, yet refunded
        "O-CANCELLED,C-1,2024-03-01 10:00:00,purchase,refunded,1.00,SKU-A,1,5.00\n"  # stored as cancelled
        "O-5,C-1,2024-03-01 10:00:00,purchase,refunded,-1,SKU-A,1,5.00\n"
        "O-6,C-1,2024-03-01 10:00:00,purchase,refunded,lots,SKU-A,1,5.00\n"
        "O-7,C-1,2024-03-01 10:00:00,purchase,refunded,1.00,SKU-A,1,5.00\n"  # its lines disagree
        "O-7,C-1,2024-03-01 10:00:00,purchase,refunded,2.00,SKU-B,1,5.00\n"
        "O-8,C-1,2024-03-01 10:00:00,purchase,refunded,5.00,SKU-A,1,5.00\n"  # the whole gross: fine
    )

    job = run_import(ada, content, "orders")

    reasons = {(line, column): reason for line, column, reason in errors_of(job)}
    assert reasons[(2, "refunded_amount")] == f"order O-1: {order_rules.REFUND_TOO_LARGE}"
    assert reasons[(3, "status")] == f"order O-2: {order_rules.NOT_REFUNDABLE}"
    assert reasons[(4, "refunded_amount")] == f"order O-3: {order_rules.REFUND_NEEDS_REFUNDED_STATUS}"
    assert reasons[(5, "status")] == f"order O-CANCELLED: {order_rules.NOT_REFUNDABLE}"
    assert "refunded_amount cannot be negative" in reasons[(6, "refunded_amount")]
    assert (
        "refunded_amount must be a number" in reasons[(7, "refunded_amount")]
        and "lots" in reasons[(7, "refunded_amount")]
    )
    assert "different customers, currencies, kinds, statuses or refunded amounts" in reasons[(8, "order_id")]
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["O-8", "O-CANCELLED"]
    assert Order.objects.get(external_id="O-CANCELLED").status == "cancelled"
    assert Order.objects.get(external_id="O-8").refunded_amount == Decimal("5.00")


def test_a_reimport_with_a_new_partial_refund_updates_the_order(ada, customer):
    order = OrderFactory(customer=customer, external_id="O-1")
    order_add_line(order, quantity=1, unit_price="30.00")
    content = (
        HEADER
        + f"O-1,C-1,{order.ordered_at.isoformat()},purchase,refunded,10.00,{order.lines.get().product.sku},1,30.00\n"
    )

    job = run_import(ada, content, "orders")

    assert (job.updated_count, job.error_count) == (1, 0), errors_of(job)
    order.refresh_from_db()
    assert (order.status, order.refunded_amount, order.net_amount) == ("refunded", Decimal("10.00"), Decimal("20.00"))
