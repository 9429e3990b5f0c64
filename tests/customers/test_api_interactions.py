"""The interactions API: visibility, logging by customer id or external id, resolving, filters."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Interaction
from tests.conftest import api_client_for

from .factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/interactions/"


def detail(interaction) -> str:
    return f"/api/v1/interactions/{interaction.pk}/"


@pytest.fixture
def alices_customer(alice):
    return CustomerFactory(account_manager=alice)


@pytest.fixture
def complaint(alices_customer):
    return InteractionFactory(customer=alices_customer, kind=Interaction.Kind.COMPLAINT, subject="Late delivery")


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


# --- Who sees what ------------------------------------------------------------------------


def test_owner_reads_an_interaction_of_their_customer(alice, complaint):
    response = api_client_for(alice).get(detail(complaint))

    assert response.status_code == 200
    body = response.json()
    assert body["customer"] == complaint.customer.external_id
    assert body["customer_id"] == complaint.customer_id
    assert body["is_open"] is True


def test_colleague_gets_404_unless_the_setting_allows_reading(settings, bob, complaint):
    client = api_client_for(bob)

    hidden = client.get(detail(complaint))
    hidden_list = client.get(LIST)
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True
    shown = client.get(detail(complaint))
    resolved = client.post(f"{detail(complaint)}resolve/")

    assert hidden.status_code == 404
    assert hidden_list.json()["results"] == []
    assert shown.status_code == 200
    assert resolved.status_code == 403


def test_stranger_gets_404_and_an_empty_list(charlie, complaint):
    client = api_client_for(charlie)

    assert client.get(detail(complaint)).status_code == 404
    assert client.post(f"{detail(complaint)}resolve/").status_code == 404
    assert client.get(LIST).json()["results"] == []


def test_marketer_reads_but_cannot_log_or_resolve(marta, complaint):
    client = api_client_for(marta)

    listed = client.get(LIST)
    logged = client.post(LIST, {"customer_id": complaint.customer_id, "kind": "call", "subject": "Hello"})
    resolved = client.post(f"{detail(complaint)}resolve/")

    assert ids(listed) == {complaint.pk}
    assert (logged.status_code, resolved.status_code) == (403, 403)
    complaint.refresh_from_db()
    assert complaint.resolved_at is None


# --- Logging --------------------------------------------------------------------------------


def test_a_call_is_logged_with_its_outcome_and_read_back_with_it(alice, alices_customer):
    payload = {"customer_id": alices_customer.pk, "kind": "call", "subject": "Renewal", "outcome": "meeting_booked"}
    client = api_client_for(alice)

    created = client.post(LIST, payload)
    read = client.get(f"{LIST}{created.json()['id']}/")

    assert created.status_code == 201 and created.json()["outcome"] == "meeting_booked"
    assert read.json()["outcome"] == "meeting_booked"
    assert Interaction.objects.get().outcome == Interaction.Outcome.MEETING_BOOKED


@pytest.mark.parametrize("by", ["customer", "customer_id"])
def test_owner_logs_an_interaction_by_external_id_or_id_and_is_its_author(alice, alices_customer, by):
    key = alices_customer.external_id if by == "customer" else alices_customer.pk
    payload = {by: key, "kind": "call", "subject": "Checked in", "channel": "phone", "sentiment": 1}

    response = api_client_for(alice).post(LIST, payload)

    assert response.status_code == 201
    body = response.json()
    assert (body["author"], body["customer_id"], body["kind"]) == ("alice", alices_customer.pk, "call")
    assert Interaction.objects.get(pk=body["id"]).author == alice


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "call", "subject": "No customer"}, "customer"),
        ({"customer": "C-1", "customer_id": 1, "kind": "call", "subject": "Both"}, "customer"),
        ({"customer": "NO-SUCH", "kind": "call", "subject": "Unknown"}, "customer"),
        ({"customer_id": "first", "kind": "call", "subject": "Wrong type"}, "customer_id"),
        ({"customer": "CUST", "kind": "telepathy", "subject": "Bad kind"}, "kind"),
        ({"customer": "CUST", "kind": "call", "subject": ""}, "subject"),
        ({"customer": "CUST", "kind": "call", "subject": "x", "sentiment": 5}, "sentiment"),
        ({"customer": "CUST", "kind": "call", "subject": "x", "occurred_at": "noon"}, "occurred_at"),
        ({"customer": "CUST", "kind": "call", "subject": "x", "mood": "happy"}, "mood"),
        ({"customer": "CUST", "kind": "call", "subject": "x", "outcome": "hung up"}, "outcome"),
    ],
)
def test_bad_interaction_is_a_field_error(alice, alices_customer, payload, field):
    payload = {key: alices_customer.external_id if value == "CUST" else value for key, value in payload.items()}

    response = api_client_for(alice).post(LIST, payload)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert Interaction.objects.count() == 0


def test_a_customer_of_another_book_is_unknown_to_the_account_manager(alice, bob):
    bobs_customer = CustomerFactory(account_manager=bob)

    response = api_client_for(alice).post(LIST, {"customer_id": bobs_customer.pk, "kind": "call", "subject": "Hi"})

    assert response.status_code == 400
    assert "customer_id" in response.json()["error"]["fields"]


# --- Resolving ------------------------------------------------------------------------------


def test_owner_resolves_a_complaint_with_its_resolution(alice, complaint):
    response = api_client_for(alice).post(
        f"{detail(complaint)}resolve/", {"resolution": "  Refunded the delivery fee "}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["resolved_at"] is not None
    assert body["is_open"] is False
    assert (body["status"], body["resolution"], body["resolved_by"]) == (
        "resolved",
        "Refunded the delivery fee",
        "alice",
    )
    assert complaint.changes.filter(field="resolution", new_value="Refunded the delivery fee").exists()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "This field is required."),
        ({"resolution": ""}, "This field may not be blank."),
        ({"resolution": "   \n "}, "This field may not be blank."),
        ({"resolution": None}, "This field may not be null."),
    ],
)
def test_resolving_without_a_resolution_is_a_400_naming_the_field_and_changes_nothing(
    alice, complaint, payload, message
):
    response = api_client_for(alice).post(f"{detail(complaint)}resolve/", payload, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"resolution": [message]}
    complaint.refresh_from_db()
    assert (complaint.status, complaint.resolved_at, complaint.resolution) == ("open", None, "")
    assert not complaint.changes.exists()


def test_resolving_with_an_unknown_field_or_a_resolution_too_long_is_refused(alice, complaint):
    client = api_client_for(alice)

    typo = client.post(f"{detail(complaint)}resolve/", {"resolutoin": "Refunded"}, format="json")
    long = client.post(f"{detail(complaint)}resolve/", {"resolution": "x" * 5001}, format="json")

    assert typo.json()["error"]["fields"] == {
        "resolution": ["This field is required."],
        "resolutoin": ["Unknown field."],
    }
    assert long.json()["error"]["fields"] == {"resolution": ["Ensure this field has no more than 5000 characters."]}
    complaint.refresh_from_db()
    assert complaint.resolved_at is None


def test_resolving_a_resolved_case_again_is_refused_and_keeps_its_resolution(alice, complaint):
    client = api_client_for(alice)
    client.post(f"{detail(complaint)}resolve/", {"resolution": "Refunded"}, format="json")

    again = client.post(f"{detail(complaint)}resolve/", {"resolution": "Something else"}, format="json")

    assert again.status_code == 400
    assert again.json()["error"]["fields"] == {
        "status": ["This case is already resolved. Reopen it first to change its resolution."]
    }
    complaint.refresh_from_db()
    assert complaint.resolution == "Refunded"


def test_resolving_a_plain_call_is_refused_with_a_message(alice, alices_customer):
    call = InteractionFactory(customer=alices_customer, kind=Interaction.Kind.CALL)

    response = api_client_for(alice).post(f"{detail(call)}resolve/", {"resolution": "Done"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["non_field_errors"] == [
        "Only complaints, support tickets and reviews can be resolved."
    ]


# --- A case's fields, read-only --------------------------------------------------------------


def test_a_case_shows_status_priority_owner_due_and_resolution_as_the_complaints_api_does(alice, complaint):
    from customers import services

    services.complaint_update(complaint=complaint, by=alice, owner=alice, priority="urgent")
    client = api_client_for(alice)
    open_body = client.get(detail(complaint)).json()
    services.complaint_resolve(complaint=complaint, resolution="Refunded the delivery fee", by=alice)
    body = client.get(detail(complaint)).json()
    case = client.get(f"/api/v1/complaints/{complaint.pk}/").json()

    assert (open_body["status"], open_body["priority"], open_body["owner"]) == ("open", "urgent", "alice")
    assert open_body["resolution"] is None
    assert open_body["due_at"] is not None
    assert open_body["is_overdue"] is False
    assert (body["status"], body["resolution"], body["resolved_by"]) == (
        "resolved",
        "Refunded the delivery fee",
        "alice",
    )
    for field in ("status", "priority", "owner", "due_at", "is_overdue", "resolved_at", "resolved_by", "resolution"):
        assert body[field] == case[field], field


def test_an_overdue_case_says_so_in_the_list(alice, alices_customer):
    late = InteractionFactory(
        customer=alices_customer,
        kind=Interaction.Kind.SUPPORT_TICKET,
        occurred_at=timezone.now() - timedelta(days=5),
    )

    row = next(r for r in api_client_for(alice).get(LIST).json()["results"] if r["id"] == late.pk)

    assert (row["status"], row["is_overdue"]) == ("open", True)


def test_other_interactions_have_no_case_fields(alice, alices_customer):
    call = InteractionFactory(customer=alices_customer, kind=Interaction.Kind.CALL)

    body = api_client_for(alice).get(detail(call)).json()

    assert [body[f] for f in ("status", "priority", "owner", "due_at", "is_overdue", "resolved_by", "resolution")] == [
        None
    ] * 7


def test_case_fields_are_refused_when_logging_with_a_pointer_to_the_complaints_api(alice, alices_customer):
    response = api_client_for(alice).post(
        LIST,
        {"customer_id": alices_customer.pk, "kind": "complaint", "subject": "Broken", "priority": "urgent"},
        format="json",
    )

    assert response.status_code == 400
    assert "/api/v1/complaints/" in response.json()["error"]["fields"]["priority"][0]
    assert not Interaction.objects.filter(customer=alices_customer).exists()


# --- Filters --------------------------------------------------------------------------------


@pytest.fixture
def timeline(alices_customer, complaint):
    now = timezone.now()
    other = CustomerFactory()
    return {
        "complaint": complaint,
        "old_call": InteractionFactory(customer=alices_customer, occurred_at=now - timedelta(days=40)),
        "resolved": InteractionFactory(
            customer=other, kind=Interaction.Kind.SUPPORT_TICKET, resolved_at=now, occurred_at=now
        ),
    }


def test_list_filters_open_issues_kind_customer_and_dates(ada, alices_customer, timeline):
    client = api_client_for(ada)
    since = (timezone.now() - timedelta(days=7)).isoformat()

    def names(query):
        response = client.get(LIST, query)
        assert response.status_code == 200
        return {name for name, item in timeline.items() if item.pk in ids(response)}

    assert names({"open": "true"}) == {"complaint"}
    assert names({"open": "false"}) == {"old_call", "resolved"}
    assert names({"kind": "support_ticket"}) == {"resolved"}
    assert names({"customer": alices_customer.pk}) == {"complaint", "old_call"}
    assert names({"customer_external_id": alices_customer.external_id}) == {"complaint", "old_call"}
    assert names({"occurred_at_after": since}) == {"complaint", "resolved"}
