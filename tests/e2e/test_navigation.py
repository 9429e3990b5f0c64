"""The navigation bar as each language shows it (issue 13): one line at 1366 px, a menu at phone
width, the less used pages under "More", and a way back from the API docs."""

import pytest
from playwright.sync_api import expect

from tests.browser import login

pytestmark = pytest.mark.e2e

ONE_LINE = 70  # px: Bootstrap's navbar is 56 px on one line, 86 and more when it wraps


def choose_language(page, code: str) -> None:
    with page.expect_navigation():
        page.select_option("#language-select", code)


@pytest.mark.parametrize("username", ["alice", "ada", "marta"])  # the most links: an account manager, an administrator,
def test_the_bar_fits_on_one_line_at_1366_px_in_every_language(  # a marketer who leads a team (as in the demo)
    page, transactional_db, alice, ada, marta, username
):
    from team.models import Employee, Team

    # The user menu shows the full name: as long as the demo's, so that the bar is measured as people see it.
    for user, first, last in ((alice, "Amelia", "Hughes"), (ada, "Aisyah", "Rahman"), (marta, "Marta", "Vidal")):
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
    lead = Employee.objects.create(name="Marta Vidal", email="marta@staff.example.com", user=marta)
    Team.objects.create(name="Customer success", lead=lead)
    page.set_viewport_size({"width": 1366, "height": 800})
    login(page, username, f"pw-{username}")
    page.goto("/customers/")

    for code in ("en", "id", "ms", "ca"):
        choose_language(page, code)
        bar = page.locator("nav.navbar")
        height = bar.evaluate("nav => nav.getBoundingClientRect().height")
        overflow = bar.evaluate("nav => nav.scrollWidth - nav.clientWidth")
        page_overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")

        assert height < ONE_LINE, f"the bar wraps in {code}: {height}px"
        assert overflow <= 0, f"the bar is {overflow}px wider than the window in {code}"
        assert page_overflow <= 0, f"the page is {page_overflow}px wider than the window in {code}"
    choose_language(page, "en")


def test_account_managers_reach_book_performance_and_the_more_menu(page, transactional_db, alice):
    page.set_viewport_size({"width": 1366, "height": 800})
    login(page, "alice", "pw-alice")
    page.goto("/customers/")

    page.locator("nav.navbar").get_by_role("link", name="Book performance").click()
    expect(page.get_by_role("heading", name="Book performance")).to_be_visible()
    page.locator("#nav-more").click()
    expect(page.get_by_role("link", name="Model health")).to_be_visible()
    expect(page.get_by_role("link", name="API docs")).to_be_visible()


def test_the_bar_collapses_into_a_menu_on_a_phone(page, transactional_db, alice):
    page.set_viewport_size({"width": 390, "height": 800})
    login(page, "alice", "pw-alice")
    page.goto("/customers/")
    customers = page.locator("#main-nav").get_by_role("link", name="Customers")
    expect(customers).to_be_hidden()

    page.get_by_role("button", name="Toggle navigation").click()

    expect(customers).to_be_visible()
    assert page.locator("nav.navbar").evaluate("nav => nav.scrollWidth <= nav.clientWidth")


def test_the_api_docs_lead_back_to_the_app(page, transactional_db, alice):
    login(page, "alice", "pw-alice")
    page.goto("/api/v1/docs/")

    page.locator("#back-to-app").click()

    page.wait_for_url(lambda url: "/api/" not in url)
    expect(page.locator("nav.navbar")).to_be_visible()
