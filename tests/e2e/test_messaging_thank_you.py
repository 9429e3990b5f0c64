"""Issue 14's browser test: an administrator edits the order thank-you, previews it for a Catalan
customer, an order placed through the API produces the thank-you through the real worker, it is in
the local outbox, and its unsubscribe link works with a one-click POST and with the GET page."""

import time
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from contact_plans.messaging.ready_made import ready_made_install
from contact_plans.models import ContactPreference, LocalDelivery, Message, MessageTemplate, MessageTemplateContent
from contact_plans.tasks import messages_dispatch_task
from tests.browser import login
from tests.conftest import api_client_for
from tests.customers.factories import CustomerFactory

pytestmark = [pytest.mark.e2e, pytest.mark.worker]


def wait_for(predicate, *, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


@pytest.fixture
def messaging(settings, live_server):
    settings.EMAIL_BACKEND = "contact_plans.messaging.channels.local.LocalOutboxEmailBackend"
    settings.PUBLIC_BASE_URL = live_server.url
    settings.MESSAGING_QUIET_START = settings.MESSAGING_QUIET_END = 0  # never quiet: the test may run at night
    ready_made_install(MessageTemplate, MessageTemplateContent)  # the flush of committed tests removed them


def test_admin_edits_previews_in_catalan_and_an_api_order_sends_the_thank_you(
    page, live_server, ada, celery_worker, messaging
):
    customer = CustomerFactory(external_id="CAT-1", name="Montserrat Ribas", email="montse@example.cat", language="ca")
    template = MessageTemplate.objects.get(key="order-thank-you")
    login(page, "ada", "pw-ada")

    # Edit: the Catalan subject.
    page.goto("/messages/templates/")
    page.get_by_role("link", name="Order thank-you").click()
    page.get_by_role("tab", name="Català").click()
    page.get_by_label("Subject (Català)").fill(
        "Moltes gràcies per la comanda {{ order.number }}, {{ customer.first_name }}"
    )
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_role("alert")).to_contain_text("Template saved.")

    # A broken edit is refused, naming the language and the line, and changes nothing.
    page.get_by_role("tab", name="Català").click()
    page.get_by_label("HTML body (Català)").fill("<p>Hola</p>\n{{ customer.__class__ }}")
    page.get_by_role("button", name="Save template").click()
    expect(page.locator("#form-errors")).to_contain_text("Català, HTML body: Line 2:")
    assert "Hola, {{ customer.first_name }}" in template.contents.get(language="ca").html

    # Preview for the customer, in Catalan.
    page.goto(f"/messages/templates/{template.pk}/preview/")
    page.get_by_label("Find a customer").fill("Montserrat")
    page.get_by_label("Find a customer").press("Enter")
    page.get_by_label("Customer", exact=True).select_option(label="Montserrat Ribas · Català")
    page.get_by_role("link", name="Català").click()
    expect(page.locator("#preview-subject")).to_have_text("Moltes gràcies per la comanda , Montserrat")
    frame = page.frame_locator("iframe[title='The email as the customer sees it']")
    expect(frame.locator("body")).to_contain_text("Hola, Montserrat:")

    # An order through the API: order.placed, the task on the real worker, a message in the outbox.
    response = api_client_for(ada).post(
        "/api/v1/orders/",
        {
            "external_id": "WEB-77",
            "customer": "CAT-1",
            "ordered_at": datetime.now(UTC).isoformat(),
            "lines": [{"sku": "OLI-1", "name": "Oli d'oliva", "quantity": 2, "unit_price": "12.50"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    message = wait_for(lambda: Message.objects.filter(source_key=f"order-thank-you:{response.data['id']}").first())
    assert (message.language, message.purpose) == ("ca", "transactional")
    messages_dispatch_task.delay()
    delivery = wait_for(lambda: LocalDelivery.objects.filter(recipient="montse@example.cat").first())
    assert delivery.subject == "Moltes gràcies per la comanda WEB-77, Montserrat"

    # In the local outbox, as the customer sees it.
    page.goto("/messaging/outbox/")
    card = page.locator(f"#delivery-{delivery.pk}")
    expect(card).to_contain_text("Moltes gràcies per la comanda WEB-77, Montserrat")
    body = card.frame_locator("iframe")
    expect(body.locator("body")).to_contain_text("Import total: 25,00")
    unsubscribe = body.get_by_role("link", name="doneu-vos de baixa").get_attribute("href")
    assert unsubscribe.startswith(f"{live_server.url}/m/u/")

    # The GET page asks (in Catalan) and changes nothing; the one-click POST unsubscribes.
    page.goto(unsubscribe)
    expect(page.locator("html")).to_have_attribute("lang", "ca")
    expect(page.locator("main")).to_contain_text("Montserrat")
    assert not ContactPreference.objects.filter(customer=customer).exists()
    posted = page.request.post(unsubscribe, form={"List-Unsubscribe": "One-Click"})
    assert posted.status == 200
    assert ContactPreference.objects.get(customer=customer, channel="email", topic="").subscribed is False

    # The preference centre on the same page saves from a real browser (its form's POST passes the
    # CSRF check: the page's referrer policy keeps the origin on same-site requests).
    page.goto(unsubscribe)
    preferences = page.locator("form[action*='/preferences/']")
    preferences.locator("input[value='email:']").check()
    with page.expect_response(lambda response: "/preferences/" in response.url) as answer:
        preferences.locator("button[type=submit]").click()
    assert answer.value.status == 200
    assert ContactPreference.objects.get(customer=customer, channel="email", topic="").subscribed is True
