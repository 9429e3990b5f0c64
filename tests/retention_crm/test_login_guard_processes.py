"""The brute-force count adds up across processes: two real servers, one shared cache."""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    """The test database, which the servers must use to see the users this test creates."""
    db = connection.settings_dict
    auth = urllib.parse.quote(db["USER"] or "") + (":" + urllib.parse.quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_until_up(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(server.stdout.read())
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not start")


@pytest.fixture(params=["database", "redis"])
def two_servers(request, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "VAR_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "memory://",
        "DJANGO_ENV": "development",
    }
    env.pop("REDIS_URL", None)
    redis_url = os.environ.get("TEST_REDIS_URL")
    if request.param == "redis":
        if not redis_url:
            if os.environ.get("REQUIRE_SERVICES") == "1":
                pytest.fail("REQUIRE_SERVICES=1 but TEST_REDIS_URL is not set")
            pytest.skip("no Redis (TEST_REDIS_URL)")
        env["REDIS_URL"] = redis_url
    servers, urls = [], []
    for _ in range(2):
        port = _free_port()
        servers.append(
            subprocess.Popen(
                [
                    str(GUNICORN),
                    "retention_crm.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "1",
                    "--no-control-socket",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url, server in zip(urls, servers, strict=True):
            _wait_until_up(url, server)
        yield urls
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
        if request.param == "redis":
            import redis

            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter("crm:*"):
                client.delete(key)


class Browser:
    """A client with cookies, as a guessing script would be."""

    def __init__(self):
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def login(self, base: str, username: str, password: str) -> int:
        page = self.opener.open(base + "/accounts/login/", timeout=30).read().decode()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": csrf})
        request = urllib.request.Request(base + "/accounts/login/", data=body.encode(), headers={"Referer": base})
        try:
            return self.opener.open(request, timeout=30).status
        except urllib.error.HTTPError as exc:
            return exc.code


def test_wrong_passwords_sent_alternately_to_two_servers_are_counted_together(two_servers, alice):
    browser = Browser()

    statuses = [browser.login(two_servers[n % 2], "alice", f"guess-{n}") for n in range(10)]

    # Counted apart, each server would have seen 5 failures only at the 9th and 10th attempts.
    assert statuses == [200] * 4 + [429] * 6
