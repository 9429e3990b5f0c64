"""Issue 15's campaign in the browser: a marketer builds a newsletter to a segment, sees who would be
left out and why, schedules it; the beat starts it and a real worker writes its chunks; each customer's
message is due at their own local time; the dispatcher delivers them to the local outbox; a tracked
link is followed; the results page counts the send and the click."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from contact_plans.campaigns.tasks import campaigns_start_due_task
from contact_plans.models import Campaign, CampaignRun, LinkClick, LocalDelivery, Message
from contact_plans.tasks import messages_dispatch_task
from tests.browser import login
from tests.contact_plans.campaign_helpers import newsletter_template, segment_of
from tests.contact_plans.factories import consenting_customer
from tests.customers.factories import CustomerFactory

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.postgres]


def wait_for(predicate, *, seconds: float = 45):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def test_a_marketer_sends_a_newsletter_and_reads_its_results(page, live_server, marta, celery_worker, settings):
    settings.EMAIL_BACKEND = "contact_plans.messaging.channels.local.LocalOutboxEmailBackend"
    settings.PUBLIC_BASE_URL = live_server.url
    settings.MESSAGING_QUIET_START = settings.MESSAGING_QUIET_END = 0
    settings.TIME_ZONE = "UTC"
    jakarta = consenting_customer(name="Dewi Lestari", language="id", time_zone="Asia/Jakarta")
    madrid = consenting_customer(name="Jordi Puig", language="ca", time_zone="Europe/Madrid")
    silent = CustomerFactory(name="Nadia Hassan")  # no marketing consent
    segment_of(jakarta, madrid, silent, name="Newsletter readers")
    # A page of "the shop": the same test server under another host name, since links to the CRM's
    # own pages (PUBLIC_BASE_URL) are never tracked.
    link = f"{live_server.url.replace('localhost', '127.0.0.1')}/healthz"
    newsletter_template(
        name="Spring newsletter",
        contents={
            "en": {"subject": "Spring news", "html": f'<p>Read <a href="{link}">the news</a>.</p>'},
            "ca": {"subject": "Notícies de primavera", "html": f'<p>Llegiu <a href="{link}">les notícies</a>.</p>'},
        },
    )
    # A few minutes from now in UTC: already past in Jakarta and Madrid, so both are due at once.
    at = datetime.now(UTC) + timedelta(minutes=5)
    login(page, "marta", "pw-marta")

    page.goto("/campaigns/new/")
    page.get_by_label("Name").fill("Spring newsletter")
    page.get_by_label("Message template").select_option(label="Spring newsletter")
    page.get_by_label("Segment").select_option(label="Newsletter readers")
    page.get_by_label("Send on").fill(at.date().isoformat())
    page.get_by_label("Local time").fill(at.strftime("%H:%M"))
    page.get_by_label("Control group (%)").fill("0")
    page.get_by_role("button", name="Save as draft").click()

    expect(page.locator("#audience-members")).to_have_text("3")
    expect(page.locator("#audience-to-send")).to_have_text("2")
    expect(page.locator("#left-out")).to_contain_text("No marketing consent")
    expect(page.locator("#left-out")).to_contain_text("Nadia Hassan")
    expect(page.locator("#message-preview")).to_contain_text("Notícies de primavera")
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_role("alert")).to_contain_text("Campaign scheduled.")

    campaign = Campaign.objects.get(name="Spring newsletter")
    campaigns_start_due_task.delay()
    wait_for(lambda: CampaignRun.objects.filter(campaign=campaign, state="queued").exists())
    messages = {m.customer_id: m for m in Message.objects.filter(source_key__startswith="campaign:")}
    assert messages[silent.pk].state == "suppressed" and messages[silent.pk].reason == "no_consent"
    assert messages[madrid.pk].subject == "Notícies de primavera"
    messages_dispatch_task.delay()
    delivery = wait_for(lambda: LocalDelivery.objects.filter(recipient=madrid.email).first())

    tracked = delivery.html.split('href="', 1)[1].split('"', 1)[0]
    assert "/r/" in tracked
    page.goto(tracked)
    assert page.url.endswith("/healthz")
    assert LinkClick.objects.get().customer_id == madrid.pk

    page.goto(f"/campaigns/{campaign.pk}/results/")
    table = page.locator("#results-table")
    expect(table).to_contain_text("Clicked a link")
    expect(table.locator("tr", has_text="Clicked a link")).to_contain_text("1")
    expect(table.locator("tr", has_text="No marketing consent")).to_contain_text("1")
