"""The email reminder of an overdue one-to-one (contact_plans/staff_reminders.py): one per meeting
and planned day, to its lead, in the lead's language, through the outbox (and the local outbox's
delivery); nothing for meetings held, planned for today or later, of ended one-to-ones, or of a
lead who left."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contact_plans.messaging import dispatch
from contact_plans.models import LocalDelivery, Message
from contact_plans.staff_reminders import one_to_one_reminders_send
from contact_plans.tasks import one_to_one_reminders_task
from team import selectors, services
from team.models import Meeting

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local_outbox(settings):
    settings.EMAIL_BACKEND = "contact_plans.messaging.channels.local.LocalOutboxEmailBackend"
    settings.PUBLIC_BASE_URL = "https://crm.example.com"


def _overdue(series, days: int = 3) -> Meeting:
    meeting = series.meetings.get(held_at__isnull=True)
    meeting.scheduled_at = timezone.now() - timedelta(days=days)
    meeting.save(update_fields=["scheduled_at"])
    return meeting


def test_the_lead_of_an_overdue_one_to_one_gets_one_email_that_the_outbox_delivers(people, series):
    meeting = _overdue(series)

    queued = one_to_one_reminders_send()
    message = Message.objects.get()
    outcome = dispatch.messages_send_batch(message_ids=[message.pk])

    assert queued == 1
    assert message.employee == people["lena"] and message.customer is None
    assert (message.purpose, message.channel, message.state) == ("transactional", "email", "queued")
    assert message.source_key == f"one-to-one-overdue:{meeting.pk}:{timezone.localdate(meeting.scheduled_at)}"
    assert message.subject == "Overdue one-to-one with Paul Example"
    assert "Hello, Lena" in message.text
    assert f"https://crm.example.com/team/one-to-ones/{series.pk}/" in message.html
    assert f"https://crm.example.com/team/one-to-ones/{series.pk}/" in message.text
    assert outcome["sent"] == 1
    assert LocalDelivery.objects.get().recipient == "lena@staff.example"


def test_running_again_or_the_next_day_sends_nothing_more(people, series):
    _overdue(series)

    first = one_to_one_reminders_send()
    again = one_to_one_reminders_send()

    assert (first, again) == (1, 0)
    assert Message.objects.count() == 1


def test_a_meeting_moved_and_missed_again_is_reminded_again(people, series):
    meeting = _overdue(series, days=10)
    one_to_one_reminders_send()
    services.meeting_reschedule(meeting=meeting, by=people["lena"], scheduled_at=timezone.now() - timedelta(days=2))

    assert one_to_one_reminders_send() == 1
    assert Message.objects.filter(employee=people["lena"]).count() == 2


def test_the_email_is_in_the_leads_language(people, series):
    lena = people["lena"]
    lena.language = "ca"
    lena.save(update_fields=["language"])
    _overdue(series)

    one_to_one_reminders_send()
    message = Message.objects.get()

    assert message.language == "ca"
    assert message.subject == "Reunió individual vençuda amb Paul Example"
    assert "Hola, Lena" in message.text


def test_no_email_for_a_meeting_held_planned_today_ended_or_whose_lead_left(people, series):
    olga, paul = people["olga"], people["paul"]
    today = services.one_to_one_start(
        lead=people["lena"],
        person=people["eve"],
        every_weeks=1,
        first_at=selectors.overdue_cutoff() + timedelta(minutes=1),
    )
    meeting = _overdue(series)
    services.meeting_hold(meeting=meeting, by=paul)  # held: the next one is in the future
    sales = olga.teams_led.get()
    paul.team = sales
    paul.save(update_fields=["team"])
    olgas = services.one_to_one_start(
        lead=olga, person=paul, every_weeks=2, first_at=timezone.now() - timedelta(days=4)
    )
    olga.left_at = timezone.localdate()
    olga.save(update_fields=["left_at"])

    assert one_to_one_reminders_send() == 0
    _overdue(today)
    services.one_to_one_end(one_to_one=today, by=people["lena"])
    assert one_to_one_reminders_send() == 0
    assert not Message.objects.exists()
    assert olgas.meetings.filter(held_at__isnull=True).exists()


def test_the_daily_beat_runs_the_task():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["contact-plans-one-to-one-reminders"]

    assert entry["task"] == "contact_plans.tasks.one_to_one_reminders_task"
    assert entry["schedule"].hour == {8}


@pytest.mark.worker
def test_a_real_worker_sends_the_reminders_once_however_often_the_task_runs(run_on_worker, people, series):
    _overdue(series)

    run_on_worker(one_to_one_reminders_task, times=2)

    assert Message.objects.count() == 1
    assert Message.objects.get().employee == people["lena"]
    assert one_to_one_reminders_send() == 0
