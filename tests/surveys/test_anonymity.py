"""Anonymity: from an anonymous response, try to reach the person who gave it through every view,
export, API and the Django admin; and look for timing or ordering that would give it away."""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from surveys.answers import survey_response_record
from surveys.models import Invitation, Response
from team.models import Team
from tests.conftest import api_client_for

from .factories import active_survey, answer_url, employee, invitation_for

pytestmark = pytest.mark.django_db

COMMENT = "Our lead never listens"


@pytest.fixture
def answered():
    """Six people of one team asked an anonymous eNPS; the one to find answered 2 with a comment."""
    team = Team.objects.create(name="Support")
    survey = active_survey("enps")
    people = [employee(f"Person{i} Surname{i}", team=team) for i in range(6)]
    invitations = [invitation_for(survey, employee=person) for person in people]
    target = invitations[3]
    better = survey.questions.get(position=2)
    Client().post(answer_url(target, 2), {"score": 2, f"q{better.pk}": COMMENT})
    for other in invitations[:3] + invitations[4:5]:
        survey_response_record(invitation_id=other.pk, score=9, raw={})
    response = Response.objects.get(comment=COMMENT)
    return {"survey": survey, "target": target, "person": people[3], "response": response, "team": team}


def _identifying(data: dict) -> list[str]:
    person = data["person"]
    return [person.name, person.email, "Person3", "Surname3", f"/team/employee/{person.pk}/"]


def test_the_row_itself_holds_no_link_to_the_person(answered):
    response = answered["response"]

    assert response.anonymous and response.employee_id is None and response.customer_id is None
    assert response.invitation_id is None and response.answered_at is None and response.followup_id is None
    assert isinstance(response.pk, uuid.UUID) and response.pk.version == 4
    assert response.team == answered["team"]  # the group it counts in, nothing finer
    assert answered["target"].pk not in {str(v) for v in Response.objects.values_list("anon_key", flat=True)}


def test_no_page_export_or_api_answer_names_the_person(answered, ada, marta):
    survey = answered["survey"]
    marketer, admin = Client(), Client()
    marketer.force_login(marta)
    admin.force_login(ada)
    results = reverse("surveys:results") + f"?survey={survey.pk}&by=team"
    pages = [
        marketer.get(results),
        *(marketer.get(results + f"&csv={name}") for name in ("over_time", "breakdown", "distribution", "comments")),
        marketer.get(survey.get_absolute_url()),
        api_client_for(marta).get("/api/v1/surveys/responses/", {"survey_id": survey.pk}),
        api_client_for(marta).get("/api/v1/surveys/invitations/", {"survey_id": survey.pk}),
        api_client_for(marta).get(f"/api/v1/surveys/{survey.pk}/results/", {"by": "team"}),
        admin.get(reverse("admin:surveys_response_changelist")),
        admin.get(reverse("admin:surveys_response_change", args=[answered["response"].pk])),
        admin.get(reverse("admin:surveys_invitation_changelist")),
        admin.get(reverse("admin:surveys_invitation_change", args=[answered["target"].pk])),
    ]

    assert all(page.status_code == 200 for page in pages), [page.status_code for page in pages]
    comment_seen = False
    for page in pages:
        body = page.content.decode()
        comment_seen |= COMMENT in body
        if COMMENT in body:  # where the answer is, nobody is
            assert not any(marker in body for marker in _identifying(answered)), page.request["PATH_INFO"]
            assert answered["response"].anon_key not in body
    assert comment_seen
    # The invitation pages name the person but never the answer, its score, or whether they answered.
    invitation_page = pages[-1].content.decode()
    assert answered["person"].email in invitation_page or str(answered["person"].pk) in invitation_page
    assert COMMENT not in invitation_page and "field-answered" not in invitation_page
    api_invitations = pages[7].json()["results"]
    assert all(row["answered"] is None for row in api_invitations)


def test_the_admin_response_page_has_no_field_that_links_back(answered, ada):
    admin = Client()
    admin.force_login(ada)

    page = admin.get(reverse("admin:surveys_response_change", args=[answered["response"].pk])).content.decode()

    for field in ("invitation", "employee", "answered_at", "anon_key", "followup"):
        assert f'name="{field}"' not in page and f"field-{field}" not in page


def test_ids_and_days_give_no_order_of_arrival(answered):
    rows = list(Response.objects.filter(survey=answered["survey"]).values_list("pk", "answered_on", "answered_at"))

    assert len({day for _pk, day, _at in rows}) == 1 and all(at is None for _pk, _day, at in rows)
    assert all(pk.version == 4 for pk, _day, _at in rows)  # random: the order of ids is no order in time


def test_answering_again_updates_the_same_anonymous_response_without_a_new_trace(answered):
    target = answered["target"]

    Client().post(answer_url(target, 5), {"score": 5})

    assert Response.objects.filter(survey=answered["survey"]).count() == 5
    response = Response.objects.get(pk=answered["response"].pk)
    assert response.score == 5 and response.answered_at is None and response.invitation_id is None
    assert Invitation.objects.filter(survey=answered["survey"], answered=True).count() == 5


def test_a_team_under_five_answers_is_not_broken_down(answered, marta):
    sales = Team.objects.create(name="Sales")
    loner = invitation_for(answered["survey"], employee=employee("Lone Wolf", team=sales))
    survey_response_record(invitation_id=loner.pk, score=0, raw={})

    body = api_client_for(marta).get(f"/api/v1/surveys/{answered['survey'].pk}/results/", {"by": "team"}).json()

    groups = {g["group"]: g for g in body["groups"]}
    assert groups["Sales"]["hidden"] and groups["Sales"]["figure"] is None
    assert groups["Support"]["responses"] == 5
