"""Keyset pages and list totals (retention_crm.lists), and the API's cursor pagination built on them."""

from datetime import date

import pytest
from rest_framework.test import APIClient

from customers.models import Customer
from retention_crm import lists
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers():
    """Names repeated and acquisition dates missing, as in a real base: ties and NULLs to step over."""
    dates = [date(2024, 1, 1), None, date(2023, 5, 1), None, date(2024, 1, 1), date(2022, 2, 2), None]
    return [
        CustomerFactory(name=("Ana", "Ben", "Cy")[i % 3], country=("GB", "FR")[i % 2], acquired_at=dates[i % 7])
        for i in range(23)
    ]


def _walk(queryset, order: lists.Order, size: int) -> tuple[list[list[int]], list[list[int]]]:
    """Every page forward from the first, then every page back from the last one reached."""
    forward, cursor = [], None
    while True:
        page = lists.page_from_cursor(queryset, order, cursor, size=size)
        forward.append([row.pk for row in page])
        if not page.has_next:
            break
        cursor = page.next_cursor
    backward = [forward[-1]]
    while page.has_previous:
        page = lists.page_from_cursor(queryset, order, page.previous_cursor, size=size)
        backward.insert(0, [row.pk for row in page])
    return forward, backward


def _expected(rows: list[Customer], name: str, descending: bool) -> list[int]:
    """The order PostgreSQL's indexes keep: NULLs last ascending, first descending; ties by id."""
    with_value = sorted((r for r in rows if getattr(r, name) is not None), key=lambda r: (getattr(r, name), r.pk))
    without = sorted((r for r in rows if getattr(r, name) is None), key=lambda r: r.pk)
    ordered = with_value + without
    return [r.pk for r in (reversed(ordered) if descending else ordered)]


@pytest.mark.parametrize("ordering", ["name", "-name", "country", "-country", "acquired_at", "-acquired_at", "-id"])
def test_pages_list_every_row_once_in_order_forward_and_back(customers, ordering):
    order = lists.Order.of(Customer, ordering)

    forward, backward = _walk(Customer.objects.all(), order, size=4)

    assert sum(forward, []) == _expected(customers, ordering.lstrip("-"), ordering.startswith("-"))
    assert [len(rows) for rows in forward] == [4, 4, 4, 4, 4, 3]
    assert backward == forward


def test_the_order_ends_with_the_primary_key_unless_a_unique_column_ends_it():
    assert lists.Order.of(Customer, ["-name"]).key == "-name,-id"
    assert lists.Order.of(Customer, ["name", "id"]).key == "name,id"
    assert lists.Order.of(Customer, ["external_id", "name"]).key == "external_id"
    with pytest.raises(ValueError):
        lists.Order.of(Customer, ["name", "acquired_at"])


def test_a_cursor_of_another_order_or_a_made_up_one_is_refused(customers):
    by_name = lists.Order.of(Customer, "name")
    cursor = lists.page(Customer.objects.all(), by_name, size=5).next_cursor

    for order, bad in [(lists.Order.of(Customer, "country"), cursor), (by_name, "abc"), (by_name, cursor[:-3])]:
        with pytest.raises(lists.InvalidCursor):
            lists.cursor_decode(order, bad)
    assert lists.page_from_cursor(Customer.objects.all(), by_name, "abc", size=5).has_previous is False


def test_total_is_exact_up_to_the_limit_and_an_estimate_above(customers):
    assert lists.total(Customer.objects.all(), exact_up_to=23) == lists.Total(23, exact=True)

    above = lists.total(Customer.objects.all(), exact_up_to=10)

    assert not above.exact and above.value >= 11


def test_api_pages_follow_next_and_previous_links_and_take_one_ordering(ada, customers):
    client = APIClient()
    client.force_authenticate(ada)

    first = client.get("/api/v1/customers/", {"ordering": "-country,name", "page_size": 10}).json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()

    expected = _expected(customers, "country", descending=True)
    assert [c["id"] for c in first["results"] + second["results"]] == expected[:20]
    assert back["results"] == first["results"] and first["previous"] is None
    assert client.get("/api/v1/customers/", {"cursor": "bm9wZQ"}).status_code == 404


def test_distinct_values_lists_each_value_once_in_order_for_the_rows_given(alice):
    CustomerFactory(country="FR", account_manager=alice)
    CustomerFactory(country="GB", account_manager=alice)
    CustomerFactory(country="GB")
    CustomerFactory(country="ES")
    CustomerFactory(country="")

    assert lists.distinct_values(Customer.objects.all(), "country", after="") == ["ES", "FR", "GB"]
    assert lists.distinct_values(Customer.objects.filter(account_manager=alice), "country") == ["FR", "GB"]
    assert lists.distinct_values(Customer.objects.none(), "country") == []
