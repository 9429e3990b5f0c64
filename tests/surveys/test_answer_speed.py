"""The lean answer path (docs/benchmarks.md, "Survey answers"): what one answer costs, and that the
shortcuts keep the guarantees: the per-process questions follow every change, a survey closed
meanwhile takes nothing, and answers racing on one invitation make one response."""

import os
import re
import threading
import time
import uuid
from unittest import mock

import pytest
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from surveys import answers, services
from surveys.answers import survey_response_record
from surveys.models import Invitation, Question, Response, Survey
from tests.customers.factories import CustomerFactory

from .factories import active_survey, answer_url, employee, invitation_for


def _post(client, url, data):
    return client.post(url, data)


def _statements(captured) -> list[str]:
    """The statements of an answer, without the PREPARE a database connection makes once."""
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith("PREPARE ")]


def _redis_cache(settings, location: str) -> None:
    """The default cache on Redis at `location`, under a key prefix of the test's own."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }


POSTGRESQL_ONLY = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("sqlite"), reason="the one-statement answer is PostgreSQL's"
)


@POSTGRESQL_ONLY
@pytest.mark.django_db
def test_an_answer_costs_two_statements_and_a_second_answer_as_many(settings):
    # The rate limit's counter in a cache that is not the database (production's is Redis).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    invitation = invitation_for(active_survey("nps"), customer=CustomerFactory(), language="en")
    better = invitation.survey.questions.get(position=2)
    client = Client()
    client.get(answer_url(invitation, 3))  # the page: the questions are now in this process's cache

    with CaptureQueriesContext(connection) as first:
        assert _post(client, answer_url(invitation, 3), {"score": 3, f"q{better.pk}": "Slow"}).status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert _post(client, answer_url(invitation, 8), {"score": 8}).status_code == 200

    # The invitation with its survey, then the one (prepared) statement that writes the response and the flag.
    assert len(_statements(first)) == 2 and len(_statements(second)) == 2, _statements(first)
    assert _statements(first)[1].startswith("EXECUTE surveys_answer ")
    assert len(second) == 2  # prepared by then
    response = Response.objects.get()
    assert response.score == 8 and response.comment == "" and not response.is_detractor
    assert Invitation.objects.get().answered


@pytest.mark.django_db
@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs TEST_REDIS_URL")
def test_on_redis_the_rate_limit_counts_in_one_round_trip_and_refuses_a_flood(settings):
    _redis_cache(settings, os.environ["TEST_REDIS_URL"])
    settings.SURVEYS_ANSWERS_PER_MINUTE = 3
    invitation = invitation_for(active_survey("nps"), customer=CustomerFactory())
    client = Client(REMOTE_ADDR="203.0.113.77")

    now = time.time()
    clock = mock.Mock(time=lambda: now)
    with mock.patch("surveys.public_views.time", clock):  # one minute's window throughout
        statuses = [_post(client, answer_url(invitation, 8), {"score": 8}).status_code for _ in range(5)]

    assert statuses == [200, 200, 200, 429, 429]
    assert Response.objects.count() == 1
    key = caches["default"].make_and_validate_key(f"surveys.answers:203.0.113.77:{int(now // 60)}")
    ttl = caches["default"]._cache.get_client(key).ttl(key)
    assert 0 < ttl <= 61  # the counter goes away with its minute


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs TEST_REDIS_URL")
def test_the_rate_limit_counts_on_when_its_own_redis_connection_fails(settings):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from surveys import rate_limit

    _redis_cache(settings, os.environ["TEST_REDIS_URL"])
    key = "surveys.answers:203.0.113.9:1"

    def count(amount=1):
        return rate_limit._add_on_redis([(key, amount)])[0]

    first = count()  # the pool's way; the thread then keeps a connection
    own = rate_limit._REDIS_CONNECTIONS.connection[1]
    second = count()  # on it
    with mock.patch.object(own, "send_packed_command", side_effect=RedisConnectionError("Redis restarted")):
        third = count()  # dropped: the pool's way again
    fourth = count(5)

    assert (first, second, third, fourth) == (1, 2, 3, 8)
    assert rate_limit._REDIS_CONNECTIONS.connection[1] is not own
    full_key = caches["default"].make_and_validate_key(key)
    assert 0 < caches["default"]._cache.get_client(full_key).ttl(full_key) <= 61


@pytest.mark.django_db
def test_with_the_rate_limits_redis_down_the_answer_is_taken_and_the_log_says_so(settings, caplog):
    _redis_cache(settings, "redis://127.0.0.1:9/0")  # nothing listens there
    invitation = invitation_for(active_survey("nps"), customer=CustomerFactory())
    client = Client(REMOTE_ADDR="203.0.113.78")

    with caplog.at_level("WARNING", logger="surveys.public_views"):
        response = _post(client, answer_url(invitation, 9), {"score": 9})

    assert response.status_code == 200
    assert Response.objects.get(invitation=invitation).score == 9
    assert "surveys.rate_limit_unavailable error=ConnectionError" in caplog.text
    assert "203.0.113.78" not in caplog.text


@pytest.mark.django_db
def test_the_record_returns_the_stored_row():
    invitation = invitation_for(active_survey("nps"), customer=CustomerFactory(), language="ca")
    better = invitation.survey.questions.get(position=2)

    response, created = survey_response_record(invitation_id=invitation.pk, score=2, raw={str(better.pk): "Tard"})
    again, created_again = survey_response_record(invitation_id=invitation.pk, score=4, raw={})

    assert (created, created_again) == (True, False)
    assert again.pk == response.pk and again.score == 4 and again.language == "ca"
    stored = Response.objects.get()
    assert stored.answers == again.answers == {str(invitation.survey.questions.get(position=1).pk): 4}
    assert stored.customer_id == again.customer_id == invitation.customer_id
    assert stored.answered_at == again.answered_at and again.is_detractor


@pytest.mark.django_db
def test_a_question_changed_after_it_was_cached_is_used_at_once():
    invitation = invitation_for(active_survey("nps"), customer=CustomerFactory())
    better = invitation.survey.questions.get(position=2)
    client = Client()
    assert _post(client, answer_url(invitation, 3), {"score": 3}).status_code == 200  # cached: optional

    services.question_update(question=better, texts=better.texts, required=True, show_min=0, show_max=6)
    refused = _post(client, answer_url(invitation, 3), {"score": 3})
    # Changed behind the builder's back (the admin's inline, SQL): the trigger sees it as well.
    Question.objects.filter(pk=better.pk).update(required=False)
    accepted = _post(client, answer_url(invitation, 4), {"score": 4})

    assert refused.status_code == 400 and "Please answer this question." in refused.content.decode()
    assert accepted.status_code == 200 and Response.objects.get().score == 4


@pytest.mark.django_db
def test_the_version_rises_with_every_change_to_the_questions():
    survey = active_survey("pulse")
    version = Survey.objects.get(pk=survey.pk).questions_version
    last = survey.questions.order_by("position").last()

    services.question_delete(question=last)
    after_delete = Survey.objects.get(pk=survey.pk).questions_version
    services.question_add(survey=survey, kind="text", texts={"en": "Anything else?"})
    after_add = Survey.objects.get(pk=survey.pk).questions_version

    assert version < after_delete < after_add
    assert [q.pk for q in answers.questions_for(Survey.objects.get(pk=survey.pk))] == list(
        survey.questions.order_by("position").values_list("pk", flat=True)
    )


@pytest.mark.django_db
def test_a_survey_closed_after_the_page_read_it_takes_nothing():
    invitation = invitation_for(active_survey("nps"), customer=CustomerFactory())
    loaded = Invitation.objects.select_related("survey", "employee").get(pk=invitation.pk)
    Survey.objects.filter(pk=invitation.survey_id).update(status="closed")

    with pytest.raises(ValidationError, match="closed"):
        survey_response_record(invitation_id=invitation.pk, score=9, raw={}, invitation=loaded)

    assert Response.objects.count() == 0 and not Invitation.objects.get().answered


@pytest.mark.django_db
def test_an_anonymous_answer_stays_unlinked_and_keeps_its_first_day():
    survey = active_survey("enps")
    person = employee("Dewi Lestari")
    invitation = invitation_for(survey, employee=person)

    first, created = survey_response_record(invitation_id=invitation.pk, score=9, raw={})
    Response.objects.filter(pk=first.pk).update(answered_on="2026-01-05")
    again, created_again = survey_response_record(invitation_id=invitation.pk, score=3, raw={})

    stored = Response.objects.get()
    assert (created, created_again) == (True, False) and again.pk == first.pk == stored.pk
    assert stored.score == 3 and str(stored.answered_on) == "2026-01-05"
    assert stored.invitation_id is None and stored.employee_id is None and stored.answered_at is None
    assert Invitation.objects.get().answered


@POSTGRESQL_ONLY  # SQLite lets one writer in at a time: there is no race to hold
@pytest.mark.django_db(transaction=True)
def test_answers_racing_on_one_invitation_make_one_response():
    invitation = invitation_for(active_survey("nps"), customer=CustomerFactory())
    barrier = threading.Barrier(6)
    results, errors = [], []

    def answer(score):
        try:
            barrier.wait()
            results.append(survey_response_record(invitation_id=invitation.pk, score=score, raw={})[1])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=answer, args=(score,)) for score in range(7, 10)]
    threads += [threading.Thread(target=answer, args=(score,)) for score in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(results) == [False] * 5 + [True]  # one insert, five updates of the same response
    assert Response.objects.count() == 1 and Invitation.objects.get().answered


def _page_token(client, url) -> str:
    page = client.get(url)
    assert page.status_code == 200
    return re.search(r'name="page_token" value="([^"]+)"', page.content.decode()).group(1)


@pytest.mark.django_db
def test_the_page_post_is_one_statement_that_reads_nothing_first(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    invitation = invitation_for(active_survey("nps"), customer=CustomerFactory(), language="ms")
    client = Client(enforce_csrf_checks=True)  # the page's own token, as a browser sends it
    url = answer_url(invitation, 2)
    page_token = _page_token(client, url)

    with CaptureQueriesContext(connection) as queries:
        answered = client.post(url, {"score": 2, "page_token": page_token})

    if connection.vendor == "postgresql":
        assert len(_statements(queries)) == 1 and _statements(queries)[0].startswith("EXECUTE surveys_answer_page ")
    assert answered.status_code == 200 and answered["Referrer-Policy"] == "no-referrer"
    page = answered.content.decode()
    assert 'data-testid="survey-thanks"' in page and '<html lang="ms">' in page  # the invitation's language
    response = Response.objects.get()
    assert (response.score, response.language, response.customer_id) == (2, "ms", invitation.customer_id)
    assert response.is_detractor and response.loop_pending and Invitation.objects.get().answered


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"status": "closed"}, 410, "This survey is closed"),
        ({"link_days": 1}, 410, "This link has expired"),
    ],
)
def test_the_direct_write_refuses_what_the_long_way_refuses(change, status, message):
    invitation = invitation_for(active_survey("nps"), customer=CustomerFactory())
    client = Client(enforce_csrf_checks=True)
    url = answer_url(invitation, 9)
    page_token = _page_token(client, url)
    Survey.objects.filter(pk=invitation.survey_id).update(**change)
    later = time.time() + 2 * 86400  # the link is two days old

    with mock.patch("surveys.tokens.time", mock.Mock(time=lambda: later)):
        refused = client.post(url, {"score": 9, "page_token": page_token})

    assert refused.status_code == status and message in refused.content.decode()
    assert Response.objects.count() == 0 and not Invitation.objects.get().answered


@pytest.mark.django_db
def test_the_direct_write_follows_questions_changed_after_the_page(settings):
    invitation = invitation_for(active_survey("nps"), customer=CustomerFactory())
    better = invitation.survey.questions.get(position=2)
    client = Client(enforce_csrf_checks=True)
    url = answer_url(invitation, 3)
    page_token = _page_token(client, url)

    Question.objects.filter(pk=better.pk).update(required=True)  # behind the builder's back
    refused = client.post(url, {"score": 3, "page_token": page_token})
    accepted = client.post(url, {"score": 3, "page_token": page_token, f"q{better.pk}": "Faster delivery"})

    assert refused.status_code == 400 and "Please answer this question." in refused.content.decode()
    assert accepted.status_code == 200 and Response.objects.get().comment == "Faster delivery"


@pytest.mark.django_db
def test_a_page_token_of_another_link_or_without_the_cookie_is_refused():
    survey = active_survey("nps")
    mine, theirs = (invitation_for(survey, customer=CustomerFactory()) for _ in range(2))
    client = Client(enforce_csrf_checks=True)
    token_of_mine = _page_token(client, answer_url(mine, 9))

    forged = client.post(answer_url(theirs, 0), {"score": 0, "page_token": token_of_mine})
    client.cookies.clear()
    no_cookie = client.post(answer_url(mine, 9), {"score": 9, "page_token": token_of_mine})

    assert forged.status_code == no_cookie.status_code == 403
    assert Response.objects.count() == 0


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_the_answer_statement_is_prepared_once_per_database_connection():
    survey = active_survey("nps")
    first, second, third = (invitation_for(survey, customer=CustomerFactory()) for _ in range(3))
    connection.close()  # a new connection, as a new worker's or after CONN_MAX_AGE

    with CaptureQueriesContext(connection) as opening:
        survey_response_record(invitation_id=first.pk, score=9, raw={})
    with CaptureQueriesContext(connection) as next_one:
        survey_response_record(invitation_id=second.pk, score=2, raw={})
    connection.close()  # the prepared statement went with the session: made again on the next one
    with CaptureQueriesContext(connection) as reopened:
        survey_response_record(invitation_id=third.pk, score=7, raw={})

    def kinds(captured):
        return [q["sql"].split()[0] for q in captured.captured_queries if q["sql"].split()[0] in {"PREPARE", "EXECUTE"}]

    assert kinds(opening) == ["PREPARE", "EXECUTE"] and kinds(next_one) == ["EXECUTE"]
    assert kinds(reopened) == ["PREPARE", "EXECUTE"]
    assert "ON CONFLICT" in opening.captured_queries[-2]["sql"]
    assert Response.objects.count() == 3 and Invitation.objects.filter(answered=True).count() == 3


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_prepared_statement_outlives_the_transaction_it_was_made_in():
    from django.db import transaction

    survey = active_survey("nps")
    first, second = (invitation_for(survey, customer=CustomerFactory()) for _ in range(2))
    connection.close()

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack), transaction.atomic():  # an API write that fails after the answer
        survey_response_record(invitation_id=first.pk, score=9, raw={})
        raise RolledBack
    with CaptureQueriesContext(connection) as after:
        survey_response_record(invitation_id=second.pk, score=3, raw={})

    assert [q["sql"].split()[0] for q in after.captured_queries][-1] == "EXECUTE"
    assert list(Response.objects.values_list("invitation_id", flat=True)) == [second.pk]
