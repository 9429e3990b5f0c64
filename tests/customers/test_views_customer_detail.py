"""The customer page: who reads it and with which controls, and its quick actions over htmx (logging
an interaction, resolving a complaint).

Personas: Alice owns the customers under test (tests/customers/conftest.py), Bob is a colleague
(another account manager), Charlie has no role, Marta is a marketer, Ada an administrator.
"""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Interaction
from tests.clients import client_for

from .factories import CustomerFactory, InteractionFactory, OrderFactory, order_add_line
from .views_helpers import HTMX, detail_url

pytestmark = pytest.mark.django_db


def log_url(customer) -> str:
    return reverse("customers:interaction_log", args=[customer.pk])


def call_data(**overrides) -> dict:
    data = {
        "kind": "call",
        "subject": "Checked in after the delivery",
        "body": "Happy with the service.",
        "direction": "outbound",
        "channel": "phone",
        "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "sentiment": "1",
    }
    data.update(overrides)
    return data


# --- Customer file ------------------------------------------------------------------------------


def test_owner_sees_the_customer_file_with_orders_timeline_and_quick_actions(alice, alices_customer):
    order = OrderFactory(customer=alices_customer, external_id="ORD-1")
    order_add_line(order, quantity=2, unit_price="12.50")
    InteractionFactory(customer=alices_customer, subject="Asked about delivery times")

    response = client_for(alice).get(detail_url(alices_customer))

    page = response.content.decode()
    assert response.status_code == 200
    assert "ORD-1" in page and "25.00" in page
    assert "Asked about delivery times" in page
    assert 'id="interaction-form"' in page
    assert reverse("customers:edit", args=[alices_customer.pk]) in page


def test_colleague_gets_404_on_another_books_customer(bob, alices_customer):
    response = client_for(bob).get(detail_url(alices_customer))

    assert response.status_code == 404


def test_colleague_reads_another_book_when_the_setting_allows_without_edit_controls(settings, bob, alices_customer):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True

    response = client_for(bob).get(detail_url(alices_customer))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="interaction-form"' not in page
    assert reverse("customers:edit", args=[alices_customer.pk]) not in page


def test_stranger_gets_404_on_the_customer_file(charlie, alices_customer):
    response = client_for(charlie).get(detail_url(alices_customer))

    assert response.status_code == 404
    assert "Ana Aguilar" not in response.content.decode()


def test_marketer_reads_the_customer_file_without_edit_controls(marta, alices_customer):
    response = client_for(marta).get(detail_url(alices_customer))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Ana Aguilar" in page
    assert 'id="interaction-form"' not in page
    assert reverse("customers:archive", args=[alices_customer.pk]) not in page


def test_customer_file_names_a_referrer_in_another_book_only_by_external_id(alice, bobs_customer):
    referred = CustomerFactory(account_manager=alice, referred_by=bobs_customer)

    response = client_for(alice).get(detail_url(referred))

    page = response.content.decode()
    assert bobs_customer.external_id in page
    assert "Budi Santoso" not in page


# --- Quick actions ------------------------------------------------------------------------------


