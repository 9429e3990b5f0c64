"""Group commit (surveys/group_commit.py): the page's answers that a process's threads send at the
same moment are written in one statement, each thread still getting its own answer's outcome."""

import os
import threading
import time
from unittest import mock

import pytest
from django.db import OperationalError, connections

from surveys import answers
from surveys.answers import questions_for, survey_response_record_by_link
from surveys.group_commit import GroupCommit
from surveys.models import Invitation, Response
from tests.customers.factories import CustomerFactory

from .factories import active_survey, employee, invitation_for

POSTGRESQL_ONLY = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("sqlite"), reason="the page's statement is PostgreSQL's"
)


def _held_first_batch(commit: GroupCommit, execute, waiting: int):
    """``execute``, except that the first batch waits until ``waiting`` more items are queued behind
    it: the next batch then holds them all, whatever the threads' timing."""
    first = threading.Event()

    def held(items):
        if not first.is_set():
            first.set()
            deadline = time.monotonic() + 10
            while len(commit._queue) < waiting and time.monotonic() < deadline:
                time.sleep(0.001)
        return execute(items)

    return held


def _in_threads(count: int, work) -> tuple[list, list]:
    results, errors = [None] * count, []

    def run(number):
        try:
            results[number] = work(number)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


# --- The hand-off, without a database ----------------------------------------------------------------


def test_each_thread_gets_its_own_outcome_and_later_arrivals_share_a_batch():
    commit = GroupCommit("test", lambda items: [item * 10 for item in items])
    commit._execute = _held_first_batch(commit, commit._execute, waiting=7)

    results, errors = _in_threads(8, lambda number: (time.sleep(0.05) if number else None, commit.submit(number))[1])

    assert errors == [] and results == [number * 10 for number in range(8)]
    assert commit.sizes == {1: 1, 7: 1}  # the first alone, the seven that came meanwhile together


def test_an_error_of_the_whole_batch_reaches_every_thread_and_the_next_batch_runs():
    def failing(items):
        raise OperationalError("the database went away")

    commit = GroupCommit("test", failing)
    commit._execute = _held_first_batch(commit, failing, waiting=3)

    _results, errors = _in_threads(4, lambda number: (time.sleep(0.05) if number else None, commit.submit(number))[1])

    assert len(errors) == 4 and all(isinstance(error, OperationalError) for error in errors)
    commit._execute = lambda items: items
    assert commit.submit("after") == "after" and not commit._leading


def test_an_items_own_failure_reaches_its_thread_only():
    commit = GroupCommit("test", lambda items: [ValueError(item) if item == 2 else item for item in items])
    commit._execute = _held_first_batch(commit, commit._execute, waiting=3)

    results, errors = _in_threads(4, lambda number: (time.sleep(0.05) if number else None, commit.submit(number))[1])

    assert [str(error) for error in errors] == ["2"] and results == [0, 1, None, 3]


def test_a_leader_waits_for_a_write_announced_as_coming():
    commit = GroupCommit("test", lambda items: list(items))
    announced, results = threading.Event(), {}

    def coming():
        with commit.coming():
            announced.set()
            time.sleep(0.05)  # the rest of its request
            results["coming"] = commit.submit("coming")

    other = threading.Thread(target=coming)
    with mock.patch("surveys.group_commit.WAIT_SECONDS", 5):
        other.start()
        announced.wait()
        results["first"] = commit.submit("first")
        other.join()

    assert results == {"first": "first", "coming": "coming"}
    assert commit.sizes == {2: 1}  # one statement for both


def test_a_write_announced_and_given_up_does_not_hold_the_leader():
    commit = GroupCommit("test", lambda items: list(items))
    announced = threading.Event()

    def gives_up():
        with commit.coming():
            announced.set()
            time.sleep(0.05)  # the long way, say: nothing submitted

    other = threading.Thread(target=gives_up)
    with mock.patch("surveys.group_commit.WAIT_SECONDS", 5):
        other.start()
        announced.wait()
        started = time.monotonic()
        assert commit.submit("alone") == "alone"
        waited = time.monotonic() - started
        other.join()

    assert waited < 1 and commit.sizes == {1: 1} and commit._coming == 0


# --- The page's answers, on PostgreSQL ------------------------------------------------------------


