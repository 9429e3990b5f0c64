"""The outbox's writes: a message becomes a row (``message_enqueue``) before anything is sent, and a
staff member's test send (``test_send``). Sending is contact_plans/messaging/dispatch.py's job.

The contract with the templates side (issue 14): ``send_template`` renders, then calls
``message_enqueue`` with the rendered subject, HTML and text.
"""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from contact_plans.models import Channel, Message, Purpose
from customers.models import Customer
from retention_crm import events

from . import links, policy
from .channels.email import EmailChannel, email_build, email_prepare
from .channels.sms import sms_fits
from .unsubscribe import unsubscribe_url

logger = logging.getLogger(__name__)


def message_id_new() -> str:
    """A Message-ID for the header, stable across resends: random, so it says nothing about anyone."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(">") or "localhost"
    return f"<{secrets.token_hex(16)}@{domain}>"


def sms_opt_out_instruction(language: str) -> str:
    with translation.override(language or "en"):
        return gettext("Reply STOP to opt out")


def sms_finish(*, text: str, purpose: str, language: str, reason: str) -> tuple[str, str, str]:
    """An SMS as the outbox writes it, from its rendered text and its suppression reason (or ""):
    (the text, ending with "Reply STOP to opt out" in ``language`` when promotional; the state; the
    reason). One that may go but takes more than ``SMS_MAX_SEGMENTS`` segments fails as "too long"
    (never cut). The one-message path (``message_enqueue``) and the bulk path (bulk.py) both end here."""
    if purpose == Purpose.PROMOTIONAL:
        text = f"{text.rstrip()}\n{sms_opt_out_instruction(language)}"
    if reason:
        return text, Message.State.SUPPRESSED, reason
    if not sms_fits(text):
        return text, Message.State.FAILED, Message.Reason.TOO_LONG
    return text, Message.State.QUEUED, ""


def message_enqueue(
    *,
    customer: Customer | None = None,
    employee=None,
    channel: str,
    purpose: str,
    source_key: str,
    subject: str = "",
    html: str = "",
    text: str = "",
    language: str = "",
    template=None,
    topic: str = "",
    due_at=None,
    created_by=None,
    track_links: bool = True,
) -> Message:
    """The message of ``source_key``: created (queued, or suppressed/failed with the reason) the
    first time, returned unchanged every later time. The links of a queued email go through the
    click-recording redirect (links.py) unless ``track_links`` is False, the template's tracking is
    off or ``MESSAGING_TRACK_LINKS`` is.

    To a ``customer`` or, for surveys' employee invitations, to an ``employee`` (``team.Employee``):
    exactly one. An employee's message is transactional (work mail: no consent, topic or cap), and
    only a blocked address stops it."""
    if (customer is None) == (employee is None):
        raise ValueError("a message goes to a customer or to an employee")
    if employee is not None and purpose != Purpose.TRANSACTIONAL:
        raise ValueError("a message to an employee is transactional")
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if purpose not in Purpose.values:
        raise ValueError(f"unknown purpose {purpose!r}")
    if not source_key:
        raise ValueError("a message needs a source key")
    existing = Message.objects.filter(source_key=source_key).first()
    if existing is not None:
        return existing
    person = customer if customer is not None else employee
    language = language or person.language
    recipient, reason = policy.recipient_of(person, channel)
    if not reason:
        reason = policy.suppression_reason(
            customer=customer, channel=channel, purpose=purpose, topic=topic, recipient=recipient
        )
    state = Message.State.SUPPRESSED if reason else Message.State.QUEUED
    if channel == Channel.SMS:
        subject, html = "", ""
        text, state, reason = sms_finish(text=text, purpose=purpose, language=language, reason=reason)
    message_id = message_id_new()
    # Clicks are recorded for customers' messages only: an employee's work mail is not measured.
    if (
        channel == Channel.EMAIL
        and state == Message.State.QUEUED
        and customer is not None
        and links.tracking_enabled(template=template, campaign_track_links=track_links)
    ):
        html, text = links.links_track(html=html, text=text, message_id=message_id)
    mime = b""
    if channel == Channel.EMAIL and state == Message.State.QUEUED:
        mime = email_prepare(
            to=recipient,
            subject=subject[:255],
            html=html,
            text=text,
            message_id=message_id,
            headers=email_headers(customer_id=getattr(customer, "pk", None), purpose=purpose),
        )
    message = Message(
        customer=customer,
        employee=employee,
        channel=channel,
        purpose=purpose,
        topic=topic,
        recipient=recipient,
        subject=subject[:255],
        html=html,
        text=text,
        mime=mime,
        language=language,
        template_id=getattr(template, "pk", template),
        source_key=source_key,
        due_at=due_at or timezone.now(),
        state=state,
        reason=reason,
        message_id=message_id,
        created_by=created_by,
    )
    try:
        with transaction.atomic():
            message.save()
            _publish_outcome(message)
    except IntegrityError:
        # The same source asked at the same instant from elsewhere: theirs is the message.
        existing = Message.objects.filter(source_key=source_key).first()
        if existing is None:
            raise
        return existing
    logger.info(
        "messaging.enqueued message=%s customer=%s employee=%s state=%s",
        message.pk,
        message.customer_id,
        message.employee_id,
        message.state,
    )
    return message


def email_headers(*, customer_id: int, purpose: str) -> dict[str, str]:
    """The headers an email carries besides the Message-ID: one-click unsubscribe (RFC 8058) on
    promotional ones."""
    if purpose != Purpose.PROMOTIONAL:
        return {}
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(customer_id, channel=Channel.EMAIL)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _publish_outcome(message: Message) -> None:
    if message.state == Message.State.SUPPRESSED:
        events.publish(
            events.MESSAGE_SUPPRESSED, message_id=message.pk, customer_id=message.customer_id, reason=message.reason
        )
    elif message.state == Message.State.FAILED:
        events.publish(
            events.MESSAGE_FAILED, message_id=message.pk, customer_id=message.customer_id, reason=message.reason
        )


def test_send(*, to_email: str, subject: str, html: str, text: str) -> None:
    """A test send to a staff member's own address, through the same email channel as customers'
    messages (no row: it is not a message to a customer, and counts for no cap). Raises
    channels.DeliveryFailure with the server's answer when it is not accepted."""
    channel = EmailChannel()
    channel.open()
    try:
        channel.send(email_build(to=to_email, subject=subject, html=html, text=text, message_id=message_id_new()))
    finally:
        channel.close()
