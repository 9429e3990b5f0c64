"""The local outbox (administrators) and the "Messages" card of the customer page."""

import re

import pytest

from contact_plans.messaging import dispatch
from contact_plans.messaging.outbox import message_enqueue
from contact_plans.models import LocalDelivery
from tests.clients import client_for
from tests.contact_plans.factories import MessageFactory, consenting_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(settings):
    settings.EMAIL_BACKEND = "contact_plans.messaging.channels.local.LocalOutboxEmailBackend"
    settings.SMS_BACKEND = "contact_plans.messaging.channels.local.LocalOutboxSmsBackend"
    settings.MESSAGING_QUIET_START = settings.MESSAGING_QUIET_END = 0
    customer = consenting_customer(phone="+447911123456")
    email = message_enqueue(
        customer=customer, channel="email", purpose="promotional", source_key="a", subject="Spring offer",
        html='<p>Hello <a href="https://shop.example.com/">shop</a></p><script>alert(1)</script>', text="Hello",
    )  # fmt: skip
    sms = message_enqueue(customer=customer, channel="sms", purpose="transactional", source_key="b", text="Thanks!")
    dispatch.messages_send_batch(message_ids=[email.pk, sms.pk])
    return customer


def test_an_administrator_sees_each_message_as_the_customer_would(ada, delivered):
    page = client_for(ada).get("/messaging/outbox/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "Spring offer" in html and "Thanks!" in html
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in html
    assert "List-Unsubscribe" in html
    assert "<script>alert" not in html


def test_the_html_is_served_sandboxed_with_no_script_allowed(ada, delivered):
    email = LocalDelivery.objects.get(channel="email")

    body = client_for(ada).get(f"/messaging/outbox/{email.pk}/body/")

    csp = body["Content-Security-Policy"]
    assert csp.startswith("sandbox ") and "default-src 'none'" in csp and "script-src" not in csp
    assert body["X-Frame-Options"] == "SAMEORIGIN"
    # The link is there, through the click-recording redirect (links.py), which leads to it.
    assert re.search(r'<a href="http://[^"]+/r/[^"]+/">shop</a>', body.content.decode())


def test_others_do_not_see_the_local_outbox(alice, marta, charlie, delivered):
    email = LocalDelivery.objects.get(channel="email")
    for user in (alice, marta, charlie):
        assert client_for(user).get("/messaging/outbox/").status_code == 404
        assert client_for(user).get(f"/messaging/outbox/{email.pk}/body/").status_code == 404


def test_the_customer_page_shows_messages_and_their_state(ada):
    customer = consenting_customer()
    MessageFactory(customer=customer, subject="Order thanks")
    MessageFactory(customer=customer, subject="Offer", state="suppressed", reason="frequency_cap")

    html = client_for(ada).get(customer.get_absolute_url()).content.decode()

    assert 'id="customer-messages"' in html
    assert "Order thanks" in html and "Frequency cap reached" in html