def _row(invitation, *, score=9, **changes):
    survey = invitation.survey
    values = answers._answer_values(
        survey=survey, questions=questions_for(survey), score=score, raw={}, source=Response.Source.LINK
    )
    row = answers._page_row(invitation_id=invitation.pk, survey=survey, values=values, link_age=60, short=False)
    return {**row, **changes}


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_answers_sent_together_from_threads_are_each_written_once_in_one_statement():
    survey = active_survey("nps")
    invitations = [invitation_for(survey, customer=CustomerFactory(), language="ca") for _ in range(8)]
    questions = questions_for(survey)
    commit = GroupCommit("test", answers._page_answers_write)
    commit._execute = _held_first_batch(commit, commit._execute, waiting=7)

    def answer(number):
        if number:
            time.sleep(0.05)
        return survey_response_record_by_link(
            invitation_id=invitations[number].pk, survey=survey, questions=questions, link_age=60, score=number, raw={}
        )

    with mock.patch.object(answers, "_PAGE_ANSWERS", commit):
        results, errors = _in_threads(8, answer)

    assert errors == [] and results == [("ca", True)] * 8
    assert commit.sizes == {1: 1, 7: 1}
    stored = dict(Response.objects.values_list("invitation_id", "score"))
    assert stored == {invitation.pk: number for number, invitation in enumerate(invitations)}
    assert Invitation.objects.filter(answered=True).count() == 8
    assert Response.objects.filter(loop_pending=True).count() == 8


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_an_answer_whose_checks_fail_writes_nothing_and_the_others_are_written():
    survey, other = active_survey("nps"), active_survey("csat")
    mine, theirs, late = (invitation_for(survey, customer=CustomerFactory()) for _ in range(3))

    outcomes = answers._page_answers_write(
        [
            _row(mine),
            {**_row(theirs), "survey_id": other.pk},  # a page token of another survey
            _row(late, link_age=survey.link_days * 86400 + 1),  # the link expired
        ]
    )

    assert outcomes == [("en", True), None, None]
    assert list(Response.objects.values_list("invitation_id", flat=True)) == [mine.pk]
    assert list(Invitation.objects.filter(answered=True).values_list("id", flat=True)) == [mine.pk]


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_an_answer_the_database_refuses_fails_alone():
    survey = active_survey("nps")
    first, broken, last = (invitation_for(survey, customer=CustomerFactory()) for _ in range(3))

    outcomes = answers._page_answers_write(
        [_row(first), {**_row(broken), "score": 70_000}, _row(last)]
    )  # not a smallint

    assert outcomes[0] == outcomes[2] == ("en", True)
    assert "out of range" in str(outcomes[1])
    assert set(Response.objects.values_list("invitation_id", flat=True)) == {first.pk, last.pk}


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_two_answers_to_one_invitation_in_a_batch_are_written_in_order():
    survey = active_survey("enps")
    named = invitation_for(active_survey("nps"), customer=CustomerFactory())
    anonymous = invitation_for(survey, employee=employee("Dewi Lestari"))

    outcomes = answers._page_answers_write(
        [_row(anonymous, score=2), _row(named, score=3), _row(anonymous, score=8), _row(named, score=4)]
    )

    assert outcomes == [("en", True), ("en", True), ("en", False), ("en", False)]
    assert sorted(Response.objects.values_list("anonymous", "score")) == [(False, 4), (True, 8)]
    assert Response.objects.get(anonymous=True).employee_id is None
    assert Invitation.objects.filter(answered=True).count() == 2


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_database_error_of_the_batch_reaches_every_answer():
    survey = active_survey("nps")
    invitations = [invitation_for(survey, customer=CustomerFactory()) for _ in range(4)]
    questions = questions_for(survey)
    commit = GroupCommit("test", answers._page_answers_write)
    commit._execute = _held_first_batch(commit, commit._execute, waiting=3)

    def answer(number):
        if number:
            time.sleep(0.05)
        return survey_response_record_by_link(
            invitation_id=invitations[number].pk, survey=survey, questions=questions, link_age=60, score=9, raw={}
        )

    gone = OperationalError("server closed the connection unexpectedly")
    with (
        mock.patch.object(answers, "_PAGE_ANSWERS", commit),
        mock.patch.object(answers, "_page_statement_run", side_effect=gone),
    ):
        _results, errors = _in_threads(4, answer)

    assert errors == [gone] * 4
    assert Response.objects.count() == 0
