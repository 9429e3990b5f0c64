"""The customer's standing page: a signed, expiring link that opens this page only, without a
login; the customer's language (or the one chosen); Referrer-Policy same-origin (the token never leaves the site; the redeem form keeps its Origin); redeeming from it."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from loyalty import services, standing
from loyalty.models import Redemption
from loyalty.redemption import reward_redeem
from tests.customers.factories import CustomerFactory

from .factories import MemberFactory, RewardFactory, TierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(ada):
    TierFactory(name="Silver", threshold=100)
    member = MemberFactory(customer=CustomerFactory(name="Siti", language="id"))
    services.points_adjust(customer=member.customer, points=150, reason="Welcome", user=ada)
    return member


def test_the_link_shows_the_standing_in_the_customers_language_without_a_login(member):
    RewardFactory(name="Tote bag", points_cost=100)

    response = Client().get(standing.standing_path(member.pk))

    assert response.status_code == 200
    assert response["Referrer-Policy"] == "same-origin" and "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert 'lang="id"' in html and 'data-testid="standing-points">150<' in html and "Tote bag" in html


def test_a_forged_expired_or_other_purpose_link_opens_nothing(member):
    forged = standing.standing_token(member.pk)[:-2] + "xx"
    other_purpose = signing.dumps(member.pk, salt="something.else", compress=True)
    with mock.patch("django.core.signing.time.time", return_value=0):
        old = standing.standing_token(member.pk)

    for token in (forged, other_purpose, old, "nonsense"):
        response = Client().get(reverse("loyalty:standing", args=[token]))
        assert response.status_code == 404 and "no longer works" in response.content.decode()
        assert response["Referrer-Policy"] == "same-origin"


def test_redeeming_from_the_page_shows_the_code_and_a_second_try_says_why_not(member):
    reward = RewardFactory(name="Tote bag", points_cost=100)
    client = Client()
    url = reverse("loyalty:standing_redeem", args=[standing.standing_token(member.pk)])

    done = client.post(url + "?lang=en", {"reward": reward.pk})
    shown = client.get(done["Location"])
    reloaded = client.get(done["Location"])
    again = client.post(url + "?lang=en", {"reward": reward.pk})
    junk = client.post(url + "?lang=en", {"reward": "x' OR 1=1"})

    redemption = Redemption.objects.get()
    # POST, redirect, GET: the code is shown, and reloading the page redeems nothing more.
    assert done.status_code == 302 and f"redeemed={redemption.pk}" in done["Location"]
    assert shown.status_code == 200 and redemption.code in shown.content.decode()
    assert reloaded.status_code == 200 and Redemption.objects.count() == 1
    assert again.status_code == 400 and "costs 100 points and the balance is 50" in again.content.decode()
    assert junk.status_code == 400 and "no such reward" in junk.content.decode()


def test_the_link_expires_after_its_max_age(member):
    token = standing.standing_token(member.pk)

    with mock.patch(
        "django.core.signing.time.time", return_value=signing.time.time() + standing.LINK_MAX_AGE.total_seconds() + 60
    ):
        assert standing.standing_customer_id(token) is None
    assert standing.standing_customer_id(token) == member.pk
    assert standing.LINK_MAX_AGE > timedelta(days=30)


def test_the_page_shows_only_a_code_of_its_own_member(member, ada):
    other = MemberFactory()
    services.points_adjust(customer=other.customer, points=50, reason="Welcome", user=ada)
    theirs = reward_redeem(customer_id=other.pk, reward_id=RewardFactory(points_cost=10).pk)
    mine = reverse("loyalty:standing", args=[standing.standing_token(member.pk)])

    page = Client().get(mine, {"redeemed": theirs.pk})

    assert page.status_code == 200 and theirs.code not in page.content.decode()
    assert Client().get(mine, {"redeemed": "1 OR 1=1"}).status_code == 200
