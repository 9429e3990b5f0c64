"""The orders API: visibility, recording orders with lines, refunds and cancellations, filters."""

from decimal import Decimal

import pytest

from customers.models import Order, Product
from tests.conftest import api_client_for

from .factories import CustomerFactory, OrderFactory, ProductFactory, order_add_line

pytestmark = pytest.mark.django_db

LIST = "/api/v1/orders/"


def detail(order) -> str:
    return f"/api/v1/orders/{order.pk}/"


@pytest.fixture
def alices_customer(alice):
    return CustomerFactory(account_manager=alice)


@pytest.fixture
def bobs_customer(bob):
    return CustomerFactory(account_manager=bob)


@pytest.fixture
def mug():
    return ProductFactory(sku="MUG-1", name="Mug")


@pytest.fixture
def alices_order(alices_customer, mug):
    order = OrderFactory(customer=alices_customer, external_id="WEB-1001")
    order_add_line(order, product=mug, quantity=2, unit_price="12.50")
    return order


def payload(for_customer, **overrides) -> dict:
    body = {
        "external_id": "WEB-2001",
        "customer": for_customer.external_id,
        "ordered_at": "2025-03-01T10:00:00Z",
        "lines": [{"sku": "MUG-1", "quantity": 3, "unit_price": "12.50"}],
    }
    return {**body, **overrides}


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


# --- Who sees what ------------------------------------------------------------------------


def test_owner_reads_an_order_with_its_lines(alice, alices_order):
    response = api_client_for(alice).get(detail(alices_order))

    assert response.status_code == 200
    body = response.json()
    assert body["customer"] == alices_order.customer.external_id
    assert body["gross_amount"] == "25.00"
    assert body["lines"] == [
        {
            "line_number": 1,
            "sku": "MUG-1",
            "product_name": "Mug",
            "quantity": 2,
            "unit_price": "12.5000",
            "amount": "25.00",
        }
    ]


def test_colleague_gets_404_and_an_empty_list(bob, alices_order):
    client = api_client_for(bob)

    assert client.get(detail(alices_order)).status_code == 404
    assert client.post(f"{detail(alices_order)}refund/").status_code == 404
    assert client.get(LIST).json()["results"] == []


def test_colleague_reads_when_the_setting_allows_but_cannot_refund(settings, bob, alices_order):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True
    client = api_client_for(bob)

    assert client.get(detail(alices_order)).status_code == 200
    assert client.post(f"{detail(alices_order)}refund/").status_code == 403
    assert client.post(LIST, payload(alices_order.customer)).status_code == 403
    assert not Order.objects.filter(external_id="WEB-2001").exists()


def test_stranger_gets_404_and_an_empty_list(charlie, alices_order):
    client = api_client_for(charlie)

    assert client.get(detail(alices_order)).status_code == 404
    assert client.post(f"{detail(alices_order)}cancel/").status_code == 404
    assert client.get(LIST).json()["results"] == []


def test_marketer_reads_every_order_but_cannot_record_or_change_one(marta, alices_order, mug):
    client = api_client_for(marta)

    assert ids(client.get(LIST)) == {alices_order.pk}
    assert client.get(detail(alices_order)).status_code == 200
    assert client.post(LIST, payload(alices_order.customer)).status_code == 403
    assert client.post(f"{detail(alices_order)}refund/").status_code == 403
    assert client.post(f"{detail(alices_order)}cancel/").status_code == 403
    alices_order.refresh_from_db()
    assert alices_order.status == Order.Status.PLACED


# --- Recording orders ---------------------------------------------------------------------


def test_owner_records_an_order_and_a_named_new_sku_creates_the_product(alice, alices_customer, mug):
    lines = [
        {"sku": "MUG-1", "quantity": 3, "unit_price": "12.50"},
        {"sku": "TEA-9", "name": "Green tea", "quantity": 1, "unit_price": "4.99"},
    ]

    response = api_client_for(alice).post(LIST, payload(alices_customer, lines=lines))

    assert response.status_code == 201
    body = response.json()
    assert body["gross_amount"] == "42.49"
    assert body["net_amount"] == "42.49"
    assert [line["sku"] for line in body["lines"]] == ["MUG-1", "TEA-9"]
    assert Product.objects.get(sku="TEA-9").name == "Green tea"


def test_administrator_records_an_order_for_any_customer(ada, bobs_customer, mug):
    response = api_client_for(ada).post(LIST, payload(bobs_customer))

    assert response.status_code == 201


def test_unknown_sku_without_a_name_is_a_field_error(alice, alices_customer):
    lines = [{"sku": "NOPE-1", "quantity": 1, "unit_price": "1.00"}]

    response = api_client_for(alice).post(LIST, payload(alices_customer, lines=lines))

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["lines[0].sku"]
    assert not Product.objects.filter(sku="NOPE-1").exists()


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"sku": "MUG-1", "quantity": "many", "unit_price": "1.00"}, "lines[1].quantity"),
        ({"sku": "MUG-1", "quantity": -2, "unit_price": "1.00"}, "lines[1].quantity"),
        ({"sku": "MUG-1", "quantity": 0, "unit_price": "1.00"}, "lines[1].quantity"),
        ({"sku": "MUG-1", "quantity": 10**10, "unit_price": "1.00"}, "lines[1].quantity"),
        ({"sku": "MUG-1", "quantity": 1, "unit_price": "-1.00"}, "lines[1].unit_price"),
        ({"sku": "MUG-1", "quantity": 1, "unit_price": "cheap"}, "lines[1].unit_price"),
        ({"sku": "MUG-1", "quantity": 1}, "lines[1].unit_price"),
        ({"sku": "MUG-1", "quantity": 1, "unit_price": "1.00", "colour": "red"}, "lines[1].colour"),
    ],
)
def test_bad_line_is_a_field_error_naming_the_line(alice, alices_customer, mug, line, field):
    lines = [{"sku": "MUG-1", "quantity": 1, "unit_price": "1.00"}, line]

    response = api_client_for(alice).post(LIST, payload(alices_customer, lines=lines))

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert Order.objects.count() == 0


