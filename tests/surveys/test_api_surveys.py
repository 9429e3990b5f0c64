"""The surveys API: who sees what, the error shape, writing an answer collected elsewhere."""

import pytest

from surveys.answers import survey_response_record
from surveys.models import Response
from tests.conftest import api_client_for
from tests.contact_plans.worklist_helpers import book_customer

from .factories import active_survey, invitation_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def nps(alice, bob):
    survey = active_survey("nps")
    for manager, score in ((alice, 9), (bob, 2)):
        invitation = invitation_for(survey, customer=book_customer(manager), wave=f"w{score}")
        survey_response_record(invitation_id=invitation.pk, score=score, raw={})
    return survey


def test_a_marketer_reads_surveys_responses_invitations_and_results(nps, marta):
    client = api_client_for(marta)

    surveys = client.get("/api/v1/surveys/").json()["results"]
    responses = client.get("/api/v1/surveys/responses/", {"survey_id": nps.pk}).json()["results"]
    invitations = client.get("/api/v1/surveys/invitations/").json()["results"]
    results = client.get(f"/api/v1/surveys/{nps.pk}/results/", {"by": "account_manager"}).json()

    assert [s["id"] for s in surveys] == [nps.pk] and len(surveys[0]["questions"]) == 3
    assert sorted(r["score"] for r in responses) == [2, 9] and len(invitations) == 2
    assert results["current"]["figure"] == 0 and results["current"]["responses"] == 2
    assert {g["group"] for g in results["groups"]} == {"alice", "bob"}


def test_an_account_manager_reads_their_book_only_and_a_stranger_nothing(nps, alice, charlie):
    mine = api_client_for(alice).get("/api/v1/surveys/responses/").json()["results"]
    results = api_client_for(alice).get(f"/api/v1/surveys/{nps.pk}/results/").json()

    assert [r["score"] for r in mine] == [9] and results["current"]["responses"] == 1
    stranger = api_client_for(charlie)
    for url in ("/api/v1/surveys/", f"/api/v1/surveys/{nps.pk}/", "/api/v1/surveys/responses/"):
        assert stranger.get(url).status_code == 403  # no role in the CRM: HasAnyRole, as every API
    assert api_client_for(alice).get(f"/api/v1/surveys/{active_survey('enps').pk}/").status_code == 404


def test_an_integration_records_an_answer_for_a_customer_of_the_book(nps, alice):
    customer = book_customer(alice)
    question = nps.questions.get(position=2)

    created = api_client_for(alice).post(
        "/api/v1/surveys/responses/",
        {"survey_id": nps.pk, "customer_id": customer.pk, "score": 4, "answers": {str(question.pk): "Too pricey"}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="kiosk-1",
    )
    replay = api_client_for(alice).post(
        "/api/v1/surveys/responses/",
        {"survey_id": nps.pk, "customer_id": customer.pk, "score": 4, "answers": {str(question.pk): "Too pricey"}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="kiosk-1",
    )

    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["source"] == "api" and body["is_detractor"] and body["comment"] == "Too pricey"
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert Response.objects.filter(customer=customer).count() == 1


def test_bad_answers_are_refused_in_the_error_shape(nps, alice, bob, marta):
    customer = book_customer(alice)
    url = "/api/v1/surveys/responses/"

    out_of_range = api_client_for(alice).post(url, {"survey_id": nps.pk, "customer_id": customer.pk, "score": 11})
    marketer = api_client_for(marta).post(url, {"survey_id": nps.pk, "customer_id": customer.pk, "score": 5})
    colleague = api_client_for(bob).post(url, {"survey_id": nps.pk, "customer_id": customer.pk, "score": 5})
    employees = active_survey("enps")
    wrong_kind = api_client_for(alice).post(url, {"survey_id": employees.pk, "customer_id": customer.pk, "score": 5})
    bad_follow_up = api_client_for(alice).post(
        url,
        {
            "survey_id": nps.pk,
            "customer_id": customer.pk,
            "score": 5,
            "answers": {str(nps.questions.get(position=2).pk): "x" * 3000},
        },
        format="json",
    )

    assert out_of_range.status_code == 400 and "score" in out_of_range.json()["error"]["fields"]
    assert marketer.status_code == 403 and colleague.status_code == 404
    assert wrong_kind.status_code == 404  # an account manager does not see employee surveys
    assert bad_follow_up.status_code == 400 and bad_follow_up.json()["error"]["status"] == 400
    assert not Response.objects.filter(customer=customer).exists()


def test_results_refuse_a_backwards_period(nps, marta):
    response = api_client_for(marta).get(
        f"/api/v1/surveys/{nps.pk}/results/", {"start": "2026-12-01", "end": "2026-01-01"}
    )

    assert response.status_code == 400 and "start" in response.json()["error"]["fields"]
