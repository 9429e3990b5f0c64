"""My book as issue 13 asked, in a real browser: logging a call from a row updates the row (last
contact, lower priority, its reason) without leaving the list; a preset snoozes in one click and
says so once; at 390 px the worklist and the customer list fit the screen with the actions visible."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from contact_plans.models import WorklistSnooze
from customers.models import Interaction
from tests.browser import login, wait_for_htmx
from tests.contact_plans.worklist_helpers import book_customer, metrics_for
from tests.customers.factories import OrderFactory, order_add_line

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def book(alice):
    ann = book_customer(alice, name="Ann Risky", company="Risky Trading Company International Sdn Bhd")
    metrics_for(ann, churn_risk=0.8, previous=0.4, value="high")
    ben = book_customer(alice, name="Ben Steady")
    # 3 x 0.7 = 2.1: below Ann (3 x (0.8 + 0.5 rising) = 3.9), above her once she was called (1.95).
    metrics_for(ben, churn_risk=0.7, value="high")
    return {"ann": ann, "ben": ben}


def page_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_logging_a_call_from_the_row_updates_it_in_place(page, alice, book):
    login(page, "alice", "pw-alice")
    page.goto("/my-book/")
    row = page.locator("tr", has_text="Ann Risky")
    expect(row).to_contain_text("No call or meeting logged")

    row.get_by_role("link", name="Log a call").click()
    wait_for_htmx(page)
    row.get_by_label("Outcome").select_option("no_answer")
    row.get_by_label("Subject").fill("Renewal")
    row.get_by_label("Notes").fill("Try again on Monday")
    row.get_by_role("button", name="Log it").click()
    wait_for_htmx(page)

    expect(row).to_contain_text("Logged: Renewal")
    expect(row).to_contain_text("No answer")
    expect(row).to_contain_text("Called today by Alice: lower priority until")
    interaction = Interaction.objects.get()
    assert (interaction.outcome, interaction.body) == ("no_answer", "Try again on Monday")
    page.reload()
    first = page.locator("table.worklist tbody tr").first
    expect(first).to_contain_text("Ben Steady")


def test_a_snooze_preset_snoozes_in_one_click_and_says_it_once(page, alice, book):
    login(page, "alice", "pw-alice")
    page.goto("/my-book/")
    row = page.locator("tr", has_text="Ann Risky")

    row.get_by_role("link", name="Snooze").click()
    wait_for_htmx(page)  # the form settled: a click during htmx's settle can be lost
    row.get_by_label("Reason").fill("On holiday")
    row.get_by_role("button", name="Next week").click()
    wait_for_htmx(page)

    expect(row).to_contain_text("Snoozed until")
    expect(row).to_contain_text("On holiday")
    expect(row.get_by_text("Snoozed until")).to_have_count(1)
    assert WorklistSnooze.objects.get().until == timezone.localdate() + timedelta(days=7)


def test_on_a_phone_the_worklist_fits_and_its_actions_are_visible(browser, live_server, alice, book):
    context = browser.new_context(base_url=live_server.url, locale="en-GB", viewport=PHONE)
    page = context.new_page()
    login(page, "alice", "pw-alice")

    page.goto("/my-book/")

    assert page_overflow(page) <= 0
    row = page.locator("tr", has_text="Ann Risky")
    for action in ("Log a call", "Follow up", "Snooze"):
        link = row.get_by_role("link", name=action)
        link.scroll_into_view_if_needed()
        expect(link).to_be_in_viewport(ratio=0.9)
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], action
    row.get_by_role("link", name="Log a call").click()
    expect(row.get_by_label("Subject")).to_be_visible()
    assert page_overflow(page) <= 0
    context.close()


def test_on_a_phone_the_customer_list_and_the_followups_fit(browser, live_server, alice, ada, book):
    # A customer page with orders: its table scrolls sideways, its hidden labels must not widen the page.
    order_add_line(OrderFactory(customer=book["ann"], external_id="ORDER-WITH-A-LONG-NUMBER-0001"), unit_price="12")
    context = browser.new_context(base_url=live_server.url, locale="en-GB", viewport=PHONE)
    page = context.new_page()
    login(page, "ada", "pw-ada")

    for path in ("/customers/", "/follow-ups/", f"/customers/{book['ann'].pk}/"):
        page.goto(path)
        assert page_overflow(page) <= 0, path
    page.goto("/customers/")
    link = page.get_by_role("link", name="Ann Risky")
    expect(link).to_be_visible()
    box = link.bounding_box()
    assert box["x"] + box["width"] <= PHONE["width"]
    context.close()
