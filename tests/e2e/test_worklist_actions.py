"""The worklist's row actions in a real browser: a validation error keeps the form open in the row;
without JavaScript the same links open a page of their own and come back to the list."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from contact_plans.models import FollowUp, WorklistSnooze
from tests.browser import login
from tests.contact_plans.worklist_helpers import book_customer, metrics_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ann(alice):
    customer = book_customer(alice, name="Ann Risky")
    metrics_for(customer, churn_risk=0.8, previous=0.4, value="high")
    return customer


def test_a_followup_in_the_past_keeps_the_form_open_in_the_row_with_its_error(page, alice, ann):
    yesterday = timezone.localdate() - timedelta(days=1)
    login(page, "alice", "pw-alice")
    page.goto("/my-book/")
    row = page.locator("tr", has_text="Ann Risky")

    row.get_by_role("link", name="Follow up").click()
    row.get_by_label("Due on").fill(yesterday.isoformat())
    row.get_by_label("Note").fill("Send the quote")
    row.get_by_role("button", name="Schedule").click()

    expect(row).to_contain_text("Choose today or a later day.")
    expect(row.get_by_label("Due on")).to_be_focused()
    expect(row.get_by_label("Note")).to_have_value("Send the quote")
    row.get_by_label("Due on").fill((yesterday + timedelta(days=3)).isoformat())
    row.get_by_role("button", name="Schedule").click()
    expect(row).to_contain_text("Follow-up scheduled for")
    assert FollowUp.objects.get().note == "Send the quote"


def test_without_javascript_a_row_action_is_a_page_that_comes_back_to_the_list(browser, live_server, alice, ann):
    context = browser.new_context(base_url=live_server.url, locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    login(page, "alice", "pw-alice")
    page.goto("/my-book/?value=high")

    page.locator("tr", has_text="Ann Risky").get_by_role("link", name="Snooze").click()
    expect(page.get_by_role("heading", name="Snooze")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Ann Risky")
    page.get_by_label("Until").fill((timezone.localdate() + timedelta(days=7)).isoformat())
    page.get_by_label("Reason").fill("On holiday")
    page.get_by_role("button", name="Snooze").click()

    page.wait_for_url("**/my-book/?value=high")
    expect(page.get_by_role("alert")).to_contain_text("Snoozed until")
    expect(page.locator("main table")).not_to_contain_text("Ann Risky")
    assert WorklistSnooze.objects.get().reason == "On holiday"
    context.close()
