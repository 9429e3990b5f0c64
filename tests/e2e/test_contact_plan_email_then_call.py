"""Issue 15's browser test: a marketer builds a two-step plan in the browser (an email, then a call
task), an order placed through the API enrols the customer (the real worker runs the trigger and the
steps), the email is in the local outbox, the call is on the account manager's worklist, she
completes it with an outcome, and all of it is on the customer's page: the timeline and the plan."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from contact_plans.messaging.ready_made import ready_made_install
from contact_plans.models import (
    ContactPlan,
    Enrolment,
    FollowUp,
    LocalDelivery,
    Message,
    MessageTemplate,
    MessageTemplateContent,
)
from contact_plans.plans.tasks import plans_steps_dispatch_task
from contact_plans.tasks import messages_dispatch_task
from tests.browser import login
from tests.conftest import api_client_for
from tests.contact_plans.worklist_helpers import book_customer

from .test_messaging_thank_you import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.worker]


@pytest.fixture
def messaging(settings, live_server):
    settings.EMAIL_BACKEND = "contact_plans.messaging.channels.local.LocalOutboxEmailBackend"
    settings.PUBLIC_BASE_URL = live_server.url
    settings.MESSAGING_QUIET_START = settings.MESSAGING_QUIET_END = 0  # never quiet: the test may run at night
    ready_made_install(MessageTemplate, MessageTemplateContent)  # the flush of committed tests removed them


def test_a_marketer_builds_email_then_call_and_an_api_order_runs_it_to_the_timeline(
    page, browser, live_server, marta, alice, ada, celery_worker, messaging
):
    customer = book_customer(
        alice,
        external_id="PLAN-1",
        name="Teresa Soler",
        email="teresa@example.com",
        marketing_consent=True,
        consent_at=timezone.now(),
        consent_source="web_form",
    )

    # The marketer builds the plan: an email, then a call for the account manager.
    login(page, "marta", "pw-marta")
    page.goto("/plans/new/")
    page.get_by_label("Name").fill("After every order")
    page.get_by_label("Enrols customers on").select_option("every_purchase")
    page.get_by_label("Control group (%)").fill("0")
    page.get_by_role("button", name="Email").click()
    page.get_by_label("Template").select_option(label="Check-in between purchases (Promotional)")
    page.get_by_role("button", name="Task for the account manager").click()
    page.get_by_label("Task", exact=True).select_option("call")
    page.get_by_label("Due within (days)").fill("0")
    page.get_by_label("What to do").fill("Ask how the first weeks went")
    page.get_by_label("Not interested").select_option("end")
    page.get_by_role("button", name="Save the plan").click()
    expect(page.get_by_role("alert")).to_contain_text("The plan “After every order” is saved.")
    plan = ContactPlan.objects.get(name="After every order")
    expect(page.locator("#step-results")).to_contain_text("Check-in between purchases")

    # An order through the API enrols the customer; the worker runs the first step.
    response = api_client_for(ada).post(
        "/api/v1/orders/",
        {
            "external_id": "WEB-15",
            "customer": "PLAN-1",
            "ordered_at": datetime.now(UTC).isoformat(),
            "lines": [{"sku": "TEA-1", "name": "Green tea", "quantity": 1, "unit_price": "9.00"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    enrolment = wait_for(lambda: Enrolment.objects.filter(plan=plan, customer=customer).first())
    message = wait_for(lambda: Message.objects.filter(source_key__startswith=f"plan:{plan.pk}:").first())
    assert (message.customer_id, message.purpose) == (customer.pk, "promotional")

    # The email goes out, into the local outbox.
    messages_dispatch_task.delay()
    delivery = wait_for(
        lambda: LocalDelivery.objects.filter(recipient="teresa@example.com", subject__startswith="How is").first()
    )
    assert delivery.subject == "How is everything going, Teresa?"

    # The call: the next beat of the steps puts it on Alice's worklist.
    plans_steps_dispatch_task.delay()
    task = wait_for(lambda: FollowUp.objects.filter(plan=plan, customer=customer).first())
    assert task.assigned_to == alice

    manager = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    login(manager, "alice", "pw-alice")
    manager.goto("/my-book/")
    expect(manager.get_by_text("Task of the plan “After every order”: Call, due")).to_be_visible()
    manager.goto("/follow-ups/")
    row = manager.locator(f"#followup-due-{task.pk}")
    expect(row).to_contain_text("plan “After every order”")
    expect(row).to_contain_text("Ask how the first weeks went")
    row.get_by_label("Outcome").select_option("meeting_booked")
    row.get_by_role("button", name="Done").click()
    expect(manager.get_by_role("alert")).to_contain_text("Follow-up with Teresa Soler done.")

    # All of it on the customer's page: the call with its outcome, the plan, its email and its task.
    manager.goto(customer.get_absolute_url())
    expect(manager.locator("#timeline")).to_contain_text("Call (plan “After every order”): Meeting booked")
    card = manager.locator("#customer-plans")
    expect(card).to_contain_text("After every order")
    expect(card).to_contain_text("Check-in between purchases")
    expect(card).to_contain_text("done, Meeting booked")
    wait_for(lambda: Enrolment.objects.get(pk=enrolment.pk).state == "ended")
    manager.context.close()

    # The email as it sits in the local outbox (an administrator's page).
    admin = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    login(admin, "ada", "pw-ada")
    admin.goto("/messaging/outbox/")
    expect(admin.locator(f"#delivery-{delivery.pk}")).to_contain_text("How is everything going, Teresa?")
    admin.context.close()
