"""Risk signals (retention_crm.risk_signals): a recent detractor answer (surveys) and an overdue
complaint (customers) appear where the product says why a customer is at risk, the customer page's
"Value and risk" card and the API's risk_reasons, without metrics importing either app; who sees
the customer is unchanged."""

from datetime import timedelta

import pytest
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from customers.services import interaction_log
from metrics import selectors
from retention_crm import risk_signals
from surveys.answers import survey_answers_process, survey_response_record
from tests.clients import client_for
from tests.conftest import api_client_for
from tests.contact_plans.worklist_helpers import book_customer, metrics_for

from .factories import active_survey, invitation_for

pytestmark = pytest.mark.django_db

SENTENCE = "Detractor answer: 3 in a NPS survey on"


def _answer(customer, score, comment="", wave="w1"):
    invitation = invitation_for(active_survey("nps"), customer=customer, wave=wave)
    raw = {}
    if comment:
        raw[str(invitation.survey.questions.get(position=2).pk)] = comment
    survey_response_record(invitation_id=invitation.pk, score=score, raw=raw)
    with TestCase.captureOnCommitCallbacks(execute=True):
        survey_answers_process()


def _card(user, customer):
    return client_for(user).get(reverse("customers:detail", args=[customer.pk]))


def test_the_owner_and_a_marketer_see_the_detractor_answer_on_the_value_and_risk_card(alice, marta):
    customer = book_customer(alice, name="Warung Sari")
    metrics_for(customer, churn_risk=0.4, last_purchase=timezone.localdate() - timedelta(days=30), interval=20.0)
    _answer(customer, 3, "Delivery was late twice")

    for user in (alice, marta):
        page = _card(user, customer).content.decode()
        card = page[page.index('id="customer-metrics"') :]
        card = card[: card.index("</ul>")]
        assert SENTENCE in card and "They said: “Delivery was late twice”" in card
        assert "No purchase for 30 days; usually buys every 20 days." in card  # the churn risk's first


def test_a_colleague_and_a_stranger_still_get_404(alice, bob, charlie):
    customer = book_customer(alice)
    _answer(customer, 3)

    assert _card(bob, customer).status_code == 404
    assert _card(charlie, customer).status_code == 404
    assert api_client_for(bob).get(f"/api/v1/metrics/customers/{customer.pk}/").status_code == 404


def test_the_card_says_it_before_the_first_recompute(alice):
    customer = book_customer(alice)
    _answer(customer, 3)

    page = _card(alice, customer).content.decode()

    assert "No metrics yet." in page and SENTENCE in page


def test_a_later_good_answer_or_an_old_one_says_nothing(alice):
    better, old = book_customer(alice), book_customer(alice)
    _answer(better, 3)
    _answer(better, 9, wave="w2")
    _answer(old, 3)
    old.survey_responses.update(answered_on=timezone.localdate() - timedelta(days=91))
    today = timezone.localdate()

    assert risk_signals.reasons_for(better.pk, today=today) == []
    assert risk_signals.reasons_for(old.pk, today=today) == []


def test_an_overdue_complaint_comes_first_and_the_api_says_the_same(alice):
    customer = book_customer(alice)
    metrics = metrics_for(customer, churn_risk=0.4)
    arrived = timezone.now() - timedelta(days=5)
    interaction_log(customer=customer, kind="complaint", subject="Broken box", occurred_at=arrived)
    _answer(customer, 3)

    reasons = selectors.customer_risk_reasons(customer_id=customer.pk, metrics=metrics)
    api = api_client_for(alice).get(f"/api/v1/metrics/customers/{customer.pk}/").json()["risk_reasons"]

    complaint = next(i for i, r in enumerate(reasons) if "overdue since" in r and "Broken box" in r)
    detractor = next(i for i, r in enumerate(reasons) if r.startswith(SENTENCE))
    assert reasons[: len(selectors.risk_explanation(metrics=metrics))] == selectors.risk_explanation(metrics=metrics)
    assert complaint < detractor and api == reasons


def test_the_registry_lists_by_order_and_replaces_a_key():
    calls = []
    risk_signals.register(risk_signals.RiskSignal("zz_test", lambda customer_id, *, today: ["second"], order=999))
    risk_signals.register(risk_signals.RiskSignal("aa_test", lambda customer_id, *, today: ["first"], order=998))
    risk_signals.register(
        risk_signals.RiskSignal(
            "aa_test", lambda customer_id, *, today: calls.append(customer_id) or ["again"], order=998
        )
    )
    try:
        reasons = risk_signals.reasons_for(0, today=timezone.localdate())
        with pytest.raises(ValueError, match="identifier"):
            risk_signals.register(risk_signals.RiskSignal("not a key", lambda customer_id, *, today: []))
    finally:
        risk_signals.unregister("zz_test")
        risk_signals.unregister("aa_test")

    assert reasons[-2:] == ["again", "second"] and calls == [0]
