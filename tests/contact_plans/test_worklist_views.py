"""The "My book" page and its row actions, for each persona.

Alice and Bob are account managers (each works their own book), Charlie has no role, Marta is a
marketer (no book, cannot edit customers), Ada an administrator (picks a manager's book).
"""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contact_plans import services as contact_services
from contact_plans import worklist
from contact_plans.models import FollowUp, WorklistSnooze
from customers.models import Customer, Interaction
from tests.clients import client_for

from .worklist_helpers import book_customer, metrics_for

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
WORKLIST = reverse("worklist:home")


def test_account_manager_lands_on_their_worklist(alice):
    response = client_for(alice).get(reverse("home"))

    assert response.status_code == 302 and response.url == WORKLIST


def test_worklist_shows_own_customers_with_reasons_and_actions(alice, bob, alices_customer):
    book_customer(bob, name="Bob's customer")

    response = client_for(alice).get(WORKLIST)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Warung Sari" in html and "Bob's customer" not in html
    assert "Churn risk rose from 35% to 72% since the last recompute." in html
    assert reverse("worklist:log", args=[alices_customer.pk]) in html
    assert "My book" in html


def test_rows_link_their_actions_instead_of_carrying_forms(alice, alices_customer):
    pk = alices_customer.pk
    next_query = "?next=%2Fmy-book%2F%3Frisk%3Dhigh"

    html = client_for(alice).get(WORKLIST, {"risk": "high"}).content.decode()

    row = html.split(f'id="wl-row-{pk}"')[1].split("</tr>")[0]
    assert "<form" not in row and 'name="subject"' not in row
    for action in ("log", "followup", "snooze"):
        url = reverse(f"worklist:{action}", args=[pk]) + next_query
        assert f'href="{url}" hx-get="{url}" hx-target="next .worklist-action"' in row
    assert f'id="wl-action-{pk}"' in row
    assert f'href="{alices_customer.get_absolute_url()}"' in row


def test_rows_show_value_and_risk_levels_and_the_risk_trend(alice, alices_customer):
    html = client_for(alice).get(WORKLIST).content.decode()

    assert '<span class="badge text-bg-primary">High</span>' in html  # value
    assert '<span class="badge text-bg-danger">High</span>' in html  # risk
    assert 'aria-label="rising"' in html
    assert "None planned" in html


def test_a_snoozed_row_offers_wake_up_as_a_form(alice, alices_customer):
    until = timezone.localdate() + timedelta(days=5)
    contact_services.worklist_snooze(
        customer=alices_customer, user=alice, until=until, reason="Holiday", created_by=alice
    )

    html = client_for(alice).get(WORKLIST, {"snoozed": "on"}).content.decode()

    row = html.split(f'id="wl-row-{alices_customer.pk}"')[1].split("</tr>")[0]
    assert f'action="{reverse("worklist:unsnooze", args=[alices_customer.pk])}"' in row
    assert 'name="csrfmiddlewaretoken"' in row and "Wake up" in row
    assert reverse("worklist:snooze", args=[alices_customer.pk]) not in row


def test_worklist_page_costs_a_constant_number_of_queries(alice, django_assert_max_num_queries):
    for i in range(60):
        metrics_for(book_customer(alice, name=f"c{i}"), churn_risk=0.4, previous=0.2)
    client = client_for(alice)

    # Session, user, roles, metrics_exist, the page's keys with the total, its rows, the plan tasks
    # due (one count), and the navigation's team facts (the user's employee record and the two
    # permission reads of may_manage_team): the same for 6 rows or 6,000.
    with django_assert_max_num_queries(10):
        response = client.get(WORKLIST)

    assert response.content.decode().count('id="wl-row-') == 50


def test_each_page_shows_its_rows_in_the_order_of_the_ranking(alice):
    customers = [book_customer(alice, name=f"c{i:02d}") for i in range(60)]
    for i, customer in enumerate(customers):
        metrics_for(customer, churn_risk=(i * 37 % 60) / 60)  # ranks apart from names and ids
    ranked = list(worklist.worklist_queryset(viewer=alice, manager=alice, ranked=True).values_list("pk", flat=True))
    client = client_for(alice)

    shown = []
    for page in (1, 2):
        content = client.get(WORKLIST, {"page": page}).content.decode()
        shown += [int(pk) for pk in re.findall(r'id="wl-row-(\d+)"', content)]

    assert shown == ranked and len(shown) == 60


