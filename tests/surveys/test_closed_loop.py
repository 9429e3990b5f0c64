"""The closed loop: a detractor (or a negative comment) opens a follow-up task for the account
manager, writes to the timeline, gives a reason on the worklist and a segment condition; when the
task is done a short re-survey goes out; the recovery rate counts who came back."""

from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from contact_plans import worklist
from contact_plans.models import FollowUp
from contact_plans.services import followup_complete
from customers.models import Customer, Interaction
from customers.services import interaction_log
from retention_crm import segment_conditions as sc
from surveys import results
from surveys.answers import survey_answers_process, survey_response_record
from surveys.models import Invitation
from surveys.results import Period
from tests.contact_plans.worklist_helpers import book_customer, metrics_for
from tests.customers.factories import CustomerFactory, OrderFactory

from .factories import active_survey, invitation_for

pytestmark = pytest.mark.django_db


def _answer(invitation, score, comment=""):
    raw = {}
    if comment:
        text = invitation.survey.questions.filter(kind="text").order_by("position").first()
        raw[str(text.pk)] = comment
    response, _created = survey_response_record(invitation_id=invitation.pk, score=score, raw=raw)
    # The closed loop is the beat's, every minute: run it now, as the worker would (its event's
    # handlers after the commit).
    with TestCase.captureOnCommitCallbacks(execute=True):
        survey_answers_process()
    response.refresh_from_db()
    return response


def matching(key, operator, value=None) -> set[str]:
    condition = sc.get(key)
    value, days = condition.clean(operator, value, None)
    return set(Customer.objects.filter(condition.to_q(operator, value, days)).values_list("name", flat=True))


@pytest.fixture
def detractor(alice):
    customer = book_customer(alice, name="Warung Sari")
    metrics_for(customer, value="high")
    invitation = invitation_for(active_survey("nps"), customer=customer)
    return _answer(invitation, 3, "Delivery was late twice")


def test_a_detractor_opens_a_follow_up_for_the_account_manager_and_writes_the_timeline(detractor, alice):
    followup = FollowUp.objects.get()

    assert followup.assigned_to == alice and followup.customer == detractor.customer
    assert followup.key == f"survey-response:{detractor.pk}" and followup.state == "open"
    assert timedelta(hours=47) < followup.due_at - timezone.now() <= timedelta(hours=48)
    assert "Delivery was late twice" in followup.note
    interaction = Interaction.objects.get(kind="survey")
    assert interaction.subject == "NPS answer: 3" and interaction.sentiment == -1
    assert detractor.followup_id == followup.pk


def test_answering_again_opens_no_second_task(detractor):
    _answer(detractor.invitation, 2)

    assert FollowUp.objects.count() == 1 and Interaction.objects.filter(kind="survey").count() == 1


@pytest.mark.parametrize(
    ("kind", "score", "detractor"),
    [("csat", 2, True), ("csat", 3, False), ("ces", 3, True), ("ces", 4, False), ("nps", 6, True), ("nps", 7, False)],
)
def test_the_detractor_cut_of_each_kind(alice, kind, score, detractor):
    customer = book_customer(alice)
    response = _answer(invitation_for(active_survey(kind), customer=customer), score)

    assert response.is_detractor is detractor
    assert FollowUp.objects.exists() is detractor


def test_a_negative_comment_with_a_good_score_opens_a_task(alice):
    customer = book_customer(alice)
    invitation = invitation_for(active_survey("csat"), customer=customer)
    comment_question = invitation.survey.questions.get(position=2)
    comment_question.show_max = None
    comment_question.save()

    response = _answer(invitation, 4, "Staf sangat kasar dan lambat")

    assert response.is_detractor and FollowUp.objects.count() == 1


def test_a_customer_without_an_account_manager_gets_no_task_but_the_timeline():
    customer = CustomerFactory()
    _answer(invitation_for(active_survey("nps"), customer=customer), 0)

    assert not FollowUp.objects.exists() and Interaction.objects.filter(customer=customer, kind="survey").exists()


def test_the_worklist_says_why_and_the_segment_conditions_find_the_detractor(detractor, alice):
    happy = book_customer(alice, name="Toko Maju")
    metrics_for(happy, value="high")
    _answer(invitation_for(active_survey("nps"), customer=happy), 10)

    rows = worklist.rows_with_reasons(worklist.worklist_queryset(viewer=alice, manager=alice))

    reasons = {row.name: row.reasons for row in rows}
    assert any("Detractor answer: 3 in a NPS survey" in r for r in reasons["Warung Sari"])
    assert not any("Detractor" in r for r in reasons["Toko Maju"])
    assert matching("surveys.detractor", "is_true") == {"Warung Sari"}
    assert matching("surveys.last_nps", "lte", 6) == {"Warung Sari"}
    assert matching("surveys.last_nps", "between", [9, 10]) == {"Toko Maju"}


def test_a_later_good_answer_takes_the_reason_off(detractor, alice):
    again = invitation_for(detractor.survey, customer=detractor.customer, wave="later")
    _answer(again, 9)

    rows = worklist.rows_with_reasons(worklist.worklist_queryset(viewer=alice, manager=alice))

    assert not any("Detractor" in r for row in rows for r in row.reasons)
    assert matching("surveys.detractor", "is_true") == set()


def test_completing_the_task_sends_a_short_re_survey_and_a_better_answer_counts_as_recovered(
    detractor, marta, django_capture_on_commit_callbacks
):
    followup = FollowUp.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        followup_complete(followup=followup)

    resurvey = Invitation.objects.get(wave=f"resurvey-{detractor.pk}")
    assert resurvey.customer == detractor.customer and resurvey.sent_at is not None
    period = Period(timezone.localdate() - timedelta(days=1), timezone.localdate())
    assert results.recovery(marta, detractor.survey, period)["recovered"] == 0
    _answer(resurvey, 8)

    tally = results.recovery(marta, detractor.survey, period)
    assert (tally["total"], tally["recovered"], tally["rate"]) == (1, 1, 1.0)


def test_a_purchase_within_90_days_of_the_completed_task_also_recovers(detractor, marta):
    followup_complete(followup=FollowUp.objects.get(), at=timezone.now() - timedelta(hours=2))
    OrderFactory(customer=detractor.customer, ordered_at=timezone.now() - timedelta(hours=3))  # before: no
    period = Period(timezone.localdate() - timedelta(days=1), timezone.localdate())
    assert results.recovery(marta, detractor.survey, period)["recovered"] == 0

    OrderFactory(customer=detractor.customer, ordered_at=timezone.now() - timedelta(hours=1))

    assert results.recovery(marta, detractor.survey, period)["recovered"] == 1


def test_a_resolved_complaint_invites_the_customer_to_the_surveys_it_triggers(
    alice, django_capture_on_commit_callbacks
):
    customer = book_customer(alice)
    survey = active_survey("csat", trigger="complaint_resolved")
    complaint = interaction_log(customer=customer, kind="complaint", subject="Broken box")

    from retention_crm import events

    with django_capture_on_commit_callbacks(execute=True):
        events.publish(events.INTERACTION_RESOLVED, interaction_id=complaint.pk, customer_id=customer.pk)

    assert Invitation.objects.get(survey=survey).wave == f"complaint-{complaint.pk}"
