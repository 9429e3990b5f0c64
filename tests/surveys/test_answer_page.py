"""The one-click answer page: the link opens the page with its score chosen and records nothing;
the page's POST records; answering again updates; and every bad input or abuse is refused with a
clear message, never a 500, never a response counted twice."""

import re
from unittest import mock

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from surveys import tokens
from surveys.models import Invitation, Response
from tests.customers.factories import CustomerFactory

from .factories import active_survey, answer_url, invitation_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitation():
    customer = CustomerFactory(name="Siti Rahma Putri", language="id")
    return invitation_for(active_survey("nps"), customer=customer, language="id")


def _page(client, url):
    response = client.get(url)
    return response, response.content.decode()


def _post(client, url, data):
    return client.post(url, data)


def test_opening_a_link_shows_the_score_chosen_and_records_nothing(invitation):
    response, html = _page(Client(), answer_url(invitation, 3))

    assert response.status_code == 200
    assert 'lang="id"' in html and "Siti" in html and "Rahma" not in html and "Putri" not in html
    assert 'id="score-3" value="3" autocomplete="off" checked' in html
    assert "Apa yang bisa kami lakukan dengan lebih baik?" in html
    assert response["Referrer-Policy"] == "no-referrer" and "no-store" in response["Cache-Control"]
    assert Response.objects.count() == 0 and not Invitation.objects.get().answered


def test_the_page_records_the_answer_and_answering_again_updates_it(invitation):
    client = Client()
    url = answer_url(invitation, 3)
    better = invitation.survey.questions.get(position=2)

    first = _post(client, url, {"score": 3, f"q{better.pk}": "Faster delivery"})
    second = _post(client, url, {"score": 9})

    assert first.status_code == 200
    assert second.status_code == 200
    response = Response.objects.get()
    assert response.score == 9 and response.invitation == invitation and response.customer == invitation.customer
    assert not response.is_detractor and response.comment == ""  # the follow-up is not asked of a 9
    assert Invitation.objects.get().answered


def test_a_follow_up_not_shown_for_the_score_is_not_stored(invitation):
    like = invitation.survey.questions.get(position=3)  # only for 7-10

    _post(Client(), answer_url(invitation), {"score": 2, f"q{like.pk}": "should be dropped"})

    assert Response.objects.get().answers == {str(invitation.survey.questions.get(position=1).pk): 2}


def _page_token(html: str) -> str:
    return re.search(r'name="page_token" value="([^"]+)"', html).group(1)


def test_the_token_of_the_page_is_required_and_works_under_a_null_origin():
    survey = active_survey("nps")
    invitation = invitation_for(survey, customer=CustomerFactory(), wave="a")
    other = invitation_for(survey, customer=CustomerFactory(), wave="b")
    client = Client(enforce_csrf_checks=True)
    url = answer_url(invitation, 5)

    refused = client.post(url, {"score": 5})
    token = _page_token(client.get(url).content.decode())
    forged = client.post(url, {"score": 5, "page_token": token[:-2] + "xx"})
    other_link = client.post(answer_url(other, 5), {"score": 5, "page_token": token})
    cookieless = Client(enforce_csrf_checks=True).post(url, {"score": 5, "page_token": token})
    # A browser under Referrer-Policy: no-referrer sends Origin: null with the page's POST.
    accepted = client.post(url, {"score": 5, "page_token": token}, HTTP_ORIGIN="null")

    assert [r.status_code for r in (refused, forged, other_link, cookieless)] == [403, 403, 403, 403]
    assert "did not come from the survey page" in refused.content.decode()
    assert accepted.status_code == 200
    assert Response.objects.count() == 1


def test_a_tampered_foreign_or_unknown_link_opens_nothing(invitation):
    good = tokens.answer_token(invitation.pk, 9)
    tampered = good[:-3] + ("xyz" if not good.endswith("xyz") else "abc")
    other_purpose = signing.dumps(
        {"i": invitation.pk, "s": 9}, salt="contact_plans.messaging.unsubscribe", compress=True
    )
    unknown = tokens.answer_token(invitation.pk + 1000, 9)
    not_a_dict = signing.dumps([invitation.pk], salt=tokens.SALT)

    for token in (tampered, other_purpose, unknown, not_a_dict, "nonsense"):
        url = reverse("surveys_public:answer", args=[token])
        got, post = Client().get(url), Client().post(url, {"score": 9})
        assert got.status_code == 404 and post.status_code == 404
        assert "does not work" in got.content.decode()
        assert got["Referrer-Policy"] == "no-referrer"
    assert Response.objects.count() == 0


