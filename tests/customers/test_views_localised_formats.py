"""Pages write dates, amounts, counts and periods the way the reader's language does (issue 13),
while the CSV exports keep machine formats."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from customers.services import order_refund
from tests.clients import client_for
from tests.metrics.book_dataset import book_dataset

from .factories import CustomerFactory, OrderFactory, order_add_line

pytestmark = pytest.mark.django_db

NBSP = "\xa0"


def page(user, url: str, language: str, **params) -> str:
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def customer_with_an_order(alice):
    customer = CustomerFactory(account_manager=alice, external_id="A-1")
    order = OrderFactory(customer=customer, external_id="ORD-1", ordered_at=datetime(2026, 1, 24, 12, 0, tzinfo=UTC))
    order_add_line(order, quantity=2, unit_price="527.92")
    order_refund(order=order, amount=Decimal("1000.00"))
    return customer


@pytest.mark.parametrize(
    ("language", "amount", "day"),
    [
        ("en", "£55.84", "24 Jan 2026"),
        ("id", "£55,84", "24 Jan 2026"),
        ("ms", "£55.84", "24 Jan 2026"),
        ("ca", f"55,84{NBSP}£", "24 de gen. 2026"),
    ],
)
def test_the_customer_page_shows_money_with_its_currency_and_dates_in_the_readers_language(
    alice, customer_with_an_order, language, amount, day
):
    html = page(alice, reverse("customers:detail", args=[customer_with_an_order.pk]), language)

    assert amount in html  # 1,055.84 less the 1,000.00 refunded
    assert day in html
    assert "01/24/2026" not in html
    assert "55.84 GBP" not in html


def test_the_orders_export_keeps_iso_dates_and_dot_decimals_whatever_the_language(alice, customer_with_an_order):
    client = client_for(alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ca"

    response = client.get(reverse("customers:export_orders"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert rows[0]["ordered_at"] == "2026-01-24T12:00:00+00:00"
    assert (rows[0]["unit_price"], rows[0]["amount"], rows[0]["refunded_amount"]) == ("527.9200", "1055.84", "1000.00")


@pytest.mark.parametrize(
    ("language", "quarter", "share", "revenue"),
    [("en", "Q1 2024", "66.7%", "£"), ("id", "K1 2024", "66,7%", "£"), ("ca", "1T 2024", f"66,7{NBSP}%", f"{NBSP}£")],
)
def test_book_performance_names_the_quarter_and_writes_rates_and_revenue_per_language(
    alice, bob, marta, language, quarter, share, revenue
):
    book_dataset(alice, bob)

    html = page(marta, reverse("worklist:book"), language, period="2024-Q1")

    assert f'<small class="text-body-secondary fs-5">{quarter}</small>' in html
    assert share in html
    assert revenue in html  # amounts carry the workspace currency
    assert "2024-Q1</small>" not in html
