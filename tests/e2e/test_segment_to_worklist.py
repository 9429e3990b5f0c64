"""A marketer builds a rule segment with the live preview; its customer tops the account manager's
worklist, where the manager opens a row's action forms and logs a call without leaving the list."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from customers.models import Interaction
from tests.browser import login
from tests.customers.factories import CustomerFactory
from tests.segmentation.segment_factories import metrics

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_segment_built_in_the_browser_finds_a_customer_on_the_account_managers_worklist(page, marta, alice):
    today = timezone.localdate()
    ann = CustomerFactory(name="Ann Risky", country="GB", account_manager=alice)
    metrics(
        ann, churn_risk=0.9, previous_churn_risk=0.3, risk_level="high", value_level="high", recency_days=142,
        usual_interval_days=30, purchases=6, last_purchase=today - timedelta(days=142), net_revenue=900,
    )  # fmt: skip
    calm = CustomerFactory(name="Cal Calm", country="GB", account_manager=alice)
    metrics(calm, churn_risk=0.1, risk_level="low", value_level="low", recency_days=5, purchases=3)
    login(page, "marta", "pw-marta")

    page.goto("/segments/new/")
    page.fill("input[name=name]", "High risk in GB")
    page.select_option("select[name='r-0.field']", "metrics.churn_risk")
    page.locator("select[name='r-0.operator']").select_option("gte")
    page.wait_for_load_state("networkidle")
    page.fill("input[name='r-0.value']", "0.7")
    expect(page.locator("#preview-count")).to_have_attribute("data-count", "1")
    expect(page.locator("#preview-sample")).to_contain_text("Ann Risky")
    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_role("heading", name="High risk in GB")).to_be_visible()

    page.context.clear_cookies()
    login(page, "alice", "pw-alice")
    page.goto("/my-book/")

    first_row = page.locator(".worklist-reasons").first
    expect(first_row).to_contain_text("No purchase for 142 days; usually buys every 30 days.")
    expect(page.locator("main")).to_contain_text("Ann Risky")

    row = page.locator("tr", has_text="Ann Risky")
    row.get_by_role("link", name="Follow up").click()
    expect(row.get_by_label("Due on")).to_be_focused()
    row.get_by_role("link", name="Cancel").click()
    expect(row.locator("form")).to_have_count(0)

    row.get_by_role("link", name="Log a call").click()
    row.get_by_label("Kind").select_option("call")
    row.get_by_label("Subject").fill("Asked about the spring order")
    row.get_by_role("button", name="Log it").click()

    expect(row).to_contain_text("Logged: Asked about the spring order")
    expect(row.locator("form")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/my-book/$"))  # the list stayed: the row was swapped in place
    assert Interaction.objects.filter(customer=ann, kind="call", subject="Asked about the spring order").exists()
