"""Password guessing is refused on every way in: the login page, the admin and the API token."""

import time

import pytest
from django.test import Client
from rest_framework.test import APIClient

from retention_crm import login_guard, throttling

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed logins"


def login_page(client: Client, username: str, password: str, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def admin_login(client: Client, username: str, password: str, **extra):
    return client.post("/admin/login/", {"username": username, "password": password}, **extra)


def token(username: str, password: str, **extra):
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, **extra)


def test_the_login_page_locks_an_account_out_after_five_wrong_passwords(alice):
    client = Client()

    statuses = [login_page(client, "alice", f"guess-{n}").status_code for n in range(10)]

    assert statuses == [200] * 4 + [429] * 6


def test_a_lockout_says_so_and_when_it_ends_and_refuses_even_the_right_password(alice):
    client = Client()
    for n in range(5):
        login_page(client, "alice", f"guess-{n}")

    response = login_page(client, "alice", "pw-alice")

    assert response.status_code == 429
    assert 14 * 60 < int(response["Retry-After"]) <= 15 * 60
    text = response.content.decode()
    assert LOCKED in text and "15 more minutes, until" in text
    assert "_auth_user_id" not in client.session


def test_the_lockout_ends_after_its_time(alice, monkeypatch):
    client = Client()
    for n in range(5):
        login_page(client, "alice", f"guess-{n}")
    later = time.time() + 15 * 60 + 1

    monkeypatch.setattr(login_guard.time, "time", lambda: later)
    response = login_page(client, "alice", "pw-alice")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_a_successful_login_forgets_the_accounts_failures(alice):
    client = Client()
    for n in range(4):
        login_page(client, "alice", f"guess-{n}")
    assert login_page(client, "alice", "pw-alice").status_code == 302

    statuses = [login_page(Client(), "alice", f"again-{n}").status_code for n in range(4)]

    assert statuses == [200] * 4


def test_the_admin_login_locks_out_the_same_account(ada):
    client = Client()

    statuses = [admin_login(client, "ada", f"guess-{n}").status_code for n in range(6)]
    refused = admin_login(client, "ada", "pw-ada")

    assert statuses == [200] * 4 + [429] * 2
    assert refused.status_code == 429 and LOCKED in refused.content.decode()


def test_failures_on_one_way_in_count_on_the_others(alice):
    login_page(Client(), "alice", "guess-1")
    admin_login(Client(), "alice", "guess-2")
    token("alice", "guess-3")
    token("alice", "guess-4")

    response = token("alice", "guess-5")

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "locked_out"
    assert LOCKED in response.json()["error"]["message"]
    assert token("alice", "pw-alice").status_code == 429
    assert login_page(Client(), "alice", "pw-alice").status_code == 429


def test_the_token_lockout_is_not_escaped_by_changing_x_forwarded_for(alice):
    statuses = [token("alice", f"guess-{n}", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(8)]

    assert statuses == [400] * 4 + [429] * 4


def test_an_address_guessing_many_accounts_is_locked_out(settings, alice, bob, charlie):
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    for username in ("bob", "charlie", "nobody"):
        login_page(Client(), username, "guess")

    refused = login_page(Client(), "alice", "pw-alice")
    elsewhere = login_page(Client(REMOTE_ADDR="198.51.100.7"), "alice", "pw-alice")

    assert refused.status_code == 429
    assert elsewhere.status_code == 302


def test_behind_a_trusted_proxy_the_address_is_the_one_the_proxy_saw(settings, alice):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    for n in range(3):
        # What the client wrote (the first entries) changes; what the proxy appended does not.
        login_page(Client(), f"user-{n}", "guess", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 203.0.113.9")

    same_client = login_page(Client(), "alice", "pw-alice", HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.9")
    other_client = login_page(Client(), "alice", "pw-alice", HTTP_X_FORWARDED_FOR="203.0.113.10")

    assert same_client.status_code == 429
    assert other_client.status_code == 302


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "127.0.0.1"),
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (2, "203.0.113.9", "203.0.113.9"),
        (1, "", "127.0.0.1"),
    ],
)
def test_client_address_trusts_only_the_configured_proxies(settings, rf, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)

    assert login_guard.client_address(request) == expected


def test_the_anonymous_api_rate_is_not_escaped_by_changing_x_forwarded_for(monkeypatch):
    monkeypatch.setattr(throttling.AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute", "user": None})

    statuses = [
        APIClient().post("/api/v1/auth/token/", {}, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(5)
    ]

    assert statuses == [400, 400, 400, 429, 429]
