"""The short re-survey after a detractor's follow-up is done: the survey's first question (the same
scale) and an optional comment, in the invitation's language; its answers stay out of the survey's
figures and count for the recovery rate; it is asked once."""

import re
from datetime import timedelta

import pytest
from django.test import Client, TestCase
from django.utils import timezone
from django.utils.html import escape

from contact_plans.models import FollowUp
from contact_plans.services import followup_complete
from surveys import results
from surveys.answers import survey_answers_process, survey_response_record
from surveys.models import Invitation, Response
from surveys.results import Period
from tests.contact_plans.worklist_helpers import book_customer
from tests.customers.factories import CustomerFactory

from .factories import active_survey, answer_url, invitation_for

pytestmark = pytest.mark.django_db

TODAY = Period(timezone.localdate() - timedelta(days=1), timezone.localdate())


def _loop():
    with TestCase.captureOnCommitCallbacks(execute=True):
        survey_answers_process()


@pytest.fixture
def resurvey(alice, django_capture_on_commit_callbacks):
    """A detractor called back: the follow-up completed, the short re-survey sent."""
    customer = book_customer(alice, name="Warung Sari")
    customer.language = "ca"
    customer.save()
    invitation = invitation_for(active_survey("nps"), customer=customer, language="ca")
    survey_response_record(invitation_id=invitation.pk, score=2, raw={})
    _loop()
    with django_capture_on_commit_callbacks(execute=True):
        followup_complete(followup=FollowUp.objects.get())
    return Invitation.objects.get(wave__startswith="resurvey-")


def test_completing_the_follow_up_sends_a_short_re_survey(resurvey):
    assert resurvey.short and resurvey.sent_at is not None and resurvey.language == "ca"


def test_the_short_page_asks_the_first_question_and_an_optional_comment_in_the_person_s_language(resurvey):
    page = Client().get(answer_url(resurvey, 8)).content.decode()

    first = resurvey.survey.questions.get(position=1)
    assert escape(first.texts["ca"]) in page and 'data-testid="survey-short"' in page
    assert 'name="comment"' in page and "Voleu afegir alguna cosa? (opcional)" in page
    follow_ups = resurvey.survey.questions.exclude(position=1)
    assert not any(f'name="q{q.pk}"' in page for q in follow_ups)
    assert re.search(r'id="score-8"[^>]* checked', page)


def test_the_short_answer_keeps_the_score_and_the_comment_only(resurvey):
    client = Client(enforce_csrf_checks=True)
    url = answer_url(resurvey, 8)
    token = re.search(r'name="page_token" value="([^"]+)"', client.get(url).content.decode()).group(1)
    better = resurvey.survey.questions.get(position=2)

    answered = client.post(
        url, {"score": 8, "comment": "Much better now", f"q{better.pk}": "ignored", "page_token": token}
    )

    response = Response.objects.get(invitation=resurvey)
    assert answered.status_code == 200
    assert response.short and response.comment == "Much better now" and not response.is_detractor
    assert response.answers == {str(resurvey.survey.questions.get(position=1).pk): 8}


def test_a_comment_too_long_is_refused_under_the_comment(resurvey):
    refused = Client().post(answer_url(resurvey, 8) + "?lang=en", {"score": 8, "comment": "x" * 2001})

    assert refused.status_code == 400 and "Keep it under 2000 characters." in refused.content.decode()
    assert not Response.objects.filter(short=True).exists()


def test_the_re_survey_counts_for_recovery_and_not_in_the_survey_s_figures(resurvey, marta):
    survey = resurvey.survey
    before = results.summary(marta, survey, TODAY)

    survey_response_record(invitation_id=resurvey.pk, score=10, raw={"comment": "Thank you"})
    _loop()

    after = results.summary(marta, survey, TODAY)
    assert (before.responses, before.invited, before.figure) == (1, 1, -100.0)
    assert (after.responses, after.invited, after.figure) == (1, 1, -100.0)  # the re-survey is not in it
    assert results.comments(marta, survey, TODAY) == []
    assert [row["responses"] for row in results.over_time(marta, survey, TODAY)] == [1]
    tally = results.recovery(marta, survey, TODAY)
    assert (tally["total"], tally["recovered"]) == (1, 1)


def test_a_re_survey_detractor_gets_a_follow_up_but_no_second_re_survey(
    resurvey, alice, django_capture_on_commit_callbacks
):
    survey_response_record(invitation_id=resurvey.pk, score=1, raw={"comment": "Still slow"})
    _loop()
    second = FollowUp.objects.exclude(state=FollowUp.State.DONE).get()

    with django_capture_on_commit_callbacks(execute=True):
        followup_complete(followup=second)

    assert Invitation.objects.filter(wave__startswith="resurvey-").count() == 1
    assert results.recovery(alice, resurvey.survey, TODAY)["total"] == 1  # the customer once


def test_a_full_invitation_is_not_answered_as_a_short_one():
    invitation = invitation_for(active_survey("nps"), customer=CustomerFactory())
    better = invitation.survey.questions.get(position=2)

    response, _created = survey_response_record(
        invitation_id=invitation.pk, score=3, raw={str(better.pk): "Slow", "comment": "not a field here"}
    )

    assert not response.short and response.comment == "Slow"
