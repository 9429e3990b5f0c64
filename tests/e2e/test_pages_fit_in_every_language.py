"""Issue 13, seen in the browser in the four languages the product ships: at 390 px no page of the
worklist, the customers or the dashboard is wider than the phone (Catalan words are the longest);
at 1366 px the navigation is one line for every persona and the dashboard's selects show their
whole choice (a Catalan month was cut to "novembre del 202")."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics.services.recompute import metrics_recompute
from tests.browser import login
from tests.contact_plans.worklist_helpers import book_customer, metrics_for
from tests.customers.factories import OrderFactory, order_add_line

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LANGUAGES = ("en", "id", "ms", "ca")
ONE_LINE = 70  # px: Bootstrap's navbar is 56 px on one line, 86 and more when it wraps


def choose_language(page, code: str) -> None:
    with page.expect_navigation():
        page.select_option("#language-select", code)


def page_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.fixture
def ann(alice):
    ann = book_customer(alice, name="Ann Risky", company="Risky Trading Company International Sdn Bhd")
    metrics_for(ann, churn_risk=0.8, previous=0.4, value="high")
    order_add_line(OrderFactory(customer=ann, external_id="ORDER-WITH-A-LONG-NUMBER-0001"), unit_price="1234.5")
    return ann


@pytest.mark.parametrize("language", LANGUAGES)
def test_on_a_phone_no_page_is_wider_than_the_screen(browser, live_server, alice, ann, language):
    context = browser.new_context(base_url=live_server.url, locale="en-GB", viewport={"width": 390, "height": 844})
    page = context.new_page()
    login(page, "alice", "pw-alice")
    page.goto("/customers/")
    page.get_by_role("button", name="Toggle navigation").click()
    choose_language(page, language)

    for path in (
        "/my-book/",
        "/follow-ups/",
        "/customers/",
        f"/customers/{ann.pk}/",
        "/metrics/",
        "/customers/imports/",
        "/campaigns/",
    ):
        page.goto(path)
        assert page_overflow(page) <= 0, f"{path} is {page_overflow(page)}px wider than the phone in {language}"
    context.close()


@pytest.mark.parametrize("username", ["alice", "marta", "ada"])  # account manager, marketer, administrator
def test_the_bar_is_one_line_at_1366_px_for_every_persona_in_every_language(page, alice, marta, ada, username):
    page.set_viewport_size({"width": 1366, "height": 800})
    login(page, username, f"pw-{username}")
    page.goto("/messages/templates/")

    for language in LANGUAGES:
        choose_language(page, language)
        bar = page.locator("nav.navbar")
        height = bar.evaluate("nav => nav.getBoundingClientRect().height")
        assert height < ONE_LINE, f"the bar wraps for {username} in {language}: {height}px"
    if username == "ada":
        # The local outbox moved to "More", to leave the bar room.
        page.locator("#nav-more").click()
        expect(page.locator("#main-nav .dropdown-menu a[href$='/messaging/outbox/']")).to_be_visible()
    choose_language(page, "en")


# The text of the chosen option against the room the select gives it (its width less padding and arrow).
CUT_SELECTS = """() => [...document.querySelectorAll('.dashboard-filters select')].filter(select => {
    const probe = document.createElement('span');
    const style = getComputedStyle(select);
    probe.style.font = style.font;
    probe.style.whiteSpace = 'pre';
    probe.style.position = 'absolute';
    probe.textContent = select.options[select.selectedIndex].text;
    document.body.appendChild(probe);
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const cut = probe.getBoundingClientRect().width > room + 0.5;
    probe.remove();
    return cut;
}).map(select => select.name + ': ' + select.options[select.selectedIndex].text)"""


def test_the_dashboards_selects_show_their_whole_choice_at_1366_px(page, marta, ann):
    metrics_recompute(as_of=timezone.localdate())  # the monthly snapshots that fill the period select
    page.set_viewport_size({"width": 1366, "height": 800})
    login(page, "marta", "pw-marta")
    page.goto("/metrics/")
    expect(page.locator(".dashboard-filters select[name=period] option").first).to_be_attached()

    for language in LANGUAGES:
        choose_language(page, language)
        expect(page.locator(".dashboard-filters select").first).to_be_visible()
        assert page.evaluate(CUT_SELECTS) == [], language
    choose_language(page, "en")
