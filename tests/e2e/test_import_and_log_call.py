"""An account manager imports a small CSV, watches it run in the worker, opens a customer, logs a call."""

import pytest
from playwright.sync_api import expect

from tests.browser import login

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

CSV = (
    "external_id,name,email,country,language\n"
    "E2E-1,Dewi Lestari,dewi@example.com,Indonesia,id\n"
    "E2E-2,Jordi Puig,jordi@example.org,Spain,ca\n"
    "E2E-2,Jordi Again,jordi2@example.org,Spain,ca\n"
    "E2E-3,,no-name@example.net,Malaysia,ms\n"
)


def test_account_manager_imports_csv_sees_report_and_logs_a_call(page, alice, celery_worker, tmp_path):
    upload = tmp_path / "customers.csv"
    upload.write_text(CSV, encoding="utf-8")
    login(page, "alice", "pw-alice")

    page.goto("/customers/imports/")
    page.select_option("select[name=format]", "customers")
    page.set_input_files("input[name=file]", str(upload))
    page.get_by_role("button", name="Upload and import").click()

    progress = page.locator("#import-progress")
    expect(progress.locator(".progress-bar")).to_be_visible()
    expect(progress.get_by_text("The import is finished.")).to_be_visible(timeout=30_000)
    counts = progress.locator(".import-counts")
    expect(counts).to_contain_text("4")  # rows read
    expect(page.get_by_role("table")).to_contain_text("appears more than once")
    expect(page.get_by_role("table")).to_contain_text("name is required")
    expect(page.get_by_role("link", name="Download report (CSV)")).to_be_visible()

    page.goto("/customers/?q=Dewi")
    page.get_by_role("link", name="Dewi Lestari").click()
    expect(page.get_by_role("heading", name="Dewi Lestari")).to_be_visible()
    page.get_by_role("button", name="Log a call, meeting or note").click()
    page.locator("#interaction-form label", has_text="Call").click()
    page.fill("#interaction-form input[name=subject]", "Checked in after the first order")
    page.fill("#interaction-form textarea[name=body]", "Happy so far; wants the spring catalogue.")
    page.click("#interaction-form button[type=submit]")

    expect(page.locator("#timeline")).to_contain_text("Checked in after the first order")
