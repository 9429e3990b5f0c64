"""customers.services for orders: recording (products created set-based), refunding and cancelling,
and the refund rule the import applies with the same words (customers.order_rules)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers import order_rules, services
from customers.models import Order, Product

from .factories import CustomerFactory, ProductFactory, errors_of, run_import

pytestmark = pytest.mark.django_db

AT = datetime(2025, 3, 1, 10, tzinfo=UTC)


def record(customer, external_id="O-1", **overrides) -> Order:
    fields = {
        "external_id": external_id,
        "customer": customer,
        "ordered_at": AT,
        "lines": [{"sku": "MUG-1", "quantity": 2, "unit_price": "12.50"}],
    }
    return services.order_record(**{**fields, **overrides})


@pytest.fixture
def customer(db):
    ProductFactory(sku="MUG-1", name="Mug")
    return CustomerFactory(external_id="C-1")


def _new_lines(count: int, prefix: str) -> list[dict]:
    return [{"sku": f"{prefix}-{n}", "name": f"Thing {n}", "quantity": 1, "unit_price": "1.00"} for n in range(count)]


def test_recording_creates_new_products_with_as_many_queries_for_two_lines_as_for_twenty(customer):
    with CaptureQueriesContext(connection) as two:
        record(customer, "O-2", lines=_new_lines(2, "A"))

    with CaptureQueriesContext(connection) as twenty:
        record(customer, "O-20", lines=_new_lines(20, "B"))

    assert len(twenty) == len(two)
    assert Product.objects.filter(sku__startswith="B-").count() == 20
    assert Order.objects.get(external_id="O-20").lines.count() == 20


def test_recording_an_unknown_sku_without_a_name_names_the_line_and_writes_nothing(customer):
    lines = [{"sku": "MUG-1", "quantity": 1, "unit_price": "1"}, {"sku": "NEW", "quantity": 1, "unit_price": "1"}]

    with pytest.raises(ValidationError) as refused:
        record(customer, lines=lines)

    assert list(refused.value.message_dict) == ["lines[1].sku"]
    assert not Product.objects.filter(sku="NEW").exists()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("kind", "quantity", "unit_price", "field", "message"),
    [
        ("purchase", 0, "1", "lines[0].quantity", order_rules.QUANTITY_ZERO),
        ("purchase", -1, "1", "lines[0].quantity", order_rules.QUANTITY_NEGATIVE_ON_PURCHASE),
        ("refund", 1, "-1", "lines[0].unit_price", order_rules.UNIT_PRICE_NEGATIVE),
    ],
)
def test_recording_a_bad_line_is_refused_by_the_line_rules(customer, kind, quantity, unit_price, field, message):
    with pytest.raises(ValidationError) as refused:
        record(customer, kind=kind, lines=[{"sku": "MUG-1", "quantity": quantity, "unit_price": unit_price}])

    assert refused.value.message_dict == {field: [str(message)]}


def test_a_refund_orders_lines_are_negative_whatever_their_sign(customer):
    order = record(customer, kind=Order.Kind.REFUND, lines=[{"sku": "MUG-1", "quantity": 2, "unit_price": "3"}])

    assert (order.gross_amount, order.net_amount) == (Decimal("-6.00"), Decimal("-6.00"))
    assert order.lines.get().quantity == -2


def test_an_order_recorded_as_refunded_was_refunded_in_full(customer):
    order = record(customer, status=Order.Status.REFUNDED)

    assert (order.gross_amount, order.refunded_amount, order.net_amount) == (Decimal("25"), Decimal("25"), 0)


def test_a_refund_order_cannot_be_recorded_as_refunded(customer):
    with pytest.raises(ValidationError) as refused:
        record(customer, kind=Order.Kind.REFUND, status=Order.Status.REFUNDED)

    assert refused.value.message_dict == {"status": [str(order_rules.NOT_REFUNDABLE)]}


def test_a_partial_refund_leaves_what_was_not_given_back(customer, django_capture_on_commit_callbacks):
    order = record(customer)

    with django_capture_on_commit_callbacks() as callbacks:
        order = services.order_refund(order=order, amount=Decimal("5.00"))
        services.order_refund(order=order, amount=Decimal("5.00"))

    assert (order.status, order.refunded_amount, order.net_amount) == ("refunded", Decimal("5.00"), Decimal("20.00"))
    assert len(callbacks) == 1  # the second refund of the same amount changed nothing


@pytest.mark.parametrize(
    ("amount", "field", "message"),
    [
        (Decimal("25.01"), "amount", order_rules.REFUND_TOO_LARGE),
        (Decimal("0"), "amount", order_rules.REFUND_NOT_POSITIVE),
    ],
)
def test_a_refund_outside_the_order_is_refused(customer, amount, field, message):
    order = record(customer)

    with pytest.raises(ValidationError) as refused:
        services.order_refund(order=order, amount=amount)

    assert refused.value.message_dict == {field: [str(message)]}
    order.refresh_from_db()
    assert (order.status, order.net_amount) == ("placed", Decimal("25.00"))


@pytest.mark.parametrize("kind", ["refund", "cancelled"])
def test_only_a_purchase_that_was_not_cancelled_can_be_refunded(customer, kind):
    if kind == "refund":
        order = record(customer, kind=Order.Kind.REFUND)
    else:
        order = services.order_cancel(order=record(customer))

    with pytest.raises(ValidationError) as refused:
        services.order_refund(order=order)

    assert refused.value.messages == [str(order_rules.NOT_REFUNDABLE)]


def test_cancelling_makes_the_order_worth_nothing_once(customer, django_capture_on_commit_callbacks):
    order = record(customer)

    with django_capture_on_commit_callbacks() as callbacks:
        order = services.order_cancel(order=order)
        services.order_cancel(order=order)

    assert (order.status, order.net_amount) == ("cancelled", 0)
    assert len(callbacks) == 1


# --- The same rule in the import ------------------------------------------------------------------

HEADER = "order_id,customer_id,ordered_at,sku,quantity,unit_price,kind,status\n"


def test_the_import_refuses_a_refunded_refund_order_with_the_rules_words(ada, customer):
    content = HEADER + "R-1,C-1,2024-03-01 10:00:00,MUG-1,-1,5.00,refund,refunded\n"

    job = run_import(ada, content, "orders")

    assert not Order.objects.filter(external_id="R-1").exists()
    assert errors_of(job) == [(2, "status", f"order R-1: {order_rules.NOT_REFUNDABLE}")]


def test_the_import_refuses_to_refund_an_order_that_was_cancelled(ada, customer):
    services.order_cancel(order=record(customer, "O-7"))
    content = HEADER + "O-7,C-1,2025-03-01 10:00:00,MUG-1,2,12.50,purchase,refunded\n"

    job = run_import(ada, content, "orders")

    assert Order.objects.get(external_id="O-7").status == Order.Status.CANCELLED
    assert errors_of(job) == [(2, "status", f"order O-7: {order_rules.NOT_REFUNDABLE}")]


def test_the_import_records_a_refunded_purchase_as_the_api_does(ada, customer):
    content = HEADER + "O-8,C-1,2025-03-01 10:00:00,MUG-1,2,12.50,purchase,refunded\n"
    recorded = record(customer, "O-9", status=Order.Status.REFUNDED)

    run_import(ada, content, "orders")

    imported = Order.objects.get(external_id="O-8")
    assert (imported.gross_amount, imported.refunded_amount, imported.net_amount) == (
        recorded.gross_amount,
        recorded.refunded_amount,
        recorded.net_amount,
    )
