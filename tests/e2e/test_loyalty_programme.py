"""Issue 16's browser test: a marketer sets a tier, a reward, an earning rule and the referral
reward in the browser; an order placed through the API earns the points; the standing page opened
from the email in the outbox shows them and redeems the reward; the member's referral link, followed
by a friend, leads to a referral recorded through the API and rewarded once the friend's first
purchase stood unrefunded."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from contact_plans.models import Message
from loyalty import referrals
from loyalty.models import LedgerEntry, Member
from tests.browser import login
from tests.conftest import api_client_for
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def public_links(settings, live_server):
    settings.PUBLIC_BASE_URL = live_server.url


def _standing_path(message: Message) -> str:
    link = re.search(r"https?://\S+?(/loyalty/s/[^\s/]+/)", message.text)
    assert link, message.text
    return link.group(1)


def test_marketer_sets_the_programme_an_api_order_earns_and_the_member_redeems_and_refers(
    page, live_server, marta, ada, public_links
):
    login(page, "marta", "pw-marta")

    # The programme, in the browser: a tier, a reward, 2 points per unit, 150 points per referral.
    page.goto("/loyalty/tiers/new/")
    page.get_by_label("Name").fill("Silver")
    page.get_by_label("Threshold").fill("100")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("cell", name="Silver")).to_be_visible()

    page.goto("/loyalty/rewards/new/")
    page.get_by_label("Name").fill("Tote bag")
    page.get_by_label("Points").fill("100")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name="Tote bag")).to_be_visible()

    page.goto("/loyalty/rules/new/")
    page.get_by_label("Kind").select_option(label="Points per currency unit")
    page.get_by_label("Name").fill("Two points per unit")
    page.get_by_label("Value").fill("2")
    page.get_by_label("In force from").fill((datetime.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name="Two points per unit")).to_be_visible()

    page.goto("/loyalty/settings/")
    page.get_by_label("Points for the referrer").fill("150")
    page.get_by_label("Days a first purchase must stand unrefunded").fill("14")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").first).to_contain_text("saved")
    expect(page.get_by_text("0 → 150")).to_be_visible()

    # A member; an order through the API earns 2 x 60 = 120 points (and the Silver tier).
    customer = CustomerFactory(external_id="LOY-1", name="Siti Aminah", email="siti@example.com")
    api = api_client_for(ada)
    assert api.post("/api/v1/loyalty/members/", {"customer_id": customer.pk}, format="json").status_code == 201
    order = api.post(
        "/api/v1/orders/",
        {
            "external_id": "WEB-1",
            "customer": "LOY-1",
            "ordered_at": datetime.now(UTC).isoformat(),
            "lines": [{"sku": "TEA-1", "name": "Tea", "quantity": 3, "unit_price": "20.00"}],
        },
        format="json",
    )
    assert order.status_code == 201, order.content
    earned = Message.objects.get(customer=customer, source_key="loyalty.earned.WEB-1")

    # The standing page, from the email: the points, the tier, the reward redeemed.
    standing = browser_page = page.context.browser.new_context(base_url=live_server.url).new_page()
    standing.goto(_standing_path(earned))
    expect(standing.get_by_test_id("standing-points")).to_have_text("120")
    expect(standing.get_by_text("Silver").first).to_be_visible()
    standing.get_by_role("button", name="Redeem").click()
    expect(standing.get_by_test_id("reward-code")).to_have_text(re.compile(r"^[2-9A-Z]{5}-[2-9A-Z]{5}$"))
    expect(standing.get_by_test_id("standing-points")).to_have_text("20")

    # The referral link, followed by a friend: the code to give in the shop.
    link = standing.get_by_test_id("referral-link").input_value()
    friend = page.context.browser.new_context().new_page()
    friend.goto(link)
    code = friend.get_by_test_id("referral-code").inner_text()
    assert code == referrals.referral_code_get(customer=customer).code

    # The shop creates the friend and records the code; their first purchase, 15 days old, stands.
    created = api.post(
        "/api/v1/customers/",
        {"external_id": "LOY-2", "name": "Budi Santoso", "email": "budi@example.com"},
        format="json",
    )
    assert created.status_code == 201, created.content
    recorded = api.post("/api/v1/loyalty/referrals/", {"customer_id": created.data["id"], "code": code}, format="json")
    assert recorded.status_code == 201, recorded.content
    first = api.post(
        "/api/v1/orders/",
        {
            "external_id": "WEB-2",
            "customer": "LOY-2",
            "ordered_at": (datetime.now(UTC) - timedelta(days=15)).isoformat(),
            "lines": [{"sku": "TEA-1", "name": "Tea", "quantity": 1, "unit_price": "20.00"}],
        },
        format="json",
    )
    assert first.status_code == 201, first.content
    assert referrals.referrals_reward() == 1
    assert referrals.referrals_reward() == 0

    standing.reload()  # the page after redeeming: a reload redeems nothing more
    expect(standing.get_by_test_id("standing-points")).to_have_text("170")
    expect(standing.get_by_text("1 rewarded, 150 points")).to_be_visible()
    assert LedgerEntry.objects.get(source="referral").key == f"referrer:{created.data['id']}"
    assert Member.objects.get(pk=customer.pk).points == 170
    browser_page.context.close()
    friend.context.close()