@pytest.mark.parametrize(
    ("asked", "shown", "first"),
    [("2", 2, "c50"), ("9", 2, "c50"), ("0", 2, "c50"), ("two", 1, "c00"), ("", 1, "c00")],
)
def test_a_page_number_past_the_end_or_not_a_number_shows_the_last_or_the_first_page(alice, asked, shown, first):
    for i in range(60):
        metrics_for(book_customer(alice, name=f"c{i:02d}"), churn_risk=0.9 - i / 100)

    html = client_for(alice).get(WORKLIST, {"page": asked}).content.decode()

    rows = re.findall(r'id="wl-row-(\d+)"', html)
    assert len(rows) == (10 if shown == 2 else 50)
    assert Customer.objects.get(pk=rows[0]).name == first
    assert f"{(shown - 1) * 50 + 1}–{min(shown * 50, 60)} of 60" in html


def test_an_empty_book_shows_its_first_page_empty(alice):
    page = worklist.worklist_page(worklist.worklist_queryset(viewer=alice, manager=alice), "3")

    assert (page.number, list(page), page.paginator.count, page.paginator.num_pages) == (1, [], 0, 1)


def test_without_metrics_the_page_says_when_risk_figures_come(alice):
    book_customer(alice, name="Toko Maju")

    html = client_for(alice).get(WORKLIST).content.decode()

    assert "Toko Maju" in html
    assert 'id="worklist-no-metrics"' in html


@pytest.mark.parametrize("persona", ["charlie", "marta"])
def test_no_worklist_without_a_book(request, persona):
    response = client_for(request.getfixturevalue(persona)).get(WORKLIST)

    assert response.status_code == 404


def test_account_manager_cannot_open_a_colleagues_worklist(bob, alice, alices_customer):
    response = client_for(bob).get(WORKLIST, {"manager": alice.pk})

    assert response.status_code == 404


def test_administrator_picks_a_managers_worklist(ada, alice, alices_customer):
    client = client_for(ada)

    picker = client.get(WORKLIST).content.decode()
    response = client.get(WORKLIST, {"manager": alice.pk})

    assert "Choose an account manager" in picker and "Warung Sari" not in picker
    assert "Warung Sari" in response.content.decode()


# --- Row actions --------------------------------------------------------------------------------


def test_log_a_call_from_the_row(alice, alices_customer):
    response = client_for(alice).post(
        reverse("worklist:log", args=[alices_customer.pk]),
        {"kind": "call", "outcome": "reached", "subject": "Checked in", "next": WORKLIST},
        headers=HTMX,
    )

    assert response.status_code == 200
    assert f'id="wl-row-{alices_customer.pk}"' in response.content.decode()
    interaction = Interaction.objects.get()
    assert (interaction.kind, interaction.subject, interaction.author) == ("call", "Checked in", alice)
    assert interaction.channel == Interaction.Channel.PHONE


