"""The daily email of overdue tasks (contact_plans/followup_reminders.py): one digest per account
manager listing the open follow-ups and plan tasks whose due day has passed, each reminded once per
due time, through the outbox to the employee linked to the login, in their language."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from contact_plans import services
from contact_plans.followup_reminders import LISTED, followup_reminders_send
from contact_plans.messaging import dispatch
from contact_plans.models import FollowUp, FollowUpReminder, LocalDelivery, Message
from contact_plans.tasks import followup_reminders_task
from customers.services import customer_reassign
from team.models import Employee

from .factories import FollowUpFactory
from .plan_helpers import build_plan
from .worklist_helpers import book_customer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local_outbox(settings):
    settings.EMAIL_BACKEND = "contact_plans.messaging.channels.local.LocalOutboxEmailBackend"
    settings.PUBLIC_BASE_URL = "https://crm.example.com"


@pytest.fixture
def staff(alice, bob):
    return {
        "alice": Employee.objects.create(name="Alice Example", email="alice@staff.example", user=alice),
        "bob": Employee.objects.create(name="Bob Example", email="bob@staff.example", user=bob, language="ca"),
    }


def _task(user, customer, *, days: float, **fields) -> FollowUp:
    return FollowUpFactory(customer=customer, assigned_to=user, due_at=timezone.now() + timedelta(days=days), **fields)


def test_an_account_manager_gets_one_digest_of_their_overdue_tasks_that_the_outbox_delivers(alice, staff):
    sari, budi = book_customer(alice, name="Warung Sari"), book_customer(alice, name="Toko Budi")
    plan = build_plan(name="Win-back")
    planned = _task(alice, sari, days=-3, plan=plan, kind="call", note="Ask about the new range")
    by_hand = _task(alice, budi, days=-1.5, kind="visit")
    _task(alice, sari, days=0.01)  # due later today: not overdue yet
    _task(alice, budi, days=5)
    services.followup_complete(followup=_task(alice, sari, days=-4))
    services.followup_cancel(followup=_task(alice, budi, days=-4))

    queued = followup_reminders_send()
    message = Message.objects.get()
    outcome = dispatch.messages_send_batch(message_ids=[message.pk])

    assert queued == 1
    assert message.employee == staff["alice"] and message.customer is None
    assert (message.purpose, message.channel, message.state) == ("transactional", "email", "queued")
    assert message.subject == "You have 2 overdue tasks"
    assert "Hello, Alice" in message.text
    assert message.text.index("Warung Sari: Call") < message.text.index("Toko Budi: Visit")
    assert "plan “Win-back”" in message.text and "Ask about the new range" in message.html
    for customer in (sari, budi):
        assert f"https://crm.example.com/customers/{customer.pk}/" in message.html
        assert f"https://crm.example.com/customers/{customer.pk}/" in message.text
    assert "https://crm.example.com/follow-ups/" in message.text
    assert set(FollowUpReminder.objects.values_list("followup_id", "message_id")) == {
        (planned.pk, message.pk),
        (by_hand.pk, message.pk),
    }
    assert outcome["sent"] == 1
    assert LocalDelivery.objects.get().recipient == "alice@staff.example"


def test_running_again_sends_nothing_more_and_a_task_overdue_later_gets_the_next_digest(alice, staff):
    customer = book_customer(alice, name="Warung Sari")
    _task(alice, customer, days=-2)
    later = _task(alice, customer, days=0.01, kind="meeting")
    tomorrow = timezone.localdate() + timedelta(days=1)

    first = followup_reminders_send()
    again = followup_reminders_send()
    next_day = followup_reminders_send(today=tomorrow + timedelta(days=1))
    next_again = followup_reminders_send(today=tomorrow + timedelta(days=1))

    assert (first, again, next_day, next_again) == (1, 0, 1, 0)
    newest = Message.objects.order_by("-pk").first()
    assert newest.subject == "You have 1 overdue task"
    assert "Warung Sari: Meeting" in newest.text and "Warung Sari: Call" not in newest.text
    assert FollowUpReminder.objects.get(message=newest).followup == later


def test_a_task_moved_to_a_new_day_and_missed_again_is_reminded_again(alice, staff):
    followup = _task(alice, book_customer(alice), days=-2)
    followup_reminders_send()
    services.followup_reschedule(followup=followup, due_at=timezone.now() + timedelta(days=1))

    assert followup_reminders_send() == 0  # moved ahead: not overdue
    assert followup_reminders_send(today=timezone.localdate() + timedelta(days=3)) == 1
    assert FollowUpReminder.objects.filter(followup=followup).count() == 2


def test_each_manager_gets_their_own_tasks_in_their_language(alice, bob, staff):
    _task(alice, book_customer(alice, name="Warung Sari"), days=-2)
    _task(bob, book_customer(bob, name="Forn Pujol"), days=-2)
    _task(bob, book_customer(bob, name="Bar Centre"), days=-3)

    assert followup_reminders_send() == 2
    to_bob = Message.objects.get(employee=staff["bob"])
    to_alice = Message.objects.get(employee=staff["alice"])

    assert to_bob.language == "ca"
    assert to_bob.subject == "Teniu 2 tasques vençudes"
    assert "Hola, Bob" in to_bob.text and "Forn Pujol" in to_bob.text and "Warung Sari" not in to_bob.text
    assert "Warung Sari" in to_alice.text and "Forn Pujol" not in to_alice.text


def test_nothing_for_a_login_without_an_employee_an_inactive_one_or_a_customer_no_longer_in_the_book(
    alice, bob, charlie, staff
):
    _task(charlie, book_customer(charlie), days=-2)  # no employee linked: no address to write to
    staff["bob"].user.is_active = False
    staff["bob"].user.save(update_fields=["is_active"])
    _task(bob, book_customer(bob), days=-2)
    moved = book_customer(alice)
    kept = _task(alice, moved, days=-2)
    customer_reassign(customer=moved, manager=bob)

    assert followup_reminders_send() == 0
    assert not Message.objects.exists()
    assert not FollowUpReminder.objects.filter(followup=kept).exists()


def test_a_long_list_names_the_first_tasks_and_counts_the_rest(alice, staff):
    customer = book_customer(alice, name="Warung Sari")
    for days in range(LISTED + 2):
        _task(alice, customer, days=-2 - days)

    followup_reminders_send()
    message = Message.objects.get()

    assert message.subject == f"You have {LISTED + 2} overdue tasks"
    assert message.text.count("Warung Sari: Call") == LISTED
    assert "And 2 more on your follow-ups page." in message.text
    assert FollowUpReminder.objects.filter(message=message).count() == LISTED + 2


def test_the_daily_beat_runs_the_task():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["contact-plans-followup-reminders"]

    assert entry["task"] == "contact_plans.tasks.followup_reminders_task"
    assert entry["schedule"].hour == {8}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_remind_of_each_task_once(alice, staff):
    customer = book_customer(alice)
    for days in range(40):
        _task(alice, customer, days=-2 - days)
    results = []

    def run():
        try:
            results.append(followup_reminders_send())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) in ([0, 1], [1, 1])
    assert FollowUpReminder.objects.count() == 40
    assert FollowUpReminder.objects.values("followup").distinct().count() == 40
    assert Message.objects.count() == sum(results)


@pytest.mark.worker
def test_a_real_worker_sends_the_digest_once_however_often_the_task_runs(run_on_worker, alice, staff):
    _task(alice, book_customer(alice), days=-2)

    run_on_worker(followup_reminders_task, times=2)

    assert Message.objects.count() == 1
    assert Message.objects.get().employee == staff["alice"]
    assert followup_reminders_send() == 0
