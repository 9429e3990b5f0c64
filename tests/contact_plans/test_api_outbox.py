"""API of the outbox: messages and contact preferences, scoped by the visibility rule.

Alice owns the customer; Bob (another account manager) and Charlie (no role) get 404; Marta, a
marketer, reads everything and changes no preference (403).
"""

import pytest

from contact_plans.models import ContactPreference
from tests.conftest import api_client_for
from tests.contact_plans.factories import MessageFactory, consenting_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(alice):
    return consenting_customer(account_manager=alice)


@pytest.fixture
def message(customer):
    return MessageFactory(customer=customer, state="failed", reason="rejected", error="550 No such user")


def test_the_owner_lists_and_reads_her_books_messages_with_state_and_reason(alice, message):
    MessageFactory()  # someone else's

    listing = api_client_for(alice).get("/api/v1/messages/")
    detail = api_client_for(alice).get(f"/api/v1/messages/{message.pk}/")

    assert listing.status_code == 200
    assert [row["id"] for row in listing.json()["results"]] == [message.pk]
    assert detail.json()["state"] == "failed" and detail.json()["reason"] == "rejected"
    assert detail.json()["message_id"] == message.message_id


def test_a_colleague_and_a_stranger_get_404_for_a_message_outside_their_book(bob, charlie, message):
    for user in (bob, charlie):
        assert api_client_for(user).get(f"/api/v1/messages/{message.pk}/").status_code == 404
        assert api_client_for(user).get("/api/v1/messages/").json()["results"] == []


def test_the_list_is_newest_first_with_a_cursor_and_filters(alice, customer):
    messages = MessageFactory.create_batch(3, customer=customer)
    MessageFactory(customer=customer, state="suppressed", reason="no_consent")

    first = api_client_for(alice).get("/api/v1/messages/", {"page_size": 2, "state": "queued"}).json()
    second = api_client_for(alice).get(first["next"]).json()

    assert [r["id"] for r in first["results"] + second["results"]] == [m.pk for m in reversed(messages)]


def test_a_bad_filter_is_a_400_naming_it(alice):
    response = api_client_for(alice).get("/api/v1/messages/", {"state": "lost"})

    assert response.status_code == 400
    assert "state" in response.json()["error"]["fields"]


def test_preferences_are_read_per_channel_and_topic(alice, customer):
    ContactPreference.objects.create(customer=customer, channel="email", topic="offers", subscribed=False)

    body = api_client_for(alice).get(f"/api/v1/customers/{customer.pk}/contact-preferences/").json()

    assert body["marketing_consent"] is True
    assert body["email"]["subscribed"] is True
    assert body["email"]["topics"]["offers"] is False
    assert body["sms"]["address_status"] == ""


def test_the_owner_changes_preferences_and_a_second_identical_change_changes_nothing(alice, customer):
    client = api_client_for(alice)
    url = f"/api/v1/customers/{customer.pk}/contact-preferences/"

    first = client.patch(url, {"sms": {"subscribed": False}, "email": {"topics": {"news": False}}}, format="json")
    second = client.patch(url, {"sms": {"subscribed": False}}, format="json")

    assert first.status_code == second.status_code == 200
    assert first.json()["sms"]["subscribed"] is False
    assert ContactPreference.objects.filter(customer=customer).count() == 2


def test_an_unknown_topic_is_refused_by_name(alice, customer):
    response = api_client_for(alice).patch(
        f"/api/v1/customers/{customer.pk}/contact-preferences/", {"email": {"topics": {"spam": False}}}, format="json"
    )

    assert response.status_code == 400
    assert "spam" in json_text(response)


def test_a_marketer_reads_preferences_but_may_not_change_them(marta, customer):
    client = api_client_for(marta)
    url = f"/api/v1/customers/{customer.pk}/contact-preferences/"

    assert client.get(url).status_code == 200
    assert client.patch(url, {"sms": {"subscribed": False}}, format="json").status_code == 403
    assert not ContactPreference.objects.exists()


def test_preferences_of_a_customer_outside_the_book_are_404(bob, charlie, customer):
    for user in (bob, charlie):
        url = f"/api/v1/customers/{customer.pk}/contact-preferences/"
        assert api_client_for(user).get(url).status_code == 404
        assert api_client_for(user).patch(url, {"sms": {"subscribed": False}}, format="json").status_code == 404


def json_text(response) -> str:
    return response.content.decode()
