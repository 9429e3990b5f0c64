"""A marketer opens the dashboard in a real browser: the Chart.js charts draw and the heat maps show."""

import pytest
from playwright.sync_api import expect

from tests.browser import login
from tests.metrics.snapshots import snapshots_create

pytestmark = pytest.mark.e2e

CANVASES = ("timeseries", "pareto", "clv_distribution", "rfm")


def test_marketer_sees_the_charts_drawn(page, transactional_db, marta):
    snapshots_create()
    login(page, "marta", "pw-marta")

    page.goto("/metrics/")

    expect(page.get_by_role("heading", name="Retention dashboard")).to_be_visible()
    for kind in CANVASES:
        canvas = page.locator(f"#chart-{kind}")
        expect(canvas).to_have_attribute("data-rendered", "true")
        drawn = canvas.evaluate("c => Boolean(window.Chart.getChart(c)) && c.width > 0 && c.height > 0")
        assert drawn, f"the {kind} chart was not drawn"
    heatmap = page.locator("table.cohort-heatmap")
    expect(heatmap).to_be_visible()
    expect(heatmap.locator("tbody tr")).to_have_count(3)
    expect(page.locator("table.value-risk-matrix td[data-value-level=high][data-risk-level=high]")).to_contain_text(
        "17"
    )
    expect(page.locator(".metric-tile")).to_have_count(8)


def test_marketer_starts_the_first_recompute_from_the_empty_dashboard(page, transactional_db, marta):
    login(page, "marta", "pw-marta")
    page.goto("/metrics/")
    expect(page.get_by_text("No figures yet")).to_be_visible()

    page.get_by_role("button", name="Recompute now").click()

    expect(page.locator("#recompute [role=progressbar]")).to_be_visible()


def test_marketer_picks_a_quarter_sees_every_tile_follow_and_opens_a_value_risk_cell(page, transactional_db, marta):
    from tests.customers.factories import CustomerFactory
    from tests.metrics.factories import CustomerMetricsFactory

    snapshots_create()
    customer = CustomerFactory(name="Ana Aguilar")
    CustomerMetricsFactory(customer=customer, value_level="high", risk_level="high", predicted_clv="900.00")
    login(page, "marta", "pw-marta")
    page.goto("/metrics/")
    # The running month of each cohort is hatched (September's, k = 3, is past the columns shown),
    # and the legend says why.
    expect(page.locator("table.cohort-heatmap td.cohort-partial")).to_have_count(2)
    expect(page.locator("#cohort-partial-legend")).to_be_visible()

    page.get_by_label("Period").select_option("2011-Q3")
    page.get_by_role("button", name="Apply").click()

    expect(page.locator("#period-heading")).to_contain_text("Q3 2011")
    expect(page.locator("#period-heading")).to_contain_text("compared with Q2 2011")
    expect(page.locator(".metric-tile[data-metric='Retention rate']")).to_contain_text("70.0%")
    expect(page.locator(".metric-tile[data-metric='Total historical CLV']")).to_contain_text("6,000,000")
    expect(page.get_by_text("at the end of")).to_have_count(0)

    protect = page.locator("table.value-risk-matrix td[data-value-level=high][data-risk-level=high]")
    expect(protect).to_have_class("value-risk-protect p-0")
    protect.get_by_role("link").click()

    expect(page.get_by_role("heading", name="High value · High risk")).to_be_visible()
    expect(page.locator("table.cell-customers")).to_contain_text("Ana Aguilar")
