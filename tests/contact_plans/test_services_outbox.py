"""The outbox's enqueue: one row per source, suppression decided and recorded with its reason."""

import email
import email.policy

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from contact_plans.messaging.outbox import message_enqueue, sms_opt_out_instruction
from contact_plans.models import AddressStatus, ContactPreference, Message
from tests.contact_plans.factories import MessageFactory, consenting_customer
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _enqueue(customer, **kwargs):
    defaults = {"channel": "email", "purpose": "promotional", "source_key": "test:1", "subject": "Hi", "text": "Hi"}
    return message_enqueue(customer=customer, **{**defaults, **kwargs})


def test_the_same_source_twice_is_one_message():
    customer = consenting_customer()

    first = _enqueue(customer, source_key="order-thanks:7")
    second = _enqueue(customer, source_key="order-thanks:7", subject="Another subject")

    assert first.pk == second.pk
    assert Message.objects.count() == 1
    assert second.subject == "Hi"


def test_enqueue_writes_a_queued_row_with_the_address_of_the_moment():
    customer = consenting_customer(email="Ana@Example.com")

    message = _enqueue(customer)

    message.refresh_from_db()
    assert message.state == Message.State.QUEUED
    assert message.recipient == "ana@example.com"
    assert message.message_id.startswith("<") and message.message_id.endswith("@example.com>")
    assert message.reason == ""


def test_promotional_without_consent_is_suppressed_with_the_reason():
    customer = CustomerFactory(marketing_consent=False)

    message = _enqueue(customer)

    assert (message.state, message.reason) == (Message.State.SUPPRESSED, Message.Reason.NO_CONSENT)


def test_transactional_without_consent_is_queued():
    customer = CustomerFactory(marketing_consent=False)

    message = _enqueue(customer, purpose="transactional")

    assert message.state == Message.State.QUEUED


def test_unsubscribed_channel_and_declined_topic_suppress_promotional_only():
    customer = consenting_customer()
    ContactPreference.objects.create(customer=customer, channel="email", topic="offers", subscribed=False)

    offer = _enqueue(customer, source_key="a", topic="offers")
    news = _enqueue(customer, source_key="b", topic="news")
    receipt = _enqueue(customer, source_key="c", topic="offers", purpose="transactional")

    assert (offer.state, offer.reason) == ("suppressed", "unsubscribed")
    assert news.state == "queued"
    assert receipt.state == "queued"


def test_a_bounced_address_receives_nothing_even_transactional():
    customer = consenting_customer(email="gone@example.com")
    AddressStatus.objects.create(channel="email", address="gone@example.com", status="bounced")

    message = _enqueue(customer, purpose="transactional")

    assert (message.state, message.reason) == ("suppressed", "bounced")


def test_no_address_and_invalid_phone_are_suppressed_with_their_reason():
    no_email = consenting_customer(email="")
    bad_phone = consenting_customer(phone="12", country="GB")

    email = _enqueue(no_email, source_key="a")
    sms = _enqueue(bad_phone, source_key="b", channel="sms")

    assert (email.state, email.reason) == ("suppressed", "no_address")
    assert (sms.state, sms.reason) == ("suppressed", "invalid_phone")


def test_sms_number_is_normalised_with_the_customers_country_and_gets_the_stop_line():
    customer = consenting_customer(phone="07911 123456", country="United Kingdom", language="ca")

    message = _enqueue(customer, channel="sms", text="Hola!")

    assert message.state == "queued"
    assert message.recipient == "+447911123456"
    assert message.text == "Hola!\nRespon STOP per donar-te de baixa"
    assert sms_opt_out_instruction("en") == "Reply STOP to opt out"


def test_an_sms_over_the_segment_limit_fails_as_too_long(settings):
    settings.SMS_MAX_SEGMENTS = 2
    customer = consenting_customer(phone="+447911123456")

    message = _enqueue(customer, channel="sms", purpose="transactional", text="x" * 307)

    assert (message.state, message.reason) == ("failed", "too_long")


def test_the_database_refuses_a_failed_message_without_reason_and_a_sent_one_without_date():
    message = MessageFactory()

    for fields in (
        {"state": "failed"},
        {"state": "sent"},
        {"state": "sending"},
        {"state": "queued", "reason": "bounced"},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Message.objects.filter(pk=message.pk).update(**fields)
    Message.objects.filter(pk=message.pk).update(state="sent", sent_at=timezone.now())


def test_the_database_refuses_a_state_outside_the_choices_and_a_second_row_per_source():
    message = MessageFactory(source_key="order:1")

    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.filter(pk=message.pk).update(state="lost")
    with pytest.raises(IntegrityError), transaction.atomic():
        MessageFactory(source_key="order:1")


def test_enqueue_prepares_an_emails_complete_bytes_once(settings):
    settings.PUBLIC_BASE_URL = "https://crm.example.com"
    customer = consenting_customer(email="ana@example.com")

    message = _enqueue(customer, subject="Spring offers", html="<p>Hi Ana</p>", text="Hi Ana")

    prepared = email.message_from_bytes(bytes(Message.objects.get(pk=message.pk).mime), policy=email.policy.default)
    assert prepared["Message-ID"] == message.message_id
    assert (prepared["To"], prepared["Subject"]) == ("ana@example.com", "Spring offers")
    assert prepared["Date"] is not None
    assert prepared["List-Unsubscribe"].strip().startswith("<https://crm.example.com/m/u/")
    assert prepared["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert prepared.get_body(("html",)).get_content().strip() == "<p>Hi Ana</p>"
    assert prepared.get_body(("plain",)).get_content().strip() == "Hi Ana"


def test_enqueue_prepares_nothing_for_sms_or_a_suppressed_email():
    sms = _enqueue(consenting_customer(phone="+447700900123", country="GB"), channel="sms", source_key="s")
    withheld = _enqueue(CustomerFactory(marketing_consent=False), source_key="w")

    assert withheld.state == Message.State.SUPPRESSED
    assert bytes(Message.objects.get(pk=sms.pk).mime) == b""
    assert bytes(Message.objects.get(pk=withheld.pk).mime) == b""
