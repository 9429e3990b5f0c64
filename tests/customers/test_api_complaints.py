"""The complaints API: scoped like every customer endpoint (owner, colleague, stranger, marketer,
administrator), the error shape, recording, changing, resolving and reopening on purpose."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Interaction
from tests.conftest import api_client_for

from .factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/complaints/"


@pytest.fixture
def customer(alice):
    return CustomerFactory(account_manager=alice)


@pytest.fixture
def case(customer, alice):
    return InteractionFactory(
        customer=customer, kind="complaint", subject="Late", owner=alice, occurred_at=timezone.now() - timedelta(days=4)
    )


def test_the_owner_lists_filters_and_reads(alice, case, customer):
    InteractionFactory(customer=customer, kind="call")
    client = api_client_for(alice)

    body = client.get(LIST).json()
    assert [row["id"] for row in body["results"]] == [case.pk]
    row = body["results"][0]
    assert (row["status"], row["priority"], row["owner"], row["is_overdue"]) == ("open", "normal", "alice", True)
    assert client.get(LIST, {"overdue": "false"}).json()["results"] == []
    assert client.get(LIST, {"status": "resolved"}).json()["results"] == []
    assert client.get(f"{LIST}{case.pk}/").json()["subject"] == "Late"
    bad = client.get(LIST, {"status": "sometime"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]


@pytest.mark.parametrize("persona", ["bob", "charlie", "marta"])
def test_others_reach_nothing(request, persona, case):
    client = api_client_for(request.getfixturevalue(persona))

    assert client.get(LIST).json()["results"] == []
    assert client.get(f"{LIST}{case.pk}/").status_code == 404
    assert client.patch(f"{LIST}{case.pk}/", {"priority": "low"}, format="json").status_code == 404
    assert client.post(f"{LIST}{case.pk}/resolve/", {"resolution": "x"}, format="json").status_code == 404
    case.refresh_from_db()
    assert (case.status, case.priority) == ("open", "normal")


def test_a_colleague_seeing_every_book_may_read_not_change(settings, bob, case):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True
    client = api_client_for(bob)

    assert client.get(f"{LIST}{case.pk}/").status_code == 200
    response = client.post(f"{LIST}{case.pk}/resolve/", {"resolution": "x"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["status"] == 403


def test_record_change_resolve_and_reopen(alice, bob, customer):
    client = api_client_for(alice)
    created = client.post(
        LIST,
        {"customer_id": customer.pk, "kind": "review", "subject": "<b>Meh</b>", "rating": 2, "priority": "high"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    case_id = created.json()["id"]
    assert created.json()["subject"] == "<b>Meh</b>" and created.json()["owner"] == "alice"

    changed = client.patch(f"{LIST}{case_id}/", {"owner": "bob", "status": "in_progress"}, format="json")
    assert changed.status_code == 200 and changed.json()["owner"] == "bob" and changed.json()["status"] == "in_progress"

    missing = client.post(f"{LIST}{case_id}/resolve/", {}, format="json")
    assert missing.status_code == 400 and "resolution" in missing.json()["error"]["fields"]
    resolved = client.post(f"{LIST}{case_id}/resolve/", {"resolution": "Called back."}, format="json")
    assert resolved.json()["status"] == "resolved" and resolved.json()["hours_to_resolve"] is not None

    refused = client.patch(f"{LIST}{case_id}/", {"status": "open"}, format="json")
    assert refused.status_code == 400 and "Reopen it on purpose" in refused.json()["error"]["fields"]["status"][0]
    again = client.post(f"{LIST}{case_id}/resolve/", {"resolution": "Twice"}, format="json")
    assert again.status_code == 400

    reopened = client.post(f"{LIST}{case_id}/reopen/", {}, format="json")
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    assert reopened.json()["resolution"] == ""


def test_bad_input_is_a_400_naming_the_field(alice, customer):
    client = api_client_for(alice)
    cases = [
        ({"customer_id": 999999, "kind": "complaint", "subject": "x"}, "customer_id"),
        ({"customer_id": customer.pk, "kind": "call", "subject": "x"}, "kind"),
        ({"customer_id": customer.pk, "kind": "complaint", "subject": "x", "rating": 3}, "rating"),
        ({"customer_id": customer.pk, "kind": "review", "subject": "x", "rating": 9}, "rating"),
        ({"customer_id": customer.pk, "kind": "complaint", "subject": "x", "owner": "nobody"}, "owner"),
        ({"customer_id": customer.pk, "kind": "complaint", "subject": "x", "colour": "red"}, "colour"),
    ]
    for data, field in cases:
        response = client.post(LIST, data, format="json")
        assert response.status_code == 400, (data, response.content)
        assert field in response.json()["error"]["fields"], (data, response.json())
    assert not Interaction.objects.exists()
