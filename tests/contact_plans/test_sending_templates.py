"""Sending a template through the outbox, and the order thank-you: one message per order whatever
the retries, none for refunds, none when the template is switched off, none for imports."""

import pytest
from django.utils import timezone

from contact_plans.messaging.ready_made import ready_made_install
from contact_plans.messaging.sending import ORDER_THANK_YOU_KEY, order_thank_you_send, send_template
from contact_plans.models import Message, MessageTemplate, MessageTemplateContent
from customers.services import order_record
from tests.customers.factories import CustomerFactory, OrderFactory

from .factories import MessageTemplateFactory, consenting_customer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def ready_made_templates():
    # Committed tests start from a flushed database: the migration's templates are gone.
    ready_made_install(MessageTemplate, MessageTemplateContent)


def place_order(customer, external_id="WEB-1"):
    return order_record(
        external_id=external_id,
        customer=customer,
        ordered_at=timezone.now(),
        lines=[{"sku": "TEA-1", "name": "Green tea", "quantity": 2, "unit_price": "4.50"}],
    )


def test_an_order_placed_sends_the_ready_made_thank_you_in_the_customers_language():
    customer = CustomerFactory(name="Dewi Lestari", language="id", email="dewi@example.com")

    order = place_order(customer)

    message = Message.objects.get(source_key=f"{ORDER_THANK_YOU_KEY}:{order.pk}")
    assert message.language == "id"
    assert message.subject == "Terima kasih atas pesanan Anda WEB-1"
    assert "Dewi" in message.html and "£9,00" in message.html  # money in Indonesian
    assert (message.purpose, message.state) == ("transactional", "queued")


def test_a_retried_event_sends_one_thank_you():
    order = place_order(CustomerFactory())

    order_thank_you_send(order_id=order.pk)
    order_thank_you_send(order_id=order.pk)

    assert Message.objects.count() == 1


def test_an_inactive_thank_you_sends_nothing():
    MessageTemplate.objects.filter(key=ORDER_THANK_YOU_KEY).update(is_active=False)

    place_order(CustomerFactory())

    assert not Message.objects.exists()


def test_a_refund_or_an_imported_order_is_not_thanked():
    refund = OrderFactory(kind="refund", gross_amount=-5)
    imported = OrderFactory()  # written as an import writes, without order.placed

    assert order_thank_you_send(order_id=refund.pk) is None
    assert not Message.objects.filter(source_key=f"{ORDER_THANK_YOU_KEY}:{imported.pk}").exists()


def test_send_template_hands_the_rendered_message_and_its_topic_to_the_outbox():
    template = MessageTemplateFactory(
        purpose="promotional",
        topic="news",
        contents={"en": {"subject": "News for {{ customer.first_name }}", "html": "<p>Hi</p>"}},
    )
    customer = consenting_customer(name="Ann Lee")

    message = send_template(template=template, customer=customer, source_key="campaign:1")

    assert (message.subject, message.topic, message.purpose, message.template_id) == (
        "News for Ann",
        "news",
        "promotional",
        template.pk,
    )
    # A promotional email that does not place the link itself gets the unsubscribe footer.
    assert "/u/" in message.html or "unsubscribe" in message.html.lower()
    assert "Unsubscribe" in message.text