def test_log_without_a_subject_shows_the_row_with_the_form_open_and_its_error(alice, alices_customer):
    pk = alices_customer.pk

    response = client_for(alice).post(
        reverse("worklist:log", args=[pk]), {"kind": "meeting", "subject": "", "next": WORKLIST}, headers=HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith(f'<tr id="wl-row-{pk}"')
    form = html.split(f'id="wl-action-{pk}"')[1]
    assert f'hx-post="{reverse("worklist:log", args=[pk])}"' in form
    assert '<option value="meeting" selected>' in form
    assert f'class="form-control form-control-sm mb-1 is-invalid" aria-describedby="log-subject-{pk}-error"' in form
    assert "This field is required." in form
    assert not Interaction.objects.exists()


def test_followup_in_the_past_shows_the_row_with_the_form_open_and_its_error(alice, alices_customer):
    pk = alices_customer.pk
    yesterday = timezone.localdate() - timedelta(days=1)

    response = client_for(alice).post(
        reverse("worklist:followup", args=[pk]), {"due_on": yesterday.isoformat(), "note": "Quote"}, headers=HTMX
    )

    form = response.content.decode().split(f'id="wl-action-{pk}"')[1]
    assert f'hx-post="{reverse("worklist:followup", args=[pk])}"' in form
    assert "Choose today or a later day." in form
    assert 'value="Quote"' in form  # what was typed is kept
    assert not FollowUp.objects.exists()


def test_schedule_a_followup_from_the_row_shows_the_next_contact(alice, alices_customer):
    due = timezone.localdate() + timedelta(days=4)

    response = client_for(alice).post(
        reverse("worklist:followup", args=[alices_customer.pk]),
        {"due_on": due.isoformat(), "note": "Quote"},
        headers=HTMX,
    )

    followup = FollowUp.objects.get()
    assert followup.assigned_to == alice and followup.note == "Quote"
    assert "None planned" not in response.content.decode()


def test_snooze_hides_the_row_and_wake_up_brings_it_back(alice, alices_customer):
    client = client_for(alice)
    until = timezone.localdate() + timedelta(days=10)

    snoozed = client.post(
        reverse("worklist:snooze", args=[alices_customer.pk]),
        {"until": until.isoformat(), "reason": "Closed for Ramadan"},
        headers=HTMX,
    )
    hidden = client.get(WORKLIST).content.decode()
    included = client.get(WORKLIST, {"snoozed": "on"}).content.decode()
    client.post(reverse("worklist:unsnooze", args=[alices_customer.pk]), headers=HTMX)
    back = client.get(WORKLIST).content.decode()

    assert "Closed for Ramadan" in snoozed.content.decode()
    assert "Warung Sari" not in hidden
    assert "Warung Sari" in included and "Closed for Ramadan" in included
    assert "Warung Sari" in back
    assert WorklistSnooze.objects.get().user == alice


def test_action_without_javascript_redirects_back_to_the_list(alice, alices_customer):
    response = client_for(alice).post(
        reverse("worklist:log", args=[alices_customer.pk]),
        {"kind": "call", "outcome": "reached", "subject": "Hi", "next": WORKLIST + "?risk=high"},
    )

    assert response.status_code == 302 and response.url == WORKLIST + "?risk=high"


def test_action_without_javascript_comes_back_to_the_list_with_a_message(alice, alices_customer):
    response = client_for(alice).post(
        reverse("worklist:log", args=[alices_customer.pk]),
        {"kind": "call", "outcome": "reached", "subject": "Checked in", "next": WORKLIST},
        follow=True,
    )

    assert response.redirect_chain == [(WORKLIST, 302)]
    assert "Logged: Checked in" in response.content.decode()


def test_invalid_action_without_javascript_shows_the_form_again_with_the_error_and_what_was_typed(
    alice, alices_customer
):
    until = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = client_for(alice).post(
        reverse("worklist:snooze", args=[alices_customer.pk]),
        {"until": until, "reason": "", "next": WORKLIST + "?risk=high"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in html
    assert f'value="{until}"' in html  # kept, not lost
    assert 'name="next" value="/my-book/?risk=high"' in html
    assert not WorklistSnooze.objects.exists()


def test_action_refuses_an_outside_redirect(alice, alices_customer):
    response = client_for(alice).post(
        reverse("worklist:log", args=[alices_customer.pk]),
        {"kind": "call", "outcome": "reached", "subject": "Hi", "next": "https://evil.example/"},
    )

    assert response.url == WORKLIST


@pytest.mark.parametrize("persona", ["bob", "charlie", "marta"])
def test_others_cannot_act_on_alices_customers(request, persona, alices_customer):
    client = client_for(request.getfixturevalue(persona))
    until = (timezone.localdate() + timedelta(days=3)).isoformat()

    statuses = [
        client.post(
            reverse("worklist:log", args=[alices_customer.pk]), {"kind": "call", "outcome": "reached", "subject": "x"}
        ).status_code,
        client.post(reverse("worklist:followup", args=[alices_customer.pk]), {"due_on": until}).status_code,
        client.post(reverse("worklist:snooze", args=[alices_customer.pk]), {"until": until, "reason": "x"}).status_code,
        client.post(reverse("worklist:unsnooze", args=[alices_customer.pk])).status_code,
    ]

    assert statuses == [404, 404, 404, 404]
    assert not Interaction.objects.exists() and not FollowUp.objects.exists() and not WorklistSnooze.objects.exists()


def test_administrator_snoozes_on_the_managers_worklist(ada, alice, alices_customer):
    until = timezone.localdate() + timedelta(days=3)

    client_for(ada).post(
        reverse("worklist:snooze", args=[alices_customer.pk]), {"until": until.isoformat(), "reason": "Audit"}
    )

    snooze = WorklistSnooze.objects.get()
    assert (snooze.user, snooze.created_by) == (alice, ada)


def test_actions_need_the_csrf_token(alice, alices_customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post(
        reverse("worklist:log", args=[alices_customer.pk]), {"kind": "call", "outcome": "reached", "subject": "x"}
    )

    assert response.status_code == 403
