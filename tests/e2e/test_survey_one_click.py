"""Issue 17's browser test: a marketer builds an NPS survey from the template and activates it; it
is sent to a customer through the outbox; the one-click link of the email in the local outbox
opens the answer page with the score chosen; the customer answers; the marketer sees the answer,
its comment and the figure on the results page (and the account manager gets the task)."""

import re

import pytest
from playwright.sync_api import expect

from contact_plans.messaging import dispatch
from contact_plans.models import FollowUp, LocalDelivery, Message
from surveys import sending
from surveys.answers import survey_answers_process
from surveys.models import Response, Survey
from tests.browser import login
from tests.contact_plans.factories import consenting_customer

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def outbox(settings, live_server):
    settings.EMAIL_BACKEND = "contact_plans.messaging.channels.local.LocalOutboxEmailBackend"
    settings.PUBLIC_BASE_URL = live_server.url
    settings.MESSAGING_QUIET_START = settings.MESSAGING_QUIET_END = 0  # never quiet: the test may run at night


def test_a_one_click_answer_from_the_local_outbox_reaches_the_results(page, transactional_db, outbox, marta, alice):
    customer = consenting_customer(name="Montserrat Ribas", language="ca", account_manager=alice)
    login(page, "marta", "pw-marta")

    # Build: the NPS template, activated.
    page.goto("/surveys/")
    page.get_by_test_id("template-nps").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Net Promoter Score")
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_test_id("survey-status")).to_have_text("Active")
    survey = Survey.objects.get()

    # Send it to the customer, through the outbox and the dispatcher, into the local outbox.
    sending.survey_send(survey=survey, customer_ids=[customer.pk])
    message = Message.objects.get(customer=customer)
    dispatch.messages_send_batch(message_ids=[message.pk])
    email = LocalDelivery.objects.get(recipient=customer.email)
    assert "Amb quina probabilitat ens recomanaries" in email.html
    link = re.search(r'href="([^"]+)"[^>]*>3</a>', email.html).group(1)

    # The customer opens the link: the page in Catalan, the 3 chosen, nothing recorded yet.
    customer_page = page.context.browser.new_context(base_url=page.url).new_page()
    customer_page.goto(link)
    expect(customer_page.locator("#score-3")).to_be_checked()
    expect(customer_page.get_by_role("heading", level=1)).to_have_text("Hola, Montserrat")
    assert not Response.objects.exists()
    customer_page.get_by_label("Què podríem fer millor?").fill("El lliurament va arribar tard <script>x</script>")
    expect(customer_page.get_by_label("Què és el que més t'agrada de nosaltres?")).to_be_hidden()
    customer_page.get_by_test_id("survey-submit").click()
    expect(customer_page.get_by_test_id("survey-thanks")).to_be_visible()
    customer_page.context.close()

    # The marketer sees it on the results page.
    page.goto(f"/surveys/results/?survey={survey.pk}")
    expect(page.get_by_test_id("results-figure")).to_have_text("-100")
    expect(page.get_by_test_id("results-comments")).to_contain_text("El lliurament va arribar tard <script>x</script>")
    # What the beat does every minute: the answer's closed loop gives the account manager the task.
    assert not FollowUp.objects.filter(customer=customer).exists()
    assert survey_answers_process() == 1
    assert FollowUp.objects.get(customer=customer).assigned_to == alice