def test_logging_a_call_over_htmx_returns_the_timeline_with_the_new_entry(alice, alices_customer):
    response = client_for(alice).post(log_url(alices_customer), call_data(), headers=HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="timeline"')
    assert "Checked in after the delivery" in page
    assert 'hx-swap-oob="true"' in page  # a fresh, empty form replaces the one just sent
    interaction = Interaction.objects.get(customer=alices_customer)
    assert (interaction.kind, interaction.author, interaction.sentiment) == ("call", alice, 1)


def test_logging_a_note_without_javascript_redirects_to_the_customer(alice, alices_customer):
    response = client_for(alice).post(log_url(alices_customer), call_data(kind="note", sentiment=""))

    assert response.status_code == 302
    assert response["Location"] == detail_url(alices_customer)
    assert Interaction.objects.get(customer=alices_customer).sentiment is None


def test_logging_without_a_subject_over_htmx_returns_the_form_with_the_error(alice, alices_customer):
    response = client_for(alice).post(log_url(alices_customer), call_data(subject=""), headers=HTMX)

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#interaction-form"
    assert "This field is required." in response.content.decode()
    assert not Interaction.objects.exists()


def test_logging_with_a_bad_date_without_javascript_shows_the_page_with_the_error(alice, alices_customer):
    response = client_for(alice).post(log_url(alices_customer), call_data(occurred_at="yesterday-ish"))

    assert response.status_code == 200
    assert "Enter a valid date/time." in response.content.decode()


@pytest.mark.parametrize("persona", ["marta", "charlie", "bob"])
def test_only_the_owner_may_log_an_interaction_others_get_404(request, settings, persona, alices_customer):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True  # even a colleague who may read the customer
    user = request.getfixturevalue(persona)

    response = client_for(user).post(log_url(alices_customer), call_data(), headers=HTMX)

    assert response.status_code == 404
    assert not Interaction.objects.exists()


def resolve_url(customer, case) -> str:
    return reverse("customers:interaction_resolve", args=[customer.pk, case.pk])


def test_the_timeline_asks_for_the_resolution_under_an_open_case(alice, alices_customer):
    complaint = InteractionFactory(customer=alices_customer, kind="complaint", subject="Parcel arrived broken")

    page = client_for(alice).get(detail_url(alices_customer)).content.decode()

    form = page.split(f'action="{resolve_url(alices_customer, complaint)}"')[1].split("</form>")[0]
    assert 'name="resolution"' in form
    assert "required" in form
    assert 'hx-post="' + resolve_url(alices_customer, complaint) + '"' in form


def test_resolving_over_htmx_records_the_resolution_and_who_resolved(alice, alices_customer):
    complaint = InteractionFactory(customer=alices_customer, kind="complaint", subject="Parcel arrived broken")

    response = client_for(alice).post(
        resolve_url(alices_customer, complaint), {"resolution": "Sent a new one, <b>free</b>"}, headers=HTMX
    )

    complaint.refresh_from_db()
    body = response.content.decode()
    assert response.status_code == 200
    assert (complaint.status, complaint.resolution, complaint.resolved_by) == (
        "resolved",
        "Sent a new one, <b>free</b>",
        alice,
    )
    assert complaint.resolved_at is not None
    assert complaint.changes.filter(field="resolution", new_value="Sent a new one, <b>free</b>").exists()
    assert "Sent a new one, &lt;b&gt;free&lt;/b&gt;" in body
    assert 'name="resolution"' not in body  # the case is no longer open: no form under it


def test_resolving_without_a_resolution_is_refused_and_the_form_stays_open(alice, alices_customer):
    complaint = InteractionFactory(customer=alices_customer, kind="complaint")

    response = client_for(alice).post(resolve_url(alices_customer, complaint), {"resolution": "   "}, headers=HTMX)

    complaint.refresh_from_db()
    body = response.content.decode()
    assert response.status_code == 200
    assert complaint.status == "open"
    assert complaint.resolved_at is None
    assert "Say how the case was resolved." in body or "This field is required." in body
    assert '<details class="mt-2 case-resolve" open>' in body


def test_a_too_long_resolution_keeps_what_was_typed(alice, alices_customer):
    complaint = InteractionFactory(customer=alices_customer, kind="complaint")
    typed = "x" * 5001

    response = client_for(alice).post(resolve_url(alices_customer, complaint), {"resolution": typed}, headers=HTMX)

    complaint.refresh_from_db()
    assert complaint.resolved_at is None
    assert typed in response.content.decode()
    assert "at most 5000 characters" in response.content.decode()


def test_resolving_works_without_javascript(alice, alices_customer):
    complaint = InteractionFactory(customer=alices_customer, kind="support_ticket")
    client = client_for(alice)

    refused = client.post(resolve_url(alices_customer, complaint), {"resolution": ""})
    complaint.refresh_from_db()
    still_open = complaint.resolved_at is None
    accepted = client.post(resolve_url(alices_customer, complaint), {"resolution": "Reset the password"}, follow=True)
    complaint.refresh_from_db()

    assert refused.status_code == 400
    assert "This field is required." in refused.content.decode()
    assert still_open
    assert accepted.redirect_chain == [(detail_url(alices_customer), 302)]
    assert "Marked as resolved." in accepted.content.decode()
    assert complaint.resolution == "Reset the password"


def test_a_case_resolved_meanwhile_is_not_resolved_twice(alice, bob, alices_customer):
    from customers import services

    complaint = InteractionFactory(customer=alices_customer, kind="complaint")
    services.complaint_resolve(complaint=complaint, resolution="Called back", by=alice)

    response = client_for(alice).post(resolve_url(alices_customer, complaint), {"resolution": "Again"}, headers=HTMX)

    complaint.refresh_from_db()
    assert response.status_code == 200
    assert "already resolved" in response.content.decode()
    assert complaint.resolution == "Called back"


def test_resolving_a_call_answers_with_a_clear_message_not_a_500(alice, alices_customer):
    call = InteractionFactory(customer=alices_customer, kind="call")

    response = client_for(alice).post(resolve_url(alices_customer, call), {"resolution": "Done"}, headers=HTMX)

    assert response.status_code == 200
    assert "Only complaints, support tickets and reviews can be resolved." in response.content.decode()


@pytest.mark.parametrize("who", ["bob", "charlie"])
def test_a_colleague_or_a_stranger_gets_404_and_nothing_changes(request, settings, who, alices_customer):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True  # bob may read alice's book, not change it
    complaint = InteractionFactory(customer=alices_customer, kind="complaint")

    response = client_for(request.getfixturevalue(who)).post(
        resolve_url(alices_customer, complaint), {"resolution": "Mine now"}
    )

    complaint.refresh_from_db()
    assert response.status_code == 404
    assert complaint.resolved_at is None


def test_marketer_cannot_resolve_a_complaint(marta, alices_customer):
    complaint = InteractionFactory(customer=alices_customer, kind="complaint")
    url = reverse("customers:interaction_resolve", args=[alices_customer.pk, complaint.pk])

    response = client_for(marta).post(url, {"resolution": "Done"})

    complaint.refresh_from_db()
    assert response.status_code == 404
    assert complaint.resolved_at is None


def test_csrf_is_enforced_on_posts(alice, alices_customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    refused = client.post(log_url(alices_customer), call_data())
    client.get(detail_url(alices_customer))  # sets the CSRF cookie, as the browser would
    token = client.cookies["csrftoken"].value
    accepted = client.post(log_url(alices_customer), call_data(), headers={**HTMX, "X-CSRFToken": token})

    assert refused.status_code == 403
    assert accepted.status_code == 200
    assert Interaction.objects.count() == 1


def test_the_page_sends_the_csrf_token_with_every_htmx_request(alice, alices_customer):
    response = client_for(alice).get(detail_url(alices_customer))

    assert 'hx-headers=\'{"X-CSRFToken": "' in response.content.decode()
