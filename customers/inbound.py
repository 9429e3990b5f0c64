"""Email-in: an email to the support or complaints address becomes a case on its sender's record.

The provider posts each received email to anymail's inbound webhook (``/anymail/<esp>/inbound/``,
e.g. ``/anymail/postmark/inbound/``), authenticated as anymail's tracking webhooks are (its
WEBHOOK_SECRET as HTTP basic credentials, and the provider's signature where it has one: a call
with bad credentials is refused by anymail before this code runs). anymail sends the
``inbound`` signal; ``on_inbound`` records the email:

- from exactly one active customer's address (compared ignoring case): a complaint (or the kind of
  ``INBOUND_EMAIL_CASE_KIND``) on their record, owned by their account manager, due by its priority;
- from an address no customer has (or several have): kept as an unmatched email, which
  administrators attach to the right customer or discard on the complaints page;
- the same message delivered twice (its Message-ID) is recorded once.

The text is stored as text (an HTML-only email is reduced to its text); pages show it escaped. The
logs say what happened without the address or the text.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from . import services
from .models import Customer, InboundEmail, Interaction

logger = logging.getLogger(__name__)

SUBJECT_MAX = 200
BODY_MAX = 50_000


def _case_kind() -> str:
    kind = getattr(settings, "INBOUND_EMAIL_CASE_KIND", Interaction.Kind.COMPLAINT)
    return kind if kind in Interaction.TRACKED_KINDS else Interaction.Kind.COMPLAINT


def _subject(subject: str) -> str:
    subject = " ".join((subject or "").split())[:SUBJECT_MAX]
    return subject or _("Email without a subject")


def inbound_email_record(
    *, sender: str, subject: str, text: str, sender_name: str = "", message_id: str = ""
) -> InboundEmail:
    """Record one received email (the webhook's work, callable on its own). Idempotent by Message-ID."""
    sender = (sender or "").strip()
    message_id = (message_id or "").strip()[:255]
    if message_id:
        existing = InboundEmail.objects.filter(message_id=message_id).first()
        if existing is not None:
            logger.info("complaints.inbound duplicate=%s", existing.pk)
            return existing
    text = (text or "")[:BODY_MAX]
    matches = list(Customer.objects.active().filter(email__iexact=sender)[:2]) if sender else []
    try:
        with transaction.atomic():
            email = InboundEmail(
                message_id=message_id,
                sender=sender[:254],
                sender_name=(sender_name or "")[:200],
                subject=_subject(subject),
                body=text,
                status=InboundEmail.Status.UNMATCHED,
            )
            if len(matches) == 1:
                email.interaction = _case_from(email, customer=matches[0])
                email.status = InboundEmail.Status.MATCHED
            email.save()
    except IntegrityError:
        # The same message, delivered twice at the same moment: the other delivery recorded it.
        return InboundEmail.objects.get(message_id=message_id)
    logger.info("complaints.inbound email=%s status=%s", email.pk, email.status)
    return email


def _case_from(email: InboundEmail, *, customer: Customer, by=None) -> Interaction:
    return services.interaction_log(
        customer=customer,
        kind=_case_kind(),
        subject=email.subject,
        body=email.body,
        author=by,
        direction=Interaction.Direction.INBOUND,
        channel=Interaction.Channel.EMAIL,
        occurred_at=email.received_at or timezone.now(),
    )


@transaction.atomic
def inbound_email_attach(*, email: InboundEmail, customer: Customer, by) -> Interaction:
    """An administrator's choice of customer for an unmatched email: the case is created on their record."""
    email = InboundEmail.objects.select_for_update().get(pk=email.pk)
    if email.status != InboundEmail.Status.UNMATCHED:
        raise ValidationError(_("This email has already been dealt with."))
    email.interaction = _case_from(email, customer=customer, by=by)
    email.status = InboundEmail.Status.MATCHED
    email.handled_by = by
    email.save(update_fields=["interaction", "status", "handled_by"])
    return email.interaction


@transaction.atomic
def inbound_email_discard(*, email: InboundEmail, by) -> InboundEmail:
    email = InboundEmail.objects.select_for_update().get(pk=email.pk)
    if email.status != InboundEmail.Status.UNMATCHED:
        raise ValidationError(_("This email has already been dealt with."))
    email.status = InboundEmail.Status.DISCARDED
    email.handled_by = by
    email.save(update_fields=["status", "handled_by"])
    return email


def on_inbound(sender, event, esp_name, **kwargs) -> None:
    message = event.message
    if message is None:
        return
    sender_address = message.from_email.addr_spec if message.from_email else ""
    sender_name = message.from_email.display_name if message.from_email else ""
    text = message.text or strip_tags(message.html or "")
    inbound_email_record(
        sender=sender_address,
        sender_name=sender_name,
        subject=message.subject or "",
        text=text,
        message_id=message.get("Message-ID", "") or (event.event_id or ""),
    )


def connect() -> None:
    """Called from CustomersConfig.ready()."""
    from anymail.signals import inbound

    inbound.connect(on_inbound, dispatch_uid="customers.inbound.on_inbound")
