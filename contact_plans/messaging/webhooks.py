"""What providers tell us back: email tracking through django-anymail, SMS "STOP" replies.

- Email: anymail's tracking webhooks (mounted at /anymail/, authenticated by its WEBHOOK_SECRET;
  a call with bad credentials or a bad signature is refused by anymail before we see it) send
  ``anymail.signals.tracking``; ``on_tracking`` blocks the address on a hard bounce or a spam
  complaint (nothing is sent to it again, whoever the customer) and records an unsubscribe the
  provider received. A soft bounce changes nothing: the provider retries it.
- SMS: the provider posts inbound texts to /m/sms/inbound/ (Twilio's form and signature:
  X-Twilio-Signature, HMAC-SHA1 with SMS_TOKEN of the public URL and the sorted fields). "STOP"
  (and the carriers' synonyms) blocks the number; "START" lifts it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from contact_plans.models import AddressStatus, Channel
from customers.models import Customer

from .channels.sms import phone_normalise
from .unsubscribe import contact_preferences_update

logger = logging.getLogger(__name__)

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "BERHENTI", "PARAR"}
START_WORDS = {"START", "UNSTOP", "YES"}


def address_status_set(*, channel: str, address: str, status: str, detail: str = "") -> bool:
    """Block an address (idempotent); returns whether it changed."""
    current = AddressStatus.objects.filter(channel=channel, address=address).first()
    if current is not None and current.status == status:
        return False
    AddressStatus.objects.update_or_create(
        channel=channel, address=address, defaults={"status": status, "detail": detail[:500]}
    )
    logger.info("messaging.address_blocked channel=%s status=%s", channel, status)
    return True


def address_status_clear(*, channel: str, address: str, status: str) -> bool:
    return AddressStatus.objects.filter(channel=channel, address=address, status=status).delete()[0] > 0


def _is_soft(event) -> bool:
    raw = event.esp_event if isinstance(event.esp_event, dict) else {}
    kind = str(raw.get("Type") or raw.get("bounceType") or raw.get("severity") or "").lower()
    return kind in {"softbounce", "transient", "temporary"}


def on_tracking(sender, event, esp_name, **kwargs) -> None:
    address = (event.recipient or "").strip().lower()
    if not address:
        return
    detail = f"{esp_name}: {event.description or event.mta_response or event.reject_reason or ''}"
    if event.event_type == "bounced" and not _is_soft(event):
        address_status_set(channel=Channel.EMAIL, address=address, status=AddressStatus.Status.BOUNCED, detail=detail)
    elif event.event_type == "complained":
        address_status_set(
            channel=Channel.EMAIL, address=address, status=AddressStatus.Status.COMPLAINED, detail=detail
        )
    elif event.event_type == "unsubscribed":
        for customer in Customer.objects.filter(email__iexact=address):
            contact_preferences_update(customer=customer, changes={(Channel.EMAIL, ""): False})


def connect() -> None:
    """Called from ContactPlansConfig.ready()."""
    from anymail.signals import tracking

    tracking.connect(on_tracking, dispatch_uid="contact_plans.messaging.on_tracking")


def twilio_signature(url: str, fields: dict[str, str], token: str) -> str:
    payload = url + "".join(f"{key}{fields[key]}" for key in sorted(fields))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@csrf_exempt  # a provider's server calls it; the signature is the proof
@require_POST
def sms_inbound_view(request: HttpRequest) -> HttpResponse:
    if not settings.SMS_TOKEN:
        return HttpResponse("SMS webhook not configured", status=403, content_type="text/plain")
    fields = {key: request.POST.get(key, "") for key in request.POST}
    expected = twilio_signature(settings.PUBLIC_BASE_URL + request.path, fields, settings.SMS_TOKEN)
    if not hmac.compare_digest(expected, request.headers.get("X-Twilio-Signature", "")):
        logger.warning("messaging.sms_webhook_bad_signature")
        return HttpResponse("bad signature", status=403, content_type="text/plain")
    number = phone_normalise(fields.get("From", ""))
    word = fields.get("Body", "").strip().upper()
    if number and word in STOP_WORDS:
        with transaction.atomic():
            address_status_set(channel=Channel.SMS, address=number, status=AddressStatus.Status.STOPPED, detail=word)
    elif number and word in START_WORDS:
        address_status_clear(channel=Channel.SMS, address=number, status=AddressStatus.Status.STOPPED)
    return HttpResponse("<Response/>", content_type="text/xml")
