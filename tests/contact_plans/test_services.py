"""Follow-up and snooze services: constraints, idempotency, events."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from contact_plans import services
from contact_plans.models import FollowUp, WorklistSnooze
from retention_crm import events
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(alice):
    return CustomerFactory(account_manager=alice)


def _schedule(customer, user, **extra):
    return services.followup_schedule(
        customer=customer, assigned_to=user, due_at=timezone.now() + timedelta(days=3), created_by=user, **extra
    )


def test_schedule_creates_an_open_followup_and_publishes_the_event(customer, alice, django_capture_on_commit_callbacks):
    received = []
    handler = events.subscribe(events.FOLLOWUP_SCHEDULED)(lambda **payload: received.append(payload))

    try:
        with django_capture_on_commit_callbacks(execute=True):
            followup = _schedule(customer, alice, note="  Ask about the renewal  ")
    finally:
        events._handlers[events.FOLLOWUP_SCHEDULED.name].remove(handler)

    assert followup.state == FollowUp.State.OPEN
    assert followup.note == "Ask about the renewal"
    assert followup.done_at is None and followup.created_by == alice
    assert received == [{"followup_id": followup.pk, "customer_id": customer.pk}]


def test_schedule_with_the_same_key_twice_creates_one_followup(customer, alice):
    first = _schedule(customer, alice, key="survey-response:42")

    second = _schedule(customer, alice, key="survey-response:42")

    assert second.pk == first.pk
    assert FollowUp.objects.count() == 1


def test_complete_sets_done_at_and_a_second_complete_changes_nothing(customer, alice):
    followup = _schedule(customer, alice)
    at = timezone.now()

    services.followup_complete(followup=followup, at=at)
    again = services.followup_complete(followup=followup, at=at + timedelta(hours=1))

    assert again.state == FollowUp.State.DONE
    assert again.done_at == at


def test_cancel_then_complete_is_refused(customer, alice):
    followup = services.followup_cancel(followup=_schedule(customer, alice))

    with pytest.raises(ValidationError):
        services.followup_complete(followup=followup)

    followup.refresh_from_db()
    assert followup.state == FollowUp.State.CANCELLED and followup.cancelled_at is not None
    assert followup.done_at is None


def test_cancel_of_a_done_followup_is_refused(customer, alice):
    followup = services.followup_complete(followup=_schedule(customer, alice))

    with pytest.raises(ValidationError):
        services.followup_cancel(followup=followup)


def test_database_refuses_done_without_done_at_and_done_at_on_an_open_followup(customer, alice):
    followup = _schedule(customer, alice)

    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUp.objects.filter(pk=followup.pk).update(state=FollowUp.State.DONE)
    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUp.objects.filter(pk=followup.pk).update(done_at=timezone.now())


def test_snooze_replaces_the_open_one_and_keeps_history(customer, alice):
    today = timezone.localdate()
    first = services.worklist_snooze(
        customer=customer, user=alice, until=today + timedelta(days=7), reason="On holiday"
    )

    second = services.worklist_snooze(
        customer=customer, user=alice, until=today + timedelta(days=14), reason="Budget in Q3"
    )

    first.refresh_from_db()
    assert first.ended_at is not None and second.ended_at is None
    assert WorklistSnooze.objects.filter(customer=customer, user=alice).count() == 2


def test_snooze_twice_with_the_same_input_keeps_one_open_snooze(customer, alice):
    until = timezone.localdate() + timedelta(days=7)

    first = services.worklist_snooze(customer=customer, user=alice, until=until, reason="On holiday")
    second = services.worklist_snooze(customer=customer, user=alice, until=until, reason="On holiday")

    assert first.pk == second.pk
    assert WorklistSnooze.objects.count() == 1


def test_snooze_refuses_a_past_day_and_an_empty_reason(customer, alice):
    with pytest.raises(ValidationError) as past:
        services.worklist_snooze(customer=customer, user=alice, until=timezone.localdate(), reason="x")
    with pytest.raises(ValidationError) as empty:
        services.worklist_snooze(
            customer=customer, user=alice, until=timezone.localdate() + timedelta(days=1), reason=" "
        )

    assert "until" in past.value.message_dict and "reason" in empty.value.message_dict


def test_database_allows_one_open_snooze_per_user_and_customer(customer, alice):
    until = timezone.localdate() + timedelta(days=3)
    WorklistSnooze.objects.create(customer=customer, user=alice, until=until, reason="a")

    with pytest.raises(IntegrityError), transaction.atomic():
        WorklistSnooze.objects.create(customer=customer, user=alice, until=until, reason="b")


def test_unsnooze_ends_the_open_snooze(customer, alice):
    services.worklist_snooze(customer=customer, user=alice, until=timezone.localdate() + timedelta(days=3), reason="a")

    ended = services.worklist_unsnooze(customer=customer, user=alice)

    assert ended == 1
    assert services.worklist_unsnooze(customer=customer, user=alice) == 0
