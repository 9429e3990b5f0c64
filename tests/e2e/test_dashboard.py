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
