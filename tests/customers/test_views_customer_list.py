"""The customer list page: whose customers it shows, search, filters, sorting and paging.

Personas: Alice owns the customers under test (tests/customers/conftest.py), Bob is a colleague
(another account manager), Charlie has no role, Marta is a marketer, Ada an administrator.
"""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from retention_crm import lists
from tests.clients import client_for

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db


def names_listed(response) -> set[str]:
    return {customer.name for customer in response.context["page"].object_list}


def test_anonymous_visitor_is_sent_to_the_login_page():
    response = Client().get(reverse("customers:list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_owner_lists_their_book_and_not_a_colleagues(alice, alices_customer, bobs_customer):
    response = client_for(alice).get(reverse("customers:list"))

    assert response.status_code == 200
    assert names_listed(response) == {"Ana Aguilar"}
    assert "Budi Santoso" not in response.content.decode()


def test_colleague_lists_other_books_when_the_setting_allows(settings, bob, alices_customer, bobs_customer):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True

    response = client_for(bob).get(reverse("customers:list"))

    assert names_listed(response) == {"Ana Aguilar", "Budi Santoso"}


def test_stranger_lists_no_customers(charlie, alices_customer):
    response = client_for(charlie).get(reverse("customers:list"))

    assert response.status_code == 200
    assert names_listed(response) == set()
    assert "Ana Aguilar" not in response.content.decode()


def test_marketer_lists_everyone_but_gets_no_new_customer_button(marta, alices_customer, bobs_customer):
    response = client_for(marta).get(reverse("customers:list"))

    assert names_listed(response) == {"Ana Aguilar", "Budi Santoso"}
    assert reverse("customers:create") not in response.content.decode()


def test_account_manager_gets_the_new_customer_button(alice):
    response = client_for(alice).get(reverse("customers:list"))

    assert reverse("customers:create") in response.content.decode()


def test_list_search_matches_name_email_and_company(ada):
    CustomerFactory(name="Siti Rahma", email="siti@kedai.id")
    CustomerFactory(name="Jordi Puig", company="Forn Puig")
    CustomerFactory(name="Other")
    client = client_for(ada)

    by_email = client.get(reverse("customers:list"), {"q": "kedai"})
    by_company = client.get(reverse("customers:list"), {"q": "forn"})

    assert names_listed(by_email) == {"Siti Rahma"}
    assert names_listed(by_company) == {"Jordi Puig"}


def test_list_filters_by_country_language_manager_tag_and_archived_state(ada, alice, bob):
    CustomerFactory(name="Spain", country="ES", account_manager=alice)
    CustomerFactory(name="Indonesia", country="ID", language="id", account_manager=bob, tags=["vip"])
    CustomerFactory(name="Gone", country="ES", archived_at=timezone.now())
    client = client_for(ada)
    url = reverse("customers:list")

    assert names_listed(client.get(url, {"country": "ES"})) == {"Spain"}
    assert names_listed(client.get(url, {"language": "id"})) == {"Indonesia"}
    assert names_listed(client.get(url, {"account_manager": alice.pk})) == {"Spain"}
    assert names_listed(client.get(url, {"tag": "vip"})) == {"Indonesia"}
    assert names_listed(client.get(url, {"archived": "archived"})) == {"Gone"}
    assert names_listed(client.get(url, {"archived": "all", "country": "ES"})) == {"Spain", "Gone"}


def test_list_sorts_by_a_column_and_the_header_link_reverses_it(ada):
    CustomerFactory(name="Alpha", country="ZA")
    CustomerFactory(name="Beta", country="AT")

    by_name_desc = client_for(ada).get(reverse("customers:list"), {"sort": "-name"})
    by_country = client_for(ada).get(reverse("customers:list"), {"sort": "country"})

    assert [c.name for c in by_name_desc.context["page"]] == ["Beta", "Alpha"]
    assert [c.name for c in by_country.context["page"]] == ["Beta", "Alpha"]
    assert 'aria-sort="ascending"' in by_country.content.decode()
    assert "sort=-country" in by_country.content.decode()


def test_list_pages_by_50_and_page_links_keep_the_filters(ada):
    CustomerFactory.create_batch(60, country="ES")
    CustomerFactory(country="FR")

    first = client_for(ada).get(reverse("customers:list"), {"country": "ES"})
    cursor = first.context["page"].next_cursor
    second = client_for(ada).get(reverse("customers:list"), {"country": "ES", "cursor": cursor})

    assert first.context["total"] == lists.Total(60, exact=True)
    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 10
    assert f"?country=ES&amp;cursor={cursor}" in first.content.decode()
    assert "60 customers" in first.content.decode()


def test_list_answers_bad_query_input_with_the_page_not_a_500(ada, alices_customer):
    response = client_for(ada).get(
        reverse("customers:list"), {"account_manager": "abc", "page": "x", "sort": "password", "archived": "zzz"}
    )

    assert response.status_code == 200
    assert names_listed(response) == {"Ana Aguilar"}
    assert "is-invalid" in response.content.decode()
