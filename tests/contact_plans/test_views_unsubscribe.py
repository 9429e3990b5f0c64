"""One-click unsubscribe (RFC 8058) and the preference centre: public, signed, four languages."""

import time

import pytest
from django.core import signing
from django.test import Client

from contact_plans.messaging.unsubscribe import preferences_url, token_make, unsubscribe_url
from contact_plans.models import ContactPreference
from tests.contact_plans.factories import consenting_customer

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1].split("#")[0]


def test_the_link_is_absolute_https_and_carries_no_personal_data(settings):
    settings.PUBLIC_BASE_URL = "https://crm.example.com"
    customer = consenting_customer(name="Siti Rahma", email="siti@example.com")

    url = unsubscribe_url(customer)

    assert url.startswith("https://crm.example.com/m/u/")
    assert "siti" not in url.lower() and "rahma" not in url.lower()
    assert preferences_url(customer).endswith("#preferences")


def test_a_one_click_post_unsubscribes_without_cookies_or_csrf_and_twice_is_once():
    customer = consenting_customer()
    client = Client(enforce_csrf_checks=True)
    url = _path(unsubscribe_url(customer))

    first = client.post(url, {"List-Unsubscribe": "One-Click"})
    second = client.post(url, {"List-Unsubscribe": "One-Click"})

    assert first.status_code == second.status_code == 200
    assert list(ContactPreference.objects.values_list("channel", "topic", "subscribed")) == [("email", "", False)]
    assert first["Referrer-Policy"] == "same-origin"


def test_get_shows_a_confirmation_in_the_customers_language_and_changes_nothing():
    customer = consenting_customer(language="ca", name="Jordi Puig")

    response = Client().get(_path(unsubscribe_url(customer)))

    assert response.status_code == 200
    assert '<html lang="ca">' in response.content.decode()
    assert "Jordi, voleu donar-vos de baixa?" in response.content.decode()
    assert not ContactPreference.objects.exists()
    assert response["Referrer-Policy"] == "same-origin"


def test_the_preference_centre_saves_channels_and_topics():
    customer = consenting_customer()
    client = Client()
    url = _path(unsubscribe_url(customer))
    client.get(url)

    response = client.post(url + "preferences/", {"subscribed": ["email:", "email:news"]})

    assert response.status_code == 200
    saved = set(ContactPreference.objects.filter(subscribed=False).values_list("channel", "topic"))
    assert saved == {("sms", ""), ("email", "offers"), ("email", "surveys")}


def test_a_tampered_token_is_a_clear_400():
    customer = consenting_customer()
    token = token_make(customer)

    response = Client().post(f"/m/u/{token[:-3]}abc/")

    assert response.status_code == 400
    assert "does not work" in response.content.decode()
    assert not ContactPreference.objects.exists()


def test_a_token_signed_for_something_else_is_refused():
    customer = consenting_customer()
    foreign = signing.dumps([customer.pk, "email"], salt="another.purpose", compress=False)

    response = Client().get(f"/m/u/{foreign}/")

    assert response.status_code == 400


def test_an_expired_token_says_so(settings):
    customer = consenting_customer()
    token = token_make(customer)
    settings.MESSAGING_TOKEN_MAX_AGE_DAYS = 0
    time.sleep(1.1)

    response = Client().post(f"/m/u/{token}/")

    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert not ContactPreference.objects.exists()


def test_a_token_of_a_deleted_customer_is_404():
    customer = consenting_customer()
    token = token_make(customer)
    customer.delete()

    response = Client().get(f"/m/u/{token}/")

    assert response.status_code == 404
