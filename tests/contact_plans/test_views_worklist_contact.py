"""My book's row actions as issue 13 asked: the call form takes an outcome and notes, the row then
says who called and lowers its urgency; follow-ups and snoozes take a date preset; a snooze's
confirmation shows once; My book links to the follow-ups due and to book performance."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contact_plans.forms import preset_date
from contact_plans.models import FollowUp, WorklistSnooze
from customers.models import Interaction
from retention_crm import formats as crm_formats
from tests.clients import client_for

from .factories import FollowUpFactory
from .worklist_helpers import book_customer, metrics_for

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
WORKLIST = reverse("worklist:home")


def row_html(html: str, pk: int) -> str:
    return html.split(f'id="wl-row-{pk}"')[1].split("</tr>")[0]


def test_logging_a_call_with_outcome_and_notes_updates_the_row(alice, alices_customer):
    pk = alices_customer.pk

    response = client_for(alice).post(
        reverse("worklist:log", args=[pk]),
        {"kind": "call", "outcome": "left_message", "subject": "Renewal", "notes": "Call back after 3 pm"},
        headers=HTMX,
    )

    row = row_html(response.content.decode(), pk)
    interaction = Interaction.objects.get()
    assert (interaction.outcome, interaction.body) == ("left_message", "Call back after 3 pm")
    assert "Last contact:" in row and "Call · " in row and "Alice" in row and "Left a message" in row
    assert "Called today by Alice: lower priority until" in row


def test_after_a_call_the_customer_moves_down_the_list(alice, alices_customer):
    other = book_customer(alice, name="Toko Lain")
    # 3 x 0.65 = 1.95: below Warung Sari's 3 x (0.72 + 0.5 rising) = 3.66, above its half, 1.83.
    metrics_for(other, churn_risk=0.65, value="high")
    client = client_for(alice)
    before = client.get(WORKLIST).content.decode()

    client.post(
        reverse("worklist:log", args=[alices_customer.pk]), {"kind": "call", "outcome": "reached", "subject": "Hi"}
    )
    after = client.get(WORKLIST).content.decode()

    assert before.index("Warung Sari") < before.index("Toko Lain")
    assert after.index("Toko Lain") < after.index("Warung Sari")


def test_the_call_form_refuses_an_unknown_outcome_and_writes_nothing(alice, alices_customer):
    pk = alices_customer.pk

    response = client_for(alice).post(
        reverse("worklist:log", args=[pk]), {"kind": "call", "outcome": "hung up", "subject": "Hi"}, headers=HTMX
    )

    form = response.content.decode().split(f'id="wl-action-{pk}"')[1]
    assert "Select a valid choice. hung up is not one of the available choices." in form
    assert not Interaction.objects.exists()


def test_the_call_form_offers_outcome_and_notes(alice, alices_customer):
    html = client_for(alice).get(reverse("worklist:log", args=[alices_customer.pk]), headers=HTMX).content.decode()

    assert 'name="outcome"' in html and '<textarea name="notes"' in html
    for label in ("Reached", "No answer", "Left a message", "Meeting booked", "Not interested"):
        assert label in html


@pytest.mark.parametrize("preset, days", [("tomorrow", 1), ("next_week", 7)])
def test_a_followup_preset_sets_the_day(alice, alices_customer, preset, days):
    client_for(alice).post(
        reverse("worklist:followup", args=[alices_customer.pk]), {"preset": preset, "due_on": ""}, headers=HTMX
    )

    due = timezone.localtime(FollowUp.objects.get().due_at).date()
    assert due == timezone.localdate() + timedelta(days=days)


def test_next_month_is_the_same_day_or_the_months_last():
    assert preset_date("next_month", today=timezone.datetime(2026, 1, 31).date()).isoformat() == "2026-02-28"
    assert preset_date("next_month", today=timezone.datetime(2026, 12, 6).date()).isoformat() == "2027-01-06"


def test_a_followup_without_a_day_nor_a_preset_says_what_to_do(alice, alices_customer):
    pk = alices_customer.pk

    response = client_for(alice).post(reverse("worklist:followup", args=[pk]), {"due_on": ""}, headers=HTMX)

    assert "Choose a day, or tomorrow, next week or next month." in response.content.decode()
    assert not FollowUp.objects.exists()


def test_an_unknown_preset_is_refused(alice, alices_customer):
    response = client_for(alice).post(
        reverse("worklist:snooze", args=[alices_customer.pk]), {"preset": "someday", "reason": "x"}, headers=HTMX
    )

    assert "Select a valid choice." in response.content.decode()
    assert not WorklistSnooze.objects.exists()


def test_a_snooze_preset_and_its_confirmation_shown_once(alice, alices_customer):
    response = client_for(alice).post(
        reverse("worklist:snooze", args=[alices_customer.pk]),
        {"preset": "next_month", "reason": "Closed for Ramadan"},
        headers=HTMX,
    )

    html = response.content.decode()
    snooze = WorklistSnooze.objects.get()
    assert snooze.until == preset_date("next_month")
    assert html.count("Snoozed until") == 1
    assert f"Snoozed until {crm_formats.format_date(snooze.until)}: Closed for Ramadan" in html


def test_forms_offer_the_presets(alice, alices_customer):
    client = client_for(alice)
    for action in ("followup", "snooze"):
        html = client.get(reverse(f"worklist:{action}", args=[alices_customer.pk]), headers=HTMX).content.decode()

        for key in ("tomorrow", "next_week", "next_month"):
            assert f'name="preset" value="{key}"' in html


def test_my_book_links_the_followups_due_with_counts_and_book_performance(alice, alices_customer):
    FollowUpFactory(customer=alices_customer, assigned_to=alice, due_at=timezone.now() - timedelta(days=2))
    FollowUpFactory(customer=alices_customer, assigned_to=alice, due_at=timezone.now() - timedelta(days=3))
    today_at = timezone.localtime().replace(hour=23, minute=0)
    FollowUpFactory(customer=alices_customer, assigned_to=alice, due_at=today_at)
    FollowUpFactory(customer=alices_customer, assigned_to=alice, due_at=timezone.now() + timedelta(days=3))

    html = client_for(alice).get(WORKLIST).content.decode()

    link = html.split('id="followups-due-link"')[1].split("</a>")[0]
    assert "1 today" in link and "2 overdue" in link
    assert f'href="{reverse("worklist:book")}" id="book-performance-link"' in html


def test_the_customer_pages_followup_card_takes_a_preset_too(alice, alices_customer):
    html = client_for(alice).get(alices_customer.get_absolute_url()).content.decode()
    card = html.split('id="customer-followups"')[1]
    assert 'name="preset" value="next_month"' in card

    client_for(alice).post(
        reverse("worklist:followup_schedule", args=[alices_customer.pk]), {"preset": "tomorrow"}, headers=HTMX
    )

    due = timezone.localtime(FollowUp.objects.get().due_at).date()
    assert due == timezone.localdate() + timedelta(days=1)
