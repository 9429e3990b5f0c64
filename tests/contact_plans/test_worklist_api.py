"""The worklist, follow-up, snooze and book-performance API: shape, personas, validation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contact_plans import services as contact_services
from contact_plans.models import FollowUp, WorklistSnooze
from metrics.analytics import book
from metrics.services.book import book_sums_refresh
from tests.conftest import api_client_for

from .worklist_helpers import book_customer, metrics_for

pytestmark = pytest.mark.django_db

WORKLIST = "/api/v1/worklist/"
FOLLOWUPS = "/api/v1/followups/"
SNOOZES = "/api/v1/worklist/snoozes/"
BOOK = "/api/v1/book-performance/"


@pytest.fixture
def alices_customer(alice):
    customer = book_customer(alice, name="Warung Sari")
    metrics_for(customer, churn_risk=0.72, previous=0.35, value="high")
    return customer


def _due(days: int = 3) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


# --- Worklist -----------------------------------------------------------------------------------


def test_worklist_shape(alice, alices_customer):
    contact_services.followup_schedule(
        customer=alices_customer, assigned_to=alice, due_at=timezone.now() + timedelta(days=2)
    )

    response = api_client_for(alice).get(WORKLIST)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 and body["next"] is None
    row = body["results"][0]
    assert set(row) == {
        "id",
        "external_id",
        "name",
        "company",
        "priority",
        "value_level",
        "risk_level",
        "churn_risk",
        "previous_churn_risk",
        "last_purchase",
        "next_followup_at",
        "snoozed_until",
        "last_contact_at",
        "last_contact_kind",
        "last_contact_by",
        "last_contact_outcome",
        "reasons",
    }
    assert row["id"] == alices_customer.pk and row["value_level"] == "high" and row["risk_level"] == "high"
    # The ranking query's priority, carried to the row: 3 x (0.72 + 0.5 x a full rise).
    assert row["priority"] == pytest.approx(3 * (0.72 + 0.5))
    assert row["reasons"] == ["Churn risk rose from 35% to 72% since the last recompute.", "Last purchase 10 days ago."]
    assert row["last_contact_at"] is None
    assert row["next_followup_at"] is not None and row["snoozed_until"] is None


def test_worklist_filters_and_unknown_parameters(alice, alices_customer):
    client = api_client_for(alice)

    assert client.get(WORKLIST, {"risk_level": "low"}).json()["count"] == 0
    assert client.get(WORKLIST, {"with_reasons": "true"}).json()["count"] == 1
    assert client.get(WORKLIST, {"colour": "red"}).status_code == 400


def test_worklist_personas(alice, bob, charlie, marta, ada, alices_customer):
    assert api_client_for(bob).get(WORKLIST).json()["count"] == 0
    assert api_client_for(bob).get(WORKLIST, {"manager": alice.pk}).status_code == 404
    assert api_client_for(charlie).get(WORKLIST).status_code == 404
    assert api_client_for(marta).get(WORKLIST).status_code == 404
    assert api_client_for(ada).get(WORKLIST).status_code == 400
    assert api_client_for(ada).get(WORKLIST, {"manager": alice.pk}).json()["count"] == 1


# --- Follow-ups ---------------------------------------------------------------------------------


def test_schedule_a_followup(alice, alices_customer):
    response = api_client_for(alice).post(
        FOLLOWUPS, {"customer_id": alices_customer.pk, "due_at": _due(), "note": "Quote"}
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "customer_id",
        "assigned_to",
        "kind",
        "plan_id",
        "due_at",
        "note",
        "state",
        "outcome",
        "created_by",
        "created_at",
        "done_at",
        "cancelled_at",
    }
    assert (body["customer_id"], body["assigned_to"], body["state"], body["note"]) == (
        alices_customer.pk,
        "alice",
        "open",
        "Quote",
    )


def test_schedule_validation(alice, bob, alices_customer):
    client = api_client_for(alice)
    yesterday = (timezone.now() - timedelta(days=2)).isoformat()

    past = client.post(FOLLOWUPS, {"customer_id": alices_customer.pk, "due_at": yesterday})
    someone_else = client.post(FOLLOWUPS, {"customer_id": alices_customer.pk, "due_at": _due(), "assigned_to": bob.pk})
    typo = client.post(FOLLOWUPS, {"customer_id": alices_customer.pk, "due_at": _due(), "nots": "x"})

    assert past.status_code == 400 and "due_at" in past.json()["error"]["fields"]
    assert someone_else.status_code == 400 and "assigned_to" in someone_else.json()["error"]["fields"]
    assert typo.status_code == 400 and "nots" in typo.json()["error"]["fields"]
    assert not FollowUp.objects.exists()


def test_schedule_with_an_idempotency_key_creates_one_followup(alice, alices_customer):
    client = api_client_for(alice)
    data = {"customer_id": alices_customer.pk, "due_at": _due()}

    first = client.post(FOLLOWUPS, data, headers={"Idempotency-Key": "k-1"})
    second = client.post(FOLLOWUPS, data, headers={"Idempotency-Key": "k-1"})

    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert FollowUp.objects.count() == 1


def test_complete_is_idempotent_and_cancel_after_done_is_refused(alice, alices_customer):
    followup = contact_services.followup_schedule(customer=alices_customer, assigned_to=alice, due_at=timezone.now())
    client = api_client_for(alice)

    first = client.post(f"{FOLLOWUPS}{followup.pk}/complete/")
    second = client.post(f"{FOLLOWUPS}{followup.pk}/complete/")
    cancel = client.post(f"{FOLLOWUPS}{followup.pk}/cancel/")

    assert first.status_code == second.status_code == 200
    assert first.json()["done_at"] == second.json()["done_at"] is not None
    assert cancel.status_code == 400 and "state" in cancel.json()["error"]["fields"]


def test_followup_personas(alice, bob, charlie, marta, alices_customer):
    followup = contact_services.followup_schedule(customer=alices_customer, assigned_to=alice, due_at=timezone.now())
    url = f"{FOLLOWUPS}{followup.pk}/"

    assert api_client_for(alice).get(FOLLOWUPS).json()["results"][0]["id"] == followup.pk
    assert api_client_for(bob).get(url).status_code == 404
    assert api_client_for(bob).post(url + "complete/").status_code == 404
    assert api_client_for(charlie).post(url + "cancel/").status_code == 404
    assert api_client_for(bob).post(FOLLOWUPS, {"customer_id": alices_customer.pk, "due_at": _due()}).status_code == 400
    assert api_client_for(marta).get(url).status_code == 200
    assert api_client_for(marta).post(url + "complete/").status_code == 403
    followup.refresh_from_db()
    assert followup.state == FollowUp.State.OPEN


def test_list_filters_by_state_and_mine(alice, ada, alices_customer):
    open_one = contact_services.followup_schedule(customer=alices_customer, assigned_to=alice, due_at=timezone.now())
    done = contact_services.followup_schedule(customer=alices_customer, assigned_to=ada, due_at=timezone.now())
    contact_services.followup_complete(followup=done)
    client = api_client_for(ada)

    assert [r["id"] for r in client.get(FOLLOWUPS, {"state": "open"}).json()["results"]] == [open_one.pk]
    assert [r["id"] for r in client.get(FOLLOWUPS, {"mine": "true"}).json()["results"]] == [done.pk]


# --- Snoozes ------------------------------------------------------------------------------------


def test_snooze_hides_the_row_from_the_worklist(alice, alices_customer):
    client = api_client_for(alice)
    until = (timezone.localdate() + timedelta(days=5)).isoformat()

    response = client.post(SNOOZES, {"customer_id": alices_customer.pk, "until": until, "reason": "On holiday"})

    assert response.status_code == 201
    assert {k: response.json()[k] for k in ("customer_id", "user", "until", "reason")} == {
        "customer_id": alices_customer.pk,
        "user": "alice",
        "until": until,
        "reason": "On holiday",
    }
    assert client.get(WORKLIST).json()["count"] == 0
    assert client.get(WORKLIST, {"include_snoozed": "true"}).json()["results"][0]["snoozed_until"] == until


def test_snooze_validation_and_personas(alice, bob, marta, alices_customer):
    today = timezone.localdate().isoformat()
    later = (timezone.localdate() + timedelta(days=5)).isoformat()

    past = api_client_for(alice).post(SNOOZES, {"customer_id": alices_customer.pk, "until": today, "reason": "x"})
    by_bob = api_client_for(bob).post(SNOOZES, {"customer_id": alices_customer.pk, "until": later, "reason": "x"})
    by_marta = api_client_for(marta).post(SNOOZES, {"customer_id": alices_customer.pk, "until": later, "reason": "x"})

    assert past.status_code == 400 and "until" in past.json()["error"]["fields"]
    assert by_bob.status_code == 400  # Bob cannot see the customer: "No customer has the id …"
    assert by_marta.status_code == 403
    assert not WorklistSnooze.objects.exists()


# --- Book performance ---------------------------------------------------------------------------


def test_book_performance_shape_and_personas(alice, bob, charlie, marta):
    book_customer(alice)
    book_customer(bob)
    period = book.period_default(timezone.localdate())
    book_sums_refresh()  # the nightly run stores the picker's periods (a custom range: test_book_range_jobs)

    response = api_client_for(marta).get(BOOK)
    own = api_client_for(alice).get(BOOK, {"start": period.start.isoformat(), "end": period.end.isoformat()})

    assert response.status_code == 200
    body = response.json()
    assert body["period"] == {"start": period.start.isoformat(), "end": period.end.isoformat()}
    assert body["window_days"] == 90
    assert set(body["base"]) == {
        "customers",
        "active_at_start",
        "retained",
        "retention_rate",
        "churn_rate",
        "net_revenue_retention",
        "upsell_rate",
        "revenue",
        "revenue_existing",
    }
    assert {row["manager"] for row in body["books"]} == {"Alice", "Bob"}
    assert [row["manager_id"] for row in own.json()["books"]] == [alice.pk]
    assert api_client_for(charlie).get(BOOK).status_code == 404


def test_book_performance_validation(marta):
    client = api_client_for(marta)

    assert client.get(BOOK, {"start": "2024-01-01"}).status_code == 400
    assert client.get(BOOK, {"start": "2024-04-01", "end": "2024-01-01"}).status_code == 400
    assert client.get(BOOK, {"start": "2020-01-01", "end": "2024-01-01"}).status_code == 400
    # The default period, before any nightly run stored it: a worker computes it.
    assert client.get(BOOK).status_code == 202
