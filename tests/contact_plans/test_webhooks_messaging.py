"""Provider webhooks: anymail's tracking (a hard bounce or a complaint blocks the address; bad
credentials change nothing) and the SMS provider's inbound STOP (signed, Twilio's scheme)."""

import base64
import json

import pytest
from django.test import Client

from contact_plans.messaging.outbox import message_enqueue
from contact_plans.messaging.webhooks import twilio_signature
from contact_plans.models import AddressStatus, ContactPreference
from tests.contact_plans.factories import consenting_customer

pytestmark = pytest.mark.django_db

SECRET = "user:s3cret"


@pytest.fixture(autouse=True)
def _secrets(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    settings.SMS_TOKEN = "sms-token"
    settings.PUBLIC_BASE_URL = "https://crm.example.com"


def _postmark(body: dict, credentials: str = SECRET):
    auth = "Basic " + base64.b64encode(credentials.encode()).decode()
    return Client().post(
        "/anymail/postmark/tracking/", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth
    )


def _bounce(email: str, kind: str = "HardBounce") -> dict:
    return {"RecordType": "Bounce", "Type": kind, "Email": email, "MessageID": "abc", "Description": "No such user"}


def test_a_hard_bounce_stops_every_later_send_to_the_address():
    customer = consenting_customer(email="gone@example.com")

    response = _postmark(_bounce("Gone@Example.com"))
    message = message_enqueue(customer=customer, channel="email", purpose="transactional", source_key="k", text="x")

    assert response.status_code == 200
    assert AddressStatus.objects.get().status == "bounced"
    assert (message.state, message.reason) == ("suppressed", "bounced")


def test_a_spam_complaint_blocks_the_address():
    _postmark({"RecordType": "SpamComplaint", "Type": "SpamComplaint", "Email": "a@example.com", "MessageID": "x"})

    assert AddressStatus.objects.get(address="a@example.com").status == "complained"


def test_a_soft_bounce_changes_nothing():
    _postmark(_bounce("soft@example.com", kind="SoftBounce"))

    assert not AddressStatus.objects.exists()


def test_a_webhook_with_bad_credentials_is_refused_and_changes_nothing():
    response = _postmark(_bounce("victim@example.com"), credentials="user:guess")

    assert response.status_code in (400, 403)
    assert not AddressStatus.objects.exists()


def test_a_webhook_without_credentials_is_refused():
    response = Client().post(
        "/anymail/postmark/tracking/", json.dumps(_bounce("victim@example.com")), content_type="application/json"
    )

    assert response.status_code in (400, 403)
    assert not AddressStatus.objects.exists()


def test_an_unsubscribe_the_provider_received_is_recorded():
    customer = consenting_customer(email="u@example.com")

    _postmark(
        {"RecordType": "SubscriptionChange", "Recipient": "u@example.com", "SuppressSending": True,
         "SuppressionReason": "ManualSuppression", "MessageID": "x"}
    )  # fmt: skip

    assert ContactPreference.objects.get(customer=customer).subscribed is False


def _sms(fields: dict, signature: str | None = None):
    signature = signature or twilio_signature("https://crm.example.com/m/sms/inbound/", fields, "sms-token")
    return Client().post("/m/sms/inbound/", fields, HTTP_X_TWILIO_SIGNATURE=signature)


def test_an_inbound_stop_opts_the_number_out_of_every_sms():
    customer = consenting_customer(phone="+44 7911 123456")

    response = _sms({"From": "+447911123456", "Body": " stop ", "MessageSid": "SM1"})
    message = message_enqueue(customer=customer, channel="sms", purpose="transactional", source_key="k", text="x")

    assert response.status_code == 200
    assert AddressStatus.objects.get().status == "stopped"
    assert (message.state, message.reason) == ("suppressed", "stopped")


def test_start_lifts_a_stop():
    _sms({"From": "+447911123456", "Body": "STOP"})

    _sms({"From": "+447911123456", "Body": "START"})

    assert not AddressStatus.objects.exists()


def test_an_inbound_sms_with_a_bad_signature_is_refused_and_changes_nothing():
    response = _sms({"From": "+447911123456", "Body": "STOP"}, signature="forged")

    assert response.status_code == 403
    assert not AddressStatus.objects.exists()


def test_the_sms_webhook_refuses_everything_when_not_configured(settings):
    settings.SMS_TOKEN = ""

    response = _sms({"From": "+447911123456", "Body": "STOP"}, signature="anything")

    assert response.status_code == 403
