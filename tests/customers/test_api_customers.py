"""The customers API: who sees and changes what, validation errors, filters and pagination."""

from datetime import date

import pytest
from rest_framework.test import APIClient

from customers.models import AccountAssignment, Customer
from tests.conftest import api_client_for

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/customers/"


def detail(customer) -> str:
    return f"/api/v1/customers/{customer.pk}/"


@pytest.fixture
def alices_customer(alice):
    return CustomerFactory(account_manager=alice, name="Ana Aguilar", country="ES", tags=["vip"])


@pytest.fixture
def bobs_customer(bob):
    return CustomerFactory(account_manager=bob, name="Budi Santoso", country="ID")


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


# --- Who sees what ------------------------------------------------------------------------


def test_owner_lists_and_reads_their_own_customer(alice, alices_customer, bobs_customer):
    client = api_client_for(alice)

    listed = client.get(LIST)
    read = client.get(detail(alices_customer))

    assert listed.status_code == 200
    assert ids(listed) == {alices_customer.pk}
    assert read.status_code == 200
    assert read.json()["external_id"] == alices_customer.external_id
    assert read.json()["account_manager"] == "alice"
    assert read.json()["tags"] == ["vip"]


def test_colleague_gets_404_for_a_customer_of_another_book(bob, alices_customer):
    client = api_client_for(bob)

    read = client.get(detail(alices_customer))
    by_key = client.get(f"{LIST}by-external-id/{alices_customer.external_id}/")
    changed = client.patch(detail(alices_customer), {"name": "Hijacked"})

    assert read.status_code == 404
    assert by_key.status_code == 404
    assert changed.status_code == 404
    assert read.json()["error"]["status"] == 404
    assert "Ana" not in read.content.decode()


def test_colleague_reads_another_book_when_the_setting_allows_but_cannot_change_it(settings, bob, alices_customer):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True
    client = api_client_for(bob)

    read = client.get(detail(alices_customer))
    changed = client.patch(detail(alices_customer), {"name": "Hijacked"})
    archived = client.delete(detail(alices_customer))

    assert read.status_code == 200
    assert changed.status_code == 403
    assert archived.status_code == 403
    alices_customer.refresh_from_db()
    assert alices_customer.name == "Ana Aguilar"
    assert alices_customer.archived_at is None


def test_stranger_gets_an_empty_list_and_404_on_every_customer(charlie, alices_customer):
    client = api_client_for(charlie)

    listed = client.get(LIST)
    read = client.get(detail(alices_customer))
    changed = client.put(detail(alices_customer), {"external_id": "X", "name": "X"})
    archived = client.delete(detail(alices_customer))
    created = client.post(LIST, {"external_id": "NEW-1", "name": "New"})

    assert listed.status_code == 200
    assert listed.json()["results"] == []
    assert (read.status_code, changed.status_code, archived.status_code) == (404, 404, 404)
    assert created.status_code == 403
    assert not Customer.objects.filter(external_id="NEW-1").exists()


def test_marketer_sees_every_customer_but_cannot_write(marta, alices_customer, bobs_customer):
    client = api_client_for(marta)

    listed = client.get(LIST)
    read = client.get(detail(bobs_customer))
    changed = client.patch(detail(bobs_customer), {"name": "Changed"})
    archived = client.delete(detail(bobs_customer))
    created = client.post(LIST, {"external_id": "NEW-2", "name": "New"})

    assert ids(listed) == {alices_customer.pk, bobs_customer.pk}
    assert read.status_code == 200
    assert (changed.status_code, archived.status_code, created.status_code) == (403, 403, 403)
    assert changed.json()["error"]["code"] == "permission_denied"


def test_marketer_gets_404_for_a_customer_that_does_not_exist(marta):
    response = api_client_for(marta).patch("/api/v1/customers/999999/", {"name": "x"})

    assert response.status_code == 404


def test_administrator_changes_any_customer(ada, bobs_customer):
    response = api_client_for(ada).patch(detail(bobs_customer), {"company": "Santoso & Co"})

    assert response.status_code == 200
    assert response.json()["company"] == "Santoso & Co"


def test_anonymous_request_is_refused_with_401(alices_customer):
    response = APIClient().get(LIST)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


# --- Token authentication -----------------------------------------------------------------


def test_token_flow_gives_a_token_that_authenticates(alice, alices_customer):
    client = APIClient()

    issued = client.post("/api/v1/auth/token/", {"username": "alice", "password": "pw-alice"}, format="json")
    client.credentials(HTTP_AUTHORIZATION="Token " + issued.json()["token"])
    listed = client.get(LIST)

    assert issued.status_code == 200
    assert listed.status_code == 200
    assert ids(listed) == {alices_customer.pk}


