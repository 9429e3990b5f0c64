"""The complaints page and a case's page: who sees what (owner, colleague, stranger, marketer,
administrator), the actions (record, assign, change status, resolve, reopen on purpose), the CSV
export, unknown senders' emails, and hostile input shown escaped.

Personas: Alice owns the customer, Bob is a colleague (another account manager), Charlie has no
role, Marta is a marketer, Ada an administrator.
"""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.inbound import inbound_email_record
from customers.models import InboundEmail, Interaction
from tests.clients import client_for

from .factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db

LIST = reverse("complaints:list")


@pytest.fixture
def customer(alice):
    return CustomerFactory(account_manager=alice, name="Ann Example", external_id="ANN-1", email="ann@example.com")


@pytest.fixture
def case(customer, alice):
    return InteractionFactory(
        customer=customer,
        kind="complaint",
        subject="Parcel <b>broken</b>",
        body="<script>alert('x')</script>",
        owner=alice,
        occurred_at=timezone.now() - timedelta(days=5),
    )


def url(name, case):
    return reverse(f"complaints:{name}", args=[case.pk])


def test_the_owner_sees_the_case_with_its_figures_and_hostile_text_escaped(alice, case):
    page = client_for(alice).get(LIST).content.decode()

    assert "Parcel &lt;b&gt;broken&lt;/b&gt;" in page and "<b>broken</b>" not in page
    assert 'data-figure="open">1<' in page and 'data-figure="overdue">1<' in page

    detail = client_for(alice).get(url("detail", case)).content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in detail and "<script>alert" not in detail
    assert url("resolve", case) in detail


@pytest.mark.parametrize("persona", ["bob", "charlie", "marta"])
def test_others_reach_nothing_of_the_case(request, persona, case):
    user = request.getfixturevalue(persona)
    client = client_for(user)

    assert client.get(url("detail", case)).status_code == 404
    for action, data in (("resolve", {"resolution": "x"}), ("status", {"status": "in_progress"}), ("update", {})):
        assert client.post(url(action, case), data).status_code == 404
    listing = client.get(LIST)
    assert listing.status_code == (200 if persona == "bob" else 404)
    if persona == "bob":
        assert "Parcel" not in listing.content.decode()
        export = b"".join(client.get(reverse("complaints:export")).streaming_content).decode()
        assert "Parcel" not in export
    case.refresh_from_db()
    assert case.status == "open"


def test_a_colleague_who_sees_every_book_reads_but_cannot_change(settings, bob, case):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True
    client = client_for(bob)

    page = client.get(url("detail", case)).content.decode()
    assert "but not change it" in page and url("resolve", case) not in page
    assert client.post(url("resolve", case), {"resolution": "Done"}).status_code == 404


def test_the_administrator_sees_and_handles_every_case(ada, case):
    client = client_for(ada)
    assert client.get(url("detail", case)).status_code == 200
    response = client.post(url("resolve", case), {"resolution": "Refunded."})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "resolved" and case.resolved_by == ada


def test_resolve_needs_a_resolution_and_reopen_is_deliberate(alice, case):
    client = client_for(alice)

    for blank in ("", "   \n  "):
        response = client.post(url("resolve", case), {"resolution": blank})
        assert response.status_code == 400 and "This field is required." in response.content.decode()
    case.refresh_from_db()
    assert (case.status, case.resolved_at) == ("open", None)
    assert client.post(url("resolve", case), {"resolution": "Replaced it."}).status_code == 302

    response = client.post(url("status", case), {"status": "open"})
    assert response.status_code == 400
    assert "Reopen it on purpose" in response.content.decode()
    case.refresh_from_db()
    assert case.status == "resolved"

    assert client.post(url("status", case), {"status": "open", "reopen": "on"}).status_code == 302
    case.refresh_from_db()
    assert case.status == "open"
    page = client.get(reverse("customers:detail", args=[case.customer_id])).content.decode()
    assert "Replaced it." in page  # the history on the timeline keeps the earlier resolution


def test_assign_change_status_and_the_tabs(alice, bob, case):
    client = client_for(alice)
    due = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")

    assert client.post(url("update", case), {"owner": bob.pk, "priority": "urgent", "due_at": due}).status_code == 302
    assert client.post(url("status", case), {"status": "in_progress"}).status_code == 302
    case.refresh_from_db()
    assert (case.owner, case.priority, case.status) == (bob, "urgent", "in_progress")

    assert "Parcel" not in client.get(LIST, {"view": "mine"}).content.decode()
    assert "Parcel" not in client.get(LIST, {"view": "overdue"}).content.decode()
    assert "Parcel" in client.get(LIST, {"view": "open", "priority": "urgent", "owner": bob.pk}).content.decode()
    assert "Parcel" not in client.get(LIST, {"view": "resolved"}).content.decode()
    # Bad filter values are ignored, never a 500.
    assert client.get(LIST, {"view": "nope", "owner": "x", "sort": "priority", "cursor": "zz"}).status_code == 200


def test_recording_a_case_by_hand(alice, customer):
    client = client_for(alice)
    data = {
        "customer": "ann@example.com",
        "kind": "review",
        "subject": "Two stars",
        "channel": "web",
        "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "priority": "high",
        "rating": "2",
        "review_source": "Google",
    }
    assert client.post(reverse("complaints:create"), data).status_code == 302
    review = Interaction.objects.get(kind="review")
    assert (review.customer, review.rating, review.status, review.owner) == (customer, 2, "open", alice)

    response = client.post(reverse("complaints:create"), {**data, "customer": "NOBODY-9"})
    assert response.status_code == 200 and "No customer of yours" in response.content.decode()
    response = client.post(reverse("complaints:create"), {**data, "kind": "complaint"})
    assert "Only a review has a rating" in response.content.decode()


def test_the_csv_export_follows_the_filters(alice, case, customer):
    InteractionFactory(customer=customer, kind="support_ticket", subject="Login fails")
    response = client_for(alice).get(reverse("complaints:export"), {"view": "overdue"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))

    assert rows[0][:3] == ["id", "customer_id", "customer"]
    assert [row[7] for row in rows[1:]] == ["Parcel <b>broken</b>"]


def test_unknown_senders_are_for_administrators(ada, alice, customer):
    email = inbound_email_record(sender="who@example.net", subject="Hello <i>there</i>", text="Help")

    assert "Emails from unknown senders" not in client_for(alice).get(LIST).content.decode()
    assert client_for(alice).post(reverse("complaints:inbound_discard", args=[email.pk])).status_code == 404
    page = client_for(ada).get(LIST).content.decode()
    assert "Hello &lt;i&gt;there&lt;/i&gt;" in page

    response = client_for(ada).post(reverse("complaints:inbound_attach", args=[email.pk]), {"customer": "NOPE"})
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.status == "unmatched"
    client_for(ada).post(reverse("complaints:inbound_attach", args=[email.pk]), {"customer": "ANN-1"})
    email.refresh_from_db()
    assert email.status == InboundEmail.Status.MATCHED and email.interaction.customer == customer


def test_the_customer_page_shows_the_case_and_its_history(alice, case):
    client = client_for(alice)
    client.post(url("status", case), {"status": "in_progress"})

    page = client.get(reverse("customers:detail", args=[case.customer_id])).content.decode()
    assert "In progress" in page and "Overdue" in page and url("detail", case) in page
