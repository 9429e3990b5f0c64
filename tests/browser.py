"""Browser fixtures (a pytest plugin, loaded by tests/conftest.py): Playwright drives Debian's
Chromium against pytest-django's live server. One browser per session, shared by every test."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

# A shared 2-core machine can take seconds to answer an htmx swap under load; 5 s is too tight.
expect.set_options(timeout=15_000)

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# The live server runs in a thread of this process while Playwright's sync API holds an event
# loop; Django's async-safety check would refuse the ORM calls of the test's own setup.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM} (sudo apt-get install chromium)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    # Whatever the Content-Security-Policy refuses (an inline script, an eval) is a broken page.
    refused = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    yield page
    context.close()
    assert refused == [], "the Content-Security-Policy refused something on a page"


def login(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def wait_for_htmx(page) -> None:
    """Wait until htmx has no request, swap or settle in flight, so the next event hits live elements."""
    page.wait_for_function(
        "() => document.querySelectorAll('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added').length === 0"
    )
