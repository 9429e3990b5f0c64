"""The closed loop run by the beat (``survey_answers_process``): the answer page only marks a
customer's answer pending; the beat's task takes the pending answers in chunks (SKIP LOCKED),
writes the timeline, opens a detractor's follow-up and publishes survey.answered, once."""

import threading
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.test import TestCase
from django.utils import timezone

from contact_plans.models import FollowUp
from customers.models import Interaction
from retention_crm import events
from surveys import answers
from surveys.answers import survey_answers_process, survey_answers_process_chunk, survey_response_record
from surveys.models import Response
from tests.contact_plans.worklist_helpers import book_customer
from tests.customers.factories import CustomerFactory

from .factories import active_survey, employee, invitation_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def published():
    seen = []

    def handler(*, response_id, customer_id, answered_at):
        seen.append((response_id, customer_id, answered_at))

    events.subscribe(events.SURVEY_ANSWERED)(handler)
    yield seen
    events._handlers[events.SURVEY_ANSWERED.name].remove(handler)


def test_recording_an_answer_queues_nothing_and_marks_it_pending(alice, django_capture_on_commit_callbacks):
    customer = book_customer(alice)
    invitation = invitation_for(active_survey("nps"), customer=customer)

    with django_capture_on_commit_callbacks() as callbacks:
        response, _created = survey_response_record(invitation_id=invitation.pk, score=2, raw={})

    assert callbacks == []  # no task, no event: the page makes no round trip to the broker
    assert Response.objects.get().loop_pending and not FollowUp.objects.exists()
    assert not Interaction.objects.filter(kind="survey").exists()
    assert response.loop_pending


def test_the_beat_runs_the_closed_loop_once_and_publishes_the_time_of_the_answer(alice, published):
    customer = book_customer(alice)
    invitation = invitation_for(active_survey("nps"), customer=customer)
    response, _created = survey_response_record(invitation_id=invitation.pk, score=3, raw={})

    with TestCase.captureOnCommitCallbacks(execute=True):
        taken = survey_answers_process()
    with TestCase.captureOnCommitCallbacks(execute=True):
        again = survey_answers_process()

    stored = Response.objects.get()
    assert (taken, again) == (1, 0)
    assert not stored.loop_pending and stored.timeline_logged and stored.followup_id == FollowUp.objects.get().pk
    assert Interaction.objects.filter(customer=customer, kind="survey").count() == 1
    assert published == [(str(response.pk), customer.pk, stored.answered_at.isoformat())]


def test_a_changed_answer_is_pending_again_and_a_new_detractor_gets_its_task_but_no_second_entry(alice, published):
    customer = book_customer(alice)
    invitation = invitation_for(active_survey("nps"), customer=customer)
    survey_response_record(invitation_id=invitation.pk, score=9, raw={})
    with TestCase.captureOnCommitCallbacks(execute=True):
        survey_answers_process()

    survey_response_record(invitation_id=invitation.pk, score=1, raw={})
    assert Response.objects.get().loop_pending
    with TestCase.captureOnCommitCallbacks(execute=True):
        survey_answers_process()

    assert FollowUp.objects.count() == 1 and Interaction.objects.filter(kind="survey").count() == 1
    assert len(published) == 2 and published[0][0] == published[1][0]  # one response, told twice


def test_employees_and_anonymous_answers_are_never_pending():
    named = invitation_for(active_survey("pulse"), employee=employee("Budi Santoso"))
    anonymous = invitation_for(active_survey("enps", anonymous=True, audience="employees"), employee=employee("Sri"))

    survey_response_record(invitation_id=named.pk, score=2, raw={})
    survey_response_record(invitation_id=anonymous.pk, score=2, raw={})

    assert not Response.objects.filter(loop_pending=True).exists()


def test_chunks_take_every_pending_answer():
    survey = active_survey("csat")
    for _ in range(5):
        survey_response_record(invitation_id=invitation_for(survey, customer=CustomerFactory()).pk, score=4, raw={})

    taken = survey_answers_process(chunk=2)

    assert taken == 5 and not Response.objects.filter(loop_pending=True).exists()
    assert Interaction.objects.filter(kind="survey").count() == 5


def test_an_answer_that_fails_stays_pending_and_the_others_go_on(monkeypatch):
    survey = active_survey("csat")
    ids = [
        survey_response_record(invitation_id=invitation_for(survey, customer=CustomerFactory()).pk, score=4, raw={})[
            0
        ].pk
        for _ in range(3)
    ]
    broken = sorted(ids)[1]
    apply = answers._closed_loop_apply

    def failing(response, *, log_timeline):
        if response.pk == broken:
            raise RuntimeError("broken")
        return apply(response, log_timeline=log_timeline)

    monkeypatch.setattr(answers, "_closed_loop_apply", failing)

    taken = survey_answers_process_chunk()

    assert taken == 3
    assert list(Response.objects.filter(loop_pending=True).values_list("pk", flat=True)) == [broken]
    assert Interaction.objects.filter(kind="survey").count() == 2


@pytest.mark.django_db(transaction=True)
def test_an_answer_locked_by_another_worker_is_skipped_not_waited_for():
    if connections["default"].vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's")
    survey = active_survey("csat")
    first = survey_response_record(invitation_id=invitation_for(survey, customer=CustomerFactory()).pk, score=4, raw={})
    other = survey_response_record(invitation_id=invitation_for(survey, customer=CustomerFactory()).pk, score=4, raw={})
    locked, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            list(Response.objects.select_for_update().filter(pk=first[0].pk))
            locked.set()
            release.wait(10)
        connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(10)
    try:
        taken = survey_answers_process_chunk()
    finally:
        release.set()
        holder.join()

    assert taken == 1
    assert set(Response.objects.filter(loop_pending=True).values_list("pk", flat=True)) == {first[0].pk}
    assert not Response.objects.get(pk=other[0].pk).loop_pending


def test_the_beat_schedule_runs_it_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["surveys-answers-process"]

    assert entry["task"] == "surveys.tasks.survey_answers_process_task"
    assert entry["schedule"].is_due(timezone.now() - timedelta(minutes=1)).is_due
