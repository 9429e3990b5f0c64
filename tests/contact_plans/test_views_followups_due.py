"""The follow-ups due today and overdue: an account manager's own, an administrator's everyone's
(or one person's), done and reschedule from the list; anyone else gets a 404."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contact_plans.models import FollowUp
from tests.clients import client_for

from .factories import FollowUpFactory
from .worklist_helpers import book_customer

pytestmark = pytest.mark.django_db

PAGE = reverse("worklist:followups_due")


@pytest.fixture
def due(alice, bob):
    """Alice: one overdue, one today, one next week; Bob: one overdue."""
    now = timezone.now()
    today_late = timezone.localtime().replace(hour=23, minute=30)
    return {
        "alice_overdue": FollowUpFactory(
            customer=book_customer(alice, name="Overdue Ltd"), assigned_to=alice, due_at=now - timedelta(days=2)
        ),
        "alice_today": FollowUpFactory(
            customer=book_customer(alice, name="Today Ltd"), assigned_to=alice, due_at=today_late, note="Quote"
        ),
        "alice_later": FollowUpFactory(
            customer=book_customer(alice, name="Later Ltd"), assigned_to=alice, due_at=now + timedelta(days=7)
        ),
        "bob_overdue": FollowUpFactory(
            customer=book_customer(bob, name="Bob Client"), assigned_to=bob, due_at=now - timedelta(days=1)
        ),
    }


def test_an_account_manager_sees_their_own_due_and_overdue(alice, due):
    html = client_for(alice).get(PAGE).content.decode()

    assert "Overdue Ltd" in html and "Today Ltd" in html and "Quote" in html
    assert "Later Ltd" not in html and "Bob Client" not in html
    counts = html.split('id="followups-due-counts"')[1].split("</div>")[0]
    assert "1 overdue" in counts and "1 today" in counts
    assert html.index("Overdue Ltd") < html.index("Today Ltd")


def test_an_administrator_sees_everyones_and_filters_by_person(ada, bob, due):
    client = client_for(ada)

    everyone = client.get(PAGE).content.decode()
    bobs = client.get(PAGE, {"person": bob.pk}).content.decode()

    assert "Overdue Ltd" in everyone and "Bob Client" in everyone and "for Bob" in everyone
    assert "Bob Client" in bobs and "Overdue Ltd" not in bobs


def test_a_colleague_cannot_ask_for_another_persons_list(alice, bob, due):
    assert client_for(alice).get(PAGE, {"person": bob.pk}).status_code == 404


@pytest.mark.parametrize("person", ["999999", "abc"])
def test_an_administrator_asking_for_nobody_gets_a_404(ada, due, person):
    assert client_for(ada).get(PAGE, {"person": person}).status_code == 404


def test_someone_without_a_role_gets_a_404(charlie, marta, due):
    assert client_for(charlie).get(PAGE).status_code == 404
    assert client_for(marta).get(PAGE).status_code == 404


def test_done_from_the_list_comes_back_to_it(alice, due):
    followup = due["alice_overdue"]

    response = client_for(alice).post(
        reverse("worklist:followup_complete", args=[followup.pk]), {"next": PAGE}, follow=True
    )

    followup.refresh_from_db()
    assert followup.state == FollowUp.State.DONE
    assert response.redirect_chain == [(PAGE, 302)]
    assert "Follow-up with Overdue Ltd done." in response.content.decode()
    assert "Overdue Ltd" not in response.content.decode().split("<main")[1].split("alert")[-1]


def test_reschedule_with_a_preset_moves_it_off_the_list(alice, due):
    followup = due["alice_today"]

    response = client_for(alice).post(
        reverse("worklist:followup_reschedule", args=[followup.pk]), {"preset": "next_week", "next": PAGE}, follow=True
    )

    followup.refresh_from_db()
    assert timezone.localtime(followup.due_at).date() == timezone.localdate() + timedelta(days=7)
    assert followup.state == FollowUp.State.OPEN
    assert "moved to" in response.content.decode()


def test_reschedule_to_a_past_day_is_refused_and_changes_nothing(alice, due):
    followup = due["alice_today"]
    before = followup.due_at

    response = client_for(alice).post(
        reverse("worklist:followup_reschedule", args=[followup.pk]),
        {"due_on": (timezone.localdate() - timedelta(days=1)).isoformat(), "next": PAGE},
        follow=True,
    )

    followup.refresh_from_db()
    assert followup.due_at == before
    assert "Today Ltd: Choose today or a later day." in response.content.decode()


def test_reschedule_of_a_done_followup_is_refused(alice, due):
    followup = due["alice_today"]
    client = client_for(alice)
    client.post(reverse("worklist:followup_complete", args=[followup.pk]), {"next": PAGE})

    response = client.post(
        reverse("worklist:followup_reschedule", args=[followup.pk]), {"preset": "tomorrow", "next": PAGE}, follow=True
    )

    assert "This follow-up is closed; it cannot be moved." in response.content.decode()


def test_a_colleague_cannot_reschedule_or_complete_anothers_followup(bob, due):
    followup = due["alice_today"]
    client = client_for(bob)

    assert (
        client.post(reverse("worklist:followup_reschedule", args=[followup.pk]), {"preset": "tomorrow"}).status_code
        == 404
    )
    assert client.post(reverse("worklist:followup_complete", args=[followup.pk])).status_code == 404


def test_an_outside_next_is_not_followed(alice, due):
    followup = due["alice_today"]

    response = client_for(alice).post(
        reverse("worklist:followup_reschedule", args=[followup.pk]),
        {"preset": "tomorrow", "next": "https://evil.example/"},
    )

    assert response.url == PAGE


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"due_on": "next tuesday"}, "Enter a valid date."),
        ({"preset": "someday"}, "Select a valid choice. someday is not one of the available choices."),
        ({}, "Choose a day, or tomorrow, next week or next month."),
    ],
)
def test_reschedule_with_a_bad_day_names_it_and_changes_nothing(alice, due, data, message):
    followup = due["alice_today"]
    before = followup.due_at

    response = client_for(alice).post(
        reverse("worklist:followup_reschedule", args=[followup.pk]), {**data, "next": PAGE}, follow=True
    )

    followup.refresh_from_db()
    assert response.status_code == 200 and followup.due_at == before
    assert f"Today Ltd: {message}" in response.content.decode()
