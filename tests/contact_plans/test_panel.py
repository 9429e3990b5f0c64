"""The "Follow-ups" card of the customer page and its actions (schedule, done, cancel).

Alice owns the customer; Bob is another account manager (404); Charlie has no role (404); Marta,
a marketer, sees the card without the buttons.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contact_plans import services
from contact_plans.models import FollowUp
from tests.clients import client_for
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def customer(alice):
    return CustomerFactory(account_manager=alice, name="Hoang Bakery")


@pytest.fixture
def followup(customer, alice):
    return services.followup_schedule(
        customer=customer, assigned_to=alice, due_at=timezone.now() + timedelta(days=2), note="Renewal call"
    )


def test_owner_sees_open_followups_with_buttons_and_the_form(alice, customer, followup):
    response = client_for(alice).get(customer.get_absolute_url())

    html = response.content.decode()
    assert 'id="customer-followups"' in html
    assert "Renewal call" in html
    assert reverse("worklist:followup_complete", args=[followup.pk]) in html
    assert reverse("worklist:followup_schedule", args=[customer.pk]) in html


def test_marketer_sees_the_card_without_buttons(marta, customer, followup):
    response = client_for(marta).get(customer.get_absolute_url())

    html = response.content.decode()
    assert "Renewal call" in html
    assert reverse("worklist:followup_complete", args=[followup.pk]) not in html
    assert reverse("worklist:followup_schedule", args=[customer.pk]) not in html


def test_schedule_with_htmx_answers_the_card_with_the_new_followup(alice, customer):
    due = timezone.localdate() + timedelta(days=5)

    response = client_for(alice).post(
        reverse("worklist:followup_schedule", args=[customer.pk]),
        {"due_on": due.isoformat(), "note": "Send samples"},
        headers=HTMX,
    )

    assert response.status_code == 200
    assert "Send samples" in response.content.decode()
    followup = FollowUp.objects.get()
    assert followup.assigned_to == alice and followup.created_by == alice
    assert timezone.localtime(followup.due_at).date() == due


def test_schedule_refuses_a_past_day(alice, customer):
    yesterday = timezone.localdate() - timedelta(days=1)

    response = client_for(alice).post(
        reverse("worklist:followup_schedule", args=[customer.pk]), {"due_on": yesterday.isoformat()}, headers=HTMX
    )

    assert "is-invalid" in response.content.decode()
    assert not FollowUp.objects.exists()


def test_complete_without_javascript_redirects_to_the_customer(alice, customer, followup):
    response = client_for(alice).post(reverse("worklist:followup_complete", args=[followup.pk]))

    assert response.status_code == 302 and response.url == customer.get_absolute_url()
    followup.refresh_from_db()
    assert followup.state == FollowUp.State.DONE


def test_cancel_with_htmx_removes_it_from_the_card(alice, customer, followup):
    response = client_for(alice).post(reverse("worklist:followup_cancel", args=[followup.pk]), headers=HTMX)

    assert "Renewal call" not in response.content.decode()
    followup.refresh_from_db()
    assert followup.state == FollowUp.State.CANCELLED


@pytest.mark.parametrize("persona", ["bob", "charlie", "marta"])
def test_others_cannot_act_on_alices_followups(request, persona, customer, followup):
    client = client_for(request.getfixturevalue(persona))

    responses = [
        client.post(reverse("worklist:followup_complete", args=[followup.pk])),
        client.post(reverse("worklist:followup_cancel", args=[followup.pk])),
        client.post(
            reverse("worklist:followup_schedule", args=[customer.pk]), {"due_on": timezone.localdate().isoformat()}
        ),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    followup.refresh_from_db()
    assert followup.state == FollowUp.State.OPEN and FollowUp.objects.count() == 1


def test_actions_need_post(alice, followup):
    response = client_for(alice).get(reverse("worklist:followup_complete", args=[followup.pk]))

    assert response.status_code == 405