@pytest.mark.parametrize(
    ("language", "words"), [("ca", "Aquest enllaç no funciona"), ("id", "Tautan ini tidak berfungsi")]
)
def test_a_link_that_cannot_be_read_speaks_the_visitors_language(language, words):
    response = Client(headers={"accept-language": language}).get(reverse("surveys_public:answer", args=["nonsense"]))

    assert response.status_code == 404 and words in response.content.decode()


def test_an_expired_link_says_so(invitation):
    with mock.patch("django.core.signing.time.time", return_value=0):
        old = tokens.answer_token(invitation.pk, 9)
    with mock.patch("django.core.signing.time.time", return_value=1_000_000_000):
        also_old = tokens.answer_token(invitation.pk, 9)

    ancient = Client().get(reverse("surveys_public:answer", args=[old]) + "?lang=en")
    past_the_surveys_days = Client().post(reverse("surveys_public:answer", args=[also_old]) + "?lang=en", {"score": 9})

    assert ancient.status_code == 410 and "expired" in ancient.content.decode()
    assert past_the_surveys_days.status_code == 410 and "expired" in past_the_surveys_days.content.decode()
    assert Response.objects.count() == 0


def test_a_score_out_of_range_or_not_a_number_is_refused_with_a_message(invitation):
    client = Client()
    for score in ("11", "-1", "abc", ""):
        response = _post(client, answer_url(invitation) + "?lang=en", {"score": score})
        assert response.status_code == 400
        assert "Choose a score from 0 to 10." in response.content.decode()
    out_of_range_link = client.get(answer_url(invitation, 42))
    assert out_of_range_link.status_code == 200 and "checked" not in out_of_range_link.content.decode()
    assert Response.objects.count() == 0


def test_html_in_a_comment_is_stored_as_text_and_shown_escaped(invitation, marta):
    better = invitation.survey.questions.get(position=2)
    script = '<script>alert("x")</script><b>bold</b>'

    _post(Client(), answer_url(invitation, 2), {"score": 2, f"q{better.pk}": script})
    client = Client()
    client.force_login(marta)
    page = client.get(reverse("surveys:results") + f"?survey={invitation.survey.pk}")

    assert Response.objects.get().comment == script
    html = page.content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html and "<script>alert" not in html


def test_a_flood_from_one_address_is_refused_before_it_is_recorded(invitation, settings):
    settings.SURVEYS_ANSWERS_PER_MINUTE = 3
    client = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [_post(client, answer_url(invitation, 8), {"score": 8}).status_code for _ in range(5)]
    other = Client(REMOTE_ADDR="198.51.100.7")

    assert statuses == [200, 200, 200, 429, 429]
    assert _post(other, answer_url(invitation, 8), {"score": 8}).status_code == 200
    assert Response.objects.count() == 1


def test_a_closed_survey_takes_no_more_answers(invitation):
    invitation.survey.status = "closed"
    invitation.survey.save()

    response = _post(Client(), answer_url(invitation, 9), {"score": 9})

    assert response.status_code == 410 and Response.objects.count() == 0


def test_a_link_answers_only_for_its_own_invitation():
    survey = active_survey("nps")
    mine = invitation_for(survey, customer=CustomerFactory(), wave="a")
    theirs = invitation_for(survey, customer=CustomerFactory(), wave="a")

    _post(Client(), answer_url(mine, 9), {"score": 9})

    assert Response.objects.get().customer == mine.customer
    assert not Response.objects.filter(customer=theirs.customer).exists()


@pytest.mark.parametrize("language", ["en", "ca", "id", "ms"])
@pytest.mark.parametrize(("updated", "anonymous"), [(False, False), (True, False), (False, True)])
def test_the_thank_you_page_reused_between_answers_is_the_page_of_each_answer(language, updated, anonymous):
    from django.template.loader import render_to_string
    from django.utils import translation

    from surveys import public_views, tokens

    for invitation_id, score in ((1, 9), (2, 3)):  # the second answer reuses the first one's page
        token = tokens.answer_token(invitation_id, score)
        reused = public_views._thanks(language=language, updated=updated, anonymous=anonymous, token=token)
        with translation.override(language):
            context = {"language": language, "updated": updated, "token": token, "anonymous": anonymous}
            fresh = render_to_string("surveys/public/thanks.html", context)
        assert reused.content.decode() == fresh
        assert f"/a/{token}/?lang={language}" in fresh
