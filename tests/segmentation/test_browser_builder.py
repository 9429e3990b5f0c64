"""A marketer builds a segment in a real browser: htmx swaps the inputs, the preview counts live."""

import pytest
from playwright.sync_api import expect

from segmentation.models import Segment
from tests.browser import login, wait_for_htmx
from tests.customers.factories import CustomerFactory

from .segment_factories import metrics

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_marketer_builds_a_segment_with_live_preview(page, marta):
    for name, risk, country in (("Ann", 0.9, "GB"), ("Ben", 0.8, "FR"), ("Cat", 0.1, "GB")):
        metrics(CustomerFactory(name=name, country=country), churn_risk=risk)
    login(page, "marta", "pw-marta")

    page.goto("/segments/new/")
    page.fill("input[name=name]", "Risky Brits")
    page.select_option("select[name='r-0.field']", "metrics.churn_risk")
    operator = page.locator("select[name='r-0.operator']")
    expect(operator).to_be_visible()
    operator.select_option("gte")
    wait_for_htmx(page)  # the tree is drawn again for the new operator
    page.fill("input[name='r-0.value']", "0.7")
    expect(page.locator("#preview-count")).to_have_attribute("data-count", "2")

    page.get_by_role("button", name="Add condition").click()
    expect(page.locator("select[name='r-1.field']")).to_be_visible()
    wait_for_htmx(page)
    page.select_option("select[name='r-1.field']", "customer.country")
    expect(page.locator("input[name='r-1.value']")).to_be_visible()
    wait_for_htmx(page)
    page.fill("input[name='r-1.value']", "GB")
    expect(page.locator("#preview-count")).to_have_attribute("data-count", "1")
    expect(page.locator("#preview-sample")).to_contain_text("Ann")

    page.fill("input[name='r-0.value']", "0.95")
    expect(page.locator("#preview")).to_contain_text("Matches nobody")
    page.fill("input[name='r-0.value']", "")
    expect(page.locator("#preview")).to_contain_text("Enter a value.")

    page.fill("input[name='r-0.value']", "0.7")
    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_role("heading", name="Risky Brits")).to_be_visible()
    expect(page.locator("#definition-words")).to_contain_text("Churn risk is at least 0.7 and Country is GB")
    assert Segment.objects.get(name="Risky Brits").definition["rules"][1]["value"] == "GB"
