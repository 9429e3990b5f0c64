"""Results: the figures of metrics.md from hand-counted answers, the response rate, periods
compared, groups, comments, CSVs, who sees what, and groups of five for employee surveys."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from surveys import analytics, results
from surveys.answers import survey_response_record
from surveys.models import Invitation, Response
from surveys.results import Period
from team.models import Team
from tests.contact_plans.worklist_helpers import book_customer
from tests.customers.factories import CustomerFactory

from .factories import active_survey, employee, invitation_for

pytestmark = pytest.mark.django_db


def test_the_figures_follow_metrics_md():
    # 3 promoters, 1 passive, 2 detractors of 6: (3 - 2) / 6 = +16.7
    assert analytics.nps({10: 2, 9: 1, 8: 1, 6: 1, 0: 1}) == pytest.approx(100 / 6)
    assert analytics.csat({5: 1, 4: 2, 3: 1, 1: 1}) == pytest.approx(60.0)
    assert analytics.ces({7: 1, 5: 2, 2: 1}) == pytest.approx(19 / 4)
    assert analytics.nps({}) is None and analytics.rate(1, 0) is None


def _answer(survey, score, *, customer=None, comment="", day=None, delivered=True):
    invitation = invitation_for(survey, customer=customer or CustomerFactory(), wave=f"w{Invitation.objects.count()}")
    Invitation.objects.filter(pk=invitation.pk).update(delivered=delivered)
    raw = {}
    if comment:
        question = survey.questions.filter(kind="text").first()
        question.show_min = question.show_max = None
        question.save()
        raw[str(question.pk)] = comment
    response, _ = survey_response_record(invitation_id=invitation.pk, score=score, raw=raw)
    if day:
        Response.objects.filter(pk=response.pk).update(answered_on=day)
        Invitation.objects.filter(pk=invitation.pk).update(created_at=timezone.now() - (timezone.localdate() - day))
    return response


@pytest.fixture
def nps(alice, bob):
    survey = active_survey("nps")
    for score in (10, 9, 9, 3):
        _answer(survey, score, customer=book_customer(alice, country="ID"))
    _answer(survey, 0, customer=book_customer(bob, country="MY"), comment="Too slow <b>really</b>")
    _answer(survey, 10, day=timezone.localdate() - timedelta(days=100))  # the previous period
    invitation_for(survey, customer=CustomerFactory(), wave="unanswered")
    Invitation.objects.filter(wave="unanswered").update(delivered=True)
    return survey


def test_summary_breakdown_and_comparison(nps, marta):
    period = Period(timezone.localdate() - timedelta(days=89), timezone.localdate())

    current = results.summary(marta, nps, period)
    previous = results.summary(marta, nps, period.previous)
    groups = {g["group"]: g for g in results.breakdown(marta, nps, period, "country")}

    assert current.responses == 5 and current.figure == pytest.approx(100 * (3 - 2) / 5)
    assert (current.answered, current.delivered) == (5, 6) and current.response_rate == pytest.approx(5 / 6)
    assert dict(current.distribution)[9] == 2 and len(current.distribution) == 11
    assert previous.responses == 1 and previous.figure == 100
    assert groups["ID"]["figure"] == pytest.approx(50.0) and groups["MY"]["figure"] == -100


def test_an_account_manager_sees_the_results_of_their_book_only(nps, alice, charlie):
    period = Period(timezone.localdate() - timedelta(days=89), timezone.localdate())

    assert results.summary(alice, nps, period).responses == 4
    assert results.comments(alice, nps, period) == []
    client = Client()
    client.force_login(charlie)
    assert client.get(reverse("surveys:results")).status_code == 404


def test_comments_are_searchable_and_filterable_by_score(nps, marta):
    period = Period(timezone.localdate() - timedelta(days=89), timezone.localdate())

    assert [c["comment"] for c in results.comments(marta, nps, period, search="slow")] == ["Too slow <b>really</b>"]
    assert results.comments(marta, nps, period, search="fast") == []
    assert results.comments(marta, nps, period, score_min=5) == []


def test_every_table_downloads_as_csv(nps, marta):
    client = Client()
    client.force_login(marta)
    url = reverse("surveys:results") + f"?survey={nps.pk}"

    page = client.get(url)
    csvs = {name: client.get(url + f"&csv={name}") for name in ("over_time", "breakdown", "distribution", "comments")}

    assert page.status_code == 200 and 'data-testid="results-figure">20<' in page.content.decode()
    assert all(r.status_code == 200 and r["Content-Type"].startswith("text/csv") for r in csvs.values())
    assert csvs["distribution"].content.decode().splitlines()[0] == "score,responses"
    assert "Too slow <b>really</b>" in csvs["comments"].content.decode()
    assert client.get(url + "&csv=nonsense").status_code == 404
    assert client.get(url + "&start=yesterday").status_code == 200


def test_employee_results_per_team_only_for_groups_of_five(marta):
    support, sales = Team.objects.create(name="Support"), Team.objects.create(name="Sales")
    survey = active_survey("enps")
    for i in range(5):
        invitation = invitation_for(survey, employee=employee(f"Support {i}", team=support))
        survey_response_record(invitation_id=invitation.pk, score=9, raw={})
    for i in range(2):
        invitation = invitation_for(survey, employee=employee(f"Sales {i}", team=sales))
        survey_response_record(invitation_id=invitation.pk, score=2, raw={})
    period = Period(timezone.localdate(), timezone.localdate())

    groups = {g["group"]: g for g in results.breakdown(marta, survey, period, "team")}

    assert groups["Support"]["figure"] == 100 and groups["Support"]["responses"] == 5
    assert groups["Sales"]["hidden"] and groups["Sales"]["figure"] is None and groups["Sales"]["responses"] is None
    assert results.summary(marta, survey, period).figure == pytest.approx(100 * (5 - 2) / 7)


def test_an_employee_survey_with_fewer_than_five_answers_shows_nothing(marta):
    survey = active_survey("pulse")
    for i in range(4):
        invitation = invitation_for(survey, employee=employee(f"P {i}"))
        survey_response_record(invitation_id=invitation.pk, score=1, raw={})
    period = Period(timezone.localdate(), timezone.localdate())

    summary = results.summary(marta, survey, period)

    assert summary.hidden and summary.figure is None and summary.distribution == []
    assert results.comments(marta, survey, period) == []
    assert all(row["figure"] is None for row in results.over_time(marta, survey, period))


def test_a_csat_figure_is_a_percentage_in_the_readers_language(marta):
    """CSAT is out of 100: "75%" in English and Indonesian, "75 %" in Catalan, never a hard-coded
    " %" after the number; the previous period's figure is a percentage too."""
    from django.conf import settings

    csat = active_survey("csat")
    for score in (5, 5, 4, 2):
        _answer(csat, score, customer=CustomerFactory())
    _answer(csat, 5, customer=CustomerFactory(), day=timezone.localdate() - timedelta(days=100))
    client = Client()
    client.force_login(marta)
    url = reverse("surveys:results") + f"?survey={csat.pk}"

    pages = {}
    for language in ("en", "id", "ca"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        pages[language] = client.get(url)
    assert 'data-testid="results-figure">75%<' in pages["en"].content.decode()
    assert 'data-testid="results-figure">75%<' in pages["id"].content.decode()
    assert 'data-testid="results-figure">75\xa0%<' in pages["ca"].content.decode()
    assert ": 100%</div>" in pages["en"].content.decode()
