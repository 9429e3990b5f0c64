"""The customer page's "Surveys" card: the customer's answers, and asking a survey by hand (the
owner may, a colleague who may only read may not, a stranger gets 404)."""

import pytest
from django.test import TestCase
from django.urls import reverse

from contact_plans.models import Message
from surveys.answers import survey_response_record
from surveys.models import Invitation
from tests.contact_plans.factories import consenting_customer

from .factories import active_survey, invitation_for

pytestmark = pytest.mark.django_db


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_the_card_shows_the_answers_and_the_owner_asks_a_survey(alice):
    customer = consenting_customer(name="Warung Sari", account_manager=alice)
    nps = active_survey("nps")
    invitation = invitation_for(nps, customer=customer, wave="old")
    survey_response_record(
        invitation_id=invitation.pk, score=3, raw={str(nps.questions.get(position=2).pk): "Slow <b>"}
    )
    csat = active_survey("csat", min_gap_days=0)
    client = _client(alice)

    page = client.get(customer.get_absolute_url()).content.decode()
    with TestCase.captureOnCommitCallbacks(execute=True):
        asked = client.post(reverse("surveys:invite_customer", args=[customer.pk]), {"survey": csat.pk})
    again = client.post(reverse("surveys:invite_customer", args=[customer.pk]), {"survey": csat.pk}, follow=True)
    junk = client.post(reverse("surveys:invite_customer", args=[customer.pk]), {"survey": "x"}, follow=True)

    assert 'id="customer-surveys"' in page and "Slow &lt;b&gt;" in page and "Ask a survey" in page
    assert asked.status_code == 302
    assert Invitation.objects.filter(survey=csat, customer=customer).count() == 1
    assert Message.objects.filter(customer=customer, source_key__startswith="survey-invitation:").count() == 1
    assert "Not sent" in again.content.decode()
    assert "Choose one of the active customer surveys." in junk.content.decode()


def test_only_those_who_may_edit_the_customer_ask(alice, bob, charlie, settings):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True
    customer = consenting_customer(account_manager=alice)
    survey = active_survey("nps")
    url = reverse("surveys:invite_customer", args=[customer.pk])

    colleague_page = _client(bob).get(customer.get_absolute_url()).content.decode()

    assert "Ask a survey" not in colleague_page
    assert _client(bob).post(url, {"survey": survey.pk}).status_code == 403
    assert _client(charlie).post(url, {"survey": survey.pk}).status_code == 404
    assert not Invitation.objects.exists()