def test_token_refused_for_a_wrong_password_with_the_error_body(alice):
    response = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": "nope"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "non_field_errors" in response.json()["error"]["fields"]
    assert "token" not in response.json()


# --- Create, change, archive --------------------------------------------------------------


def test_account_manager_creates_a_customer_in_their_own_book(alice):
    payload = {"external_id": "SHOP-1", "name": "Citra", "email": "citra@example.com", "tags": ["new", "vip"]}

    response = api_client_for(alice).post(LIST, payload)

    assert response.status_code == 201
    body = response.json()
    assert body["account_manager"] == "alice"
    assert sorted(body["tags"]) == ["new", "vip"]
    customer = Customer.objects.get(external_id="SHOP-1")
    # Created through the service: the assignment history starts at once.
    assert AccountAssignment.objects.filter(customer=customer, manager=alice, ended_at__isnull=True).exists()


def test_create_refuses_unknown_fields_by_name(alice):
    response = api_client_for(alice).post(LIST, {"external_id": "SHOP-2", "name": "Dewi", "emial": "d@example.com"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {"emial": ["Unknown field."]}
    assert not Customer.objects.filter(external_id="SHOP-2").exists()


def test_create_with_a_duplicate_external_id_names_the_field(alice, alices_customer):
    response = api_client_for(alice).post(LIST, {"external_id": alices_customer.external_id, "name": "Copy"})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["external_id"]


def test_create_with_wrong_types_names_each_bad_field(alice):
    payload = {
        "external_id": "SHOP-3",
        "name": "Eko",
        "acquired_at": "last tuesday",
        "marketing_consent": "maybe",
        "tags": "vip",
        "time_zone": "Mars/Olympus",
        "language": "xx",
    }

    response = api_client_for(alice).post(LIST, payload)

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {
        "acquired_at",
        "marketing_consent",
        "tags",
        "time_zone",
        "language",
    }


def test_account_manager_cannot_put_a_new_customer_in_a_colleagues_book(alice, bob):
    response = api_client_for(alice).post(LIST, {"external_id": "SHOP-4", "name": "Fajar", "account_manager": "bob"})

    assert response.status_code == 400
    assert "account_manager" in response.json()["error"]["fields"]


def test_administrator_assigns_by_username_and_unknown_usernames_are_refused(ada, bob):
    client = api_client_for(ada)

    assigned = client.post(LIST, {"external_id": "SHOP-5", "name": "Gita", "account_manager": "bob"})
    unknown = client.post(LIST, {"external_id": "SHOP-6", "name": "Hadi", "account_manager": "nobody"})

    assert assigned.status_code == 201
    assert assigned.json()["account_manager"] == "bob"
    assert unknown.status_code == 400
    assert "account_manager" in unknown.json()["error"]["fields"]


def test_referrer_is_given_by_external_id_and_must_be_visible(alice, alices_customer, bobs_customer):
    client = api_client_for(alice)

    referred = client.post(LIST, {"external_id": "SHOP-7", "name": "Indah", "referred_by": alices_customer.external_id})
    hidden = client.post(LIST, {"external_id": "SHOP-8", "name": "Joko", "referred_by": bobs_customer.external_id})

    assert referred.status_code == 201
    assert referred.json()["referred_by"] == alices_customer.external_id
    assert hidden.status_code == 400
    assert "referred_by" in hidden.json()["error"]["fields"]


def test_a_referrer_in_a_book_the_user_cannot_see_is_not_named(alice, ada, bobs_customer):
    referred = CustomerFactory(account_manager=alice, referred_by=bobs_customer)

    as_alice = api_client_for(alice).get(detail(referred)).json()
    listed = api_client_for(alice).get(LIST).json()["results"]
    as_ada = api_client_for(ada).get(detail(referred)).json()

    assert as_alice["referred_by"] is None
    assert listed[0]["referred_by"] is None
    assert as_ada["referred_by"] == bobs_customer.external_id


def test_customer_cannot_refer_themselves(alice, alices_customer):
    response = api_client_for(alice).patch(detail(alices_customer), {"referred_by": alices_customer.external_id})

    assert response.status_code == 400
    assert "referred_by" in response.json()["error"]["fields"]


def test_update_replaces_tags_and_administrator_reassigns(ada, alice, bob, alices_customer):
    AccountAssignment.objects.create(customer=alices_customer, manager=alice, started_at=alices_customer.created_at)

    response = api_client_for(ada).patch(detail(alices_customer), {"tags": ["churn-risk"], "account_manager": "bob"})

    assert response.status_code == 200
    assert response.json()["tags"] == ["churn-risk"]
    assert response.json()["account_manager"] == "bob"
    assert AccountAssignment.objects.get(customer=alices_customer, ended_at__isnull=True).manager == bob


def test_put_replaces_details_and_keeps_the_manager(alice, alices_customer):
    payload = {"external_id": alices_customer.external_id, "name": "Ana A.", "country": "PT"}

    response = api_client_for(alice).put(detail(alices_customer), payload)

    assert response.status_code == 200
    alices_customer.refresh_from_db()
    assert (alices_customer.name, alices_customer.country, alices_customer.account_manager) == ("Ana A.", "PT", alice)


def test_delete_archives_the_customer_instead_of_deleting_it(alice, alices_customer):
    client = api_client_for(alice)

    archived = client.delete(detail(alices_customer))
    listed = client.get(LIST)
    listed_archived = client.get(LIST, {"archived": "true"})
    still_readable = client.get(detail(alices_customer))

    assert archived.status_code == 204
    alices_customer.refresh_from_db()
    assert alices_customer.archived_at is not None
    assert ids(listed) == set()
    assert ids(listed_archived) == {alices_customer.pk}
    assert still_readable.status_code == 200
    assert still_readable.json()["archived_at"] is not None


def test_restore_brings_an_archived_customer_back(alice, alices_customer):
    client = api_client_for(alice)
    client.delete(detail(alices_customer))

    response = client.post(f"{detail(alices_customer)}restore/")

    assert response.status_code == 200
    assert response.json()["archived_at"] is None


def test_integration_finds_a_customer_by_external_id(alice, alices_customer):
    found = api_client_for(alice).get(f"{LIST}by-external-id/{alices_customer.external_id}/")
    missing = api_client_for(alice).get(f"{LIST}by-external-id/NO-SUCH-ID/")

    assert found.status_code == 200
    assert found.json()["id"] == alices_customer.pk
    assert missing.status_code == 404


# --- Filters, search, ordering, pagination ------------------------------------------------


@pytest.fixture
def book(ada, alice, bob):
    return {
        "ana": CustomerFactory(
            name="Ana", account_manager=alice, country="ES", language="ca", acquired_at=date(2024, 1, 10), tags=["vip"]
        ),
        "budi": CustomerFactory(
            name="Budi", account_manager=bob, country="ID", language="id", acquired_at=date(2024, 6, 1)
        ),
        "citra": CustomerFactory(
            name="Citra", account_manager=bob, country="ID", email="citra@shop.example", company="Kopi Citra"
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"country": "id"}, {"budi", "citra"}),
        ({"language": "ca"}, {"ana"}),
        ({"account_manager": "bob"}, {"budi", "citra"}),
        ({"tag": "vip"}, {"ana"}),
        ({"acquired_at_after": "2024-01-01", "acquired_at_before": "2024-03-31"}, {"ana"}),
        ({"search": "kopi"}, {"citra"}),
        ({"search": "citra@shop"}, {"citra"}),
    ],
)
def test_list_filters_and_searches(ada, book, query, expected):
    response = api_client_for(ada).get(LIST, query)

    assert response.status_code == 200
    assert ids(response) == {book[name].pk for name in expected}


def test_list_filters_by_external_id(ada, book):
    response = api_client_for(ada).get(LIST, {"external_id": book["budi"].external_id})

    assert ids(response) == {book["budi"].pk}


def test_list_orders_by_the_requested_field(ada, book):
    response = api_client_for(ada).get(LIST, {"ordering": "-name"})

    assert [row["name"] for row in response.json()["results"]] == ["Citra", "Budi", "Ana"]


def test_bad_filter_value_is_a_400_naming_the_filter(ada, book):
    response = api_client_for(ada).get(LIST, {"acquired_at_after": "soon", "archived": "perhaps"})

    assert response.status_code == 400
    assert {"acquired_at", "archived"} <= set(response.json()["error"]["fields"])


def test_list_is_cursor_paginated(ada, book):
    client = api_client_for(ada)

    first = client.get(LIST, {"page_size": 2}).json()
    second = client.get(first["next"]).json()

    assert set(first) == {"next", "previous", "results"}
    assert [row["name"] for row in first["results"]] == ["Ana", "Budi"]
    assert first["previous"] is None
    assert [row["name"] for row in second["results"]] == ["Citra"]
    assert second["next"] is None
