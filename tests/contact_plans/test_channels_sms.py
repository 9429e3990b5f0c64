"""SMS: the length rule, phone numbers, and the Twilio-style HTTP backend against a local HTTP
server standing in for the provider (success, 429, 500, 400)."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from contact_plans.messaging import dispatch
from contact_plans.messaging.channels.sms import phone_normalise, sms_length
from contact_plans.models import Message
from tests.contact_plans.factories import MessageFactory, consenting_customer


class Provider:
    """A provider that answers each POST with the next of ``answers`` (status), then 201."""

    def __init__(self):
        self.answers: list[int] = []
        self.requests: list[dict] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                fields = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                provider.requests.append({"fields": fields, "auth": self.headers.get("Authorization", "")})
                status = provider.answers.pop(0) if provider.answers else 201
                body = json.dumps({"sid": f"SM{len(provider.requests)}"} if status < 300 else {"message": "no"})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/Messages.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def provider(settings):
    provider = Provider()
    settings.SMS_BACKEND = "contact_plans.messaging.channels.sms.HttpSmsBackend"
    settings.SMS_HTTP_URL, settings.SMS_ACCOUNT, settings.SMS_TOKEN, settings.SMS_FROM = (
        provider.url,
        "AC1",
        "t",
        "+15005550006",
    )
    settings.MESSAGING_QUIET_START = settings.MESSAGING_QUIET_END = 0
    yield provider
    provider.server.shutdown()


def test_gsm7_texts_take_160_characters_then_153_per_segment():
    assert sms_length("a" * 160).segments == 1
    assert sms_length("a" * 161).segments == 2
    assert sms_length("€" * 80).units == 160  # the euro sign is an escape: two septets


def test_other_texts_are_ucs2_70_then_67_per_segment():
    assert sms_length("Ç" * 160).encoding == "GSM-7"  # the GSM alphabet has Ç, not ç
    assert (sms_length("ç" * 70).encoding, sms_length("ç" * 70).segments) == ("UCS-2", 1)
    assert sms_length("Terima kasih 🙏").encoding == "UCS-2"
    assert sms_length("あ" * 71).segments == 2


def test_phone_numbers_are_read_with_the_customers_country_and_written_in_e164():
    assert phone_normalise("07911 123456", country="United Kingdom") == "+447911123456"
    assert phone_normalise("0812-3456-7890", country="ID") == "+6281234567890"
    assert phone_normalise("+34 612 345 678", country="") == "+34612345678"
    assert phone_normalise("12345", country="GB") is None
    assert phone_normalise("not a number", country="GB") is None


@pytest.mark.django_db
def test_an_sms_is_posted_to_the_provider_with_its_id_recorded(provider):
    message = MessageFactory(channel="sms", recipient="+447911123456", subject="", html="", text="Thanks!")

    dispatch.messages_send_batch(message_ids=[message.pk])

    message.refresh_from_db()
    assert (message.state, message.provider_id) == ("sent", "SM1")
    assert provider.requests[0]["fields"] == {"To": "+447911123456", "From": "+15005550006", "Body": "Thanks!"}
    assert provider.requests[0]["auth"].startswith("Basic ")


@pytest.mark.django_db
@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_provider_answering_429_or_5xx_is_retried_later(provider, status):
    provider.answers = [status]
    message = MessageFactory(channel="sms", recipient="+447911123456", subject="", html="", text="Thanks!")

    dispatch.messages_send_batch(message_ids=[message.pk])

    message.refresh_from_db()
    assert (message.state, message.attempts) == ("queued", 1)
    assert str(status) in message.error


@pytest.mark.django_db
def test_a_provider_refusing_with_4xx_fails_the_message_with_its_answer(provider):
    provider.answers = [400]
    message = MessageFactory(channel="sms", recipient="+447911123456", subject="", html="", text="Thanks!")

    dispatch.messages_send_batch(message_ids=[message.pk])

    message.refresh_from_db()
    assert (message.state, message.reason) == ("failed", "rejected")
    assert "400" in message.error


@pytest.mark.django_db
def test_a_provider_down_is_a_temporary_failure(settings):
    settings.SMS_BACKEND = "contact_plans.messaging.channels.sms.HttpSmsBackend"
    settings.SMS_HTTP_URL = "http://127.0.0.1:1/Messages.json"
    settings.MESSAGING_QUIET_START = settings.MESSAGING_QUIET_END = 0
    message = MessageFactory(channel="sms", recipient="+447911123456", subject="", html="", text="Thanks!")

    dispatch.messages_send_batch(message_ids=[message.pk])

    assert Message.objects.get(pk=message.pk).state == "queued"


@pytest.mark.django_db
def test_an_sms_at_night_waits_for_the_morning_even_transactional(provider, settings):
    from django.utils import timezone

    hour = timezone.now().hour
    settings.MESSAGING_QUIET_START, settings.MESSAGING_QUIET_END = hour, (hour + 1) % 24
    customer = consenting_customer(phone="+447911123456", time_zone="UTC")
    message = MessageFactory(customer=customer, channel="sms", recipient="+447911123456", subject="", html="", text="x")

    dispatch.messages_send_batch(message_ids=[message.pk])

    message.refresh_from_db()
    assert message.state == "queued" and message.due_at.hour == (hour + 1) % 24
    assert provider.requests == []