def test_negative_quantities_are_accepted_on_a_refund_order(alice, alices_customer, mug):
    lines = [{"sku": "MUG-1", "quantity": -1, "unit_price": "12.50"}]

    response = api_client_for(alice).post(LIST, payload(alices_customer, kind="refund", lines=lines))

    assert response.status_code == 201
    assert response.json()["gross_amount"] == "-12.50"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"customer": "NO-SUCH-CUSTOMER"}, "customer"),
        ({"lines": []}, "lines"),
        ({"ordered_at": "yesterday"}, "ordered_at"),
        ({"kind": "gift"}, "kind"),
        ({"currency": "pounds"}, "currency"),
        ({"external_id": "WEB-1001"}, "external_id"),
    ],
)
def test_bad_order_is_a_field_error(alice, alices_order, overrides, field):
    response = api_client_for(alice).post(LIST, payload(alices_order.customer, **overrides))

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_a_customer_of_another_book_is_unknown_to_the_account_manager(alice, bobs_customer, mug):
    response = api_client_for(alice).post(LIST, payload(bobs_customer))

    assert response.status_code == 400
    assert "customer" in response.json()["error"]["fields"]


# --- Refunds and cancellations -------------------------------------------------------------


def test_refund_without_an_amount_refunds_the_whole_order(alice, alices_order):
    response = api_client_for(alice).post(f"{detail(alices_order)}refund/")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["refunded_amount"]) == ("refunded", "25.00")
    assert response.json()["net_amount"] == "0.00"


def test_partial_refund_keeps_what_was_not_given_back(alice, alices_order):
    response = api_client_for(alice).post(f"{detail(alices_order)}refund/", {"amount": "5.00"})

    assert response.status_code == 200
    assert response.json()["net_amount"] == "20.00"


@pytest.mark.parametrize("amount", ["30.00", "-1", "lots"])
def test_refund_amount_out_of_range_is_a_field_error(alice, alices_order, amount):
    response = api_client_for(alice).post(f"{detail(alices_order)}refund/", {"amount": amount})

    assert response.status_code == 400
    assert "amount" in response.json()["error"]["fields"]
    alices_order.refresh_from_db()
    assert alices_order.status == Order.Status.PLACED


def test_cancel_makes_the_order_worth_nothing_and_it_cannot_be_refunded_after(alice, alices_order):
    client = api_client_for(alice)

    cancelled = client.post(f"{detail(alices_order)}cancel/")
    refunded = client.post(f"{detail(alices_order)}refund/")

    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["net_amount"]) == ("cancelled", "0.00")
    assert refunded.status_code == 400


# --- Filters --------------------------------------------------------------------------------


@pytest.fixture
def orders(alices_customer, mug):
    older = OrderFactory(customer=alices_customer, ordered_at="2024-01-15T12:00:00Z")
    newer = OrderFactory(customer=alices_customer, ordered_at="2024-06-15T12:00:00Z", status="refunded")
    other = OrderFactory(customer=CustomerFactory(), ordered_at="2024-06-20T12:00:00Z", kind="refund")
    return {"older": older, "newer": newer, "other": other}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"customer": "ALICE-CUSTOMER"}, {"older", "newer"}),
        ({"ordered_at_after": "2024-06-01T00:00:00Z"}, {"newer", "other"}),
        ({"ordered_at_after": "2024-01-01T00:00:00Z", "ordered_at_before": "2024-02-01T00:00:00Z"}, {"older"}),
        ({"kind": "refund"}, {"other"}),
        ({"status": "refunded"}, {"newer"}),
    ],
)
def test_list_filters(ada, alices_customer, orders, query, expected):
    query = {key: alices_customer.external_id if value == "ALICE-CUSTOMER" else value for key, value in query.items()}

    response = api_client_for(ada).get(LIST, query)

    assert response.status_code == 200
    assert ids(response) == {orders[name].pk for name in expected}


def test_list_is_newest_first(ada, orders):
    response = api_client_for(ada).get(LIST)

    assert [row["id"] for row in response.json()["results"]] == [
        orders["other"].pk,
        orders["newer"].pk,
        orders["older"].pk,
    ]


def test_unknown_filter_choice_is_a_400(ada, orders):
    response = api_client_for(ada).get(LIST, {"kind": "gift"})

    assert response.status_code == 400
    assert "kind" in response.json()["error"]["fields"]


def test_order_amounts_are_exact_decimals(alice, alices_customer, mug):
    lines = [{"sku": "MUG-1", "quantity": 3, "unit_price": "0.1"}]

    response = api_client_for(alice).post(LIST, payload(alices_customer, lines=lines))

    assert Decimal(response.json()["gross_amount"]) == Decimal("0.30")
