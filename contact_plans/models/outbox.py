"""The outbox: every message to a customer is a row before it is sent (docs/messaging.md).

- ``Message``: one email or SMS, its rendered content, where it stands (queued, sending, sent,
  failed, suppressed) and why, its lease while a worker holds it, and its stable Message-ID;
- ``AddressStatus``: what providers told us about an address or number (a hard bounce, a spam
  complaint, an SMS "STOP"): a blocked address receives nothing more, whoever the customer;
- ``ContactPreference``: a customer's choices in the preference centre, per channel and topic;
- ``LocalDelivery``: what the local outbox backends "sent" (``make run`` has no mail server), for
  administrators to open in the browser.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class Purpose(models.TextChoices):
    TRANSACTIONAL = "transactional", _("Transactional")
    PROMOTIONAL = "promotional", _("Promotional")


# Message.Reason's values, for its constraint (a nested class is not in scope in Meta).
REASONS = [
    "no_consent",
    "unsubscribed",
    "bounced",
    "complained",
    "stopped",
    "frequency_cap",
    "no_address",
    "invalid_phone",
    "too_long",
    "rejected",
    "retries_exhausted",
]


class Message(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Suppressed")

    class Reason(models.TextChoices):
        # Suppressed: the message is not sent, on purpose.
        NO_CONSENT = "no_consent", _("No marketing consent")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        BOUNCED = "bounced", _("The address bounced")
        COMPLAINED = "complained", _("The recipient reported spam")
        STOPPED = "stopped", _("The number replied STOP")
        FREQUENCY_CAP = "frequency_cap", _("Frequency cap reached")
        NO_ADDRESS = "no_address", _("No address")
        INVALID_PHONE = "invalid_phone", _("Invalid phone number")
        # Failed: the message could not be sent.
        TOO_LONG = "too_long", _("Text too long for SMS")
        REJECTED = "rejected", _("Refused by the server")
        RETRIES_EXHAUSTED = "retries_exhausted", _("Temporary failures, retries exhausted")

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
        # message_customer_id (customer, -id) serves every read by customer, and the cascade: a
        # second index on the column alone would only cost every row version its entry.
        db_index=False,
    )
    # An employee instead of a customer (surveys' eNPS and pulse invitations): exactly one of the
    # two is set. Employees' messages are transactional: no marketing consent, topics or cap.
    employee = models.ForeignKey(
        "team.Employee",
        verbose_name=_("employee"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,  # message_employee, of the rows that have one
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=15, choices=Purpose.choices)
    topic = models.CharField(_("topic"), max_length=40, blank=True, default="")
    # The address or E.164 number at enqueue time: a later change of the customer's email does not
    # redirect a message already written for the old one. Blank when there was none (suppressed).
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    html = models.TextField(_("HTML body"), blank=True)
    text = models.TextField(_("text body"), blank=True)
    # An email's complete RFC 5322 bytes (headers with the Message-ID, Date and List-Unsubscribe,
    # and the MIME body), prepared once at enqueue: over SMTP the worker sends them as they are,
    # and a resend is the same bytes. Empty for SMS and for messages that will not be sent; the
    # other email backends (the local outbox, providers) build the message from the fields above.
    mime = models.BinaryField(_("prepared message"), blank=True, default=b"", editable=False)
    language = models.CharField(_("language"), max_length=8, blank=True)
    # The template that rendered it (contact_plans.models.message_templates), kept as an id so that
    # results can be grouped by template and a deleted template leaves its messages as they were.
    template_id = models.BigIntegerField(_("template"), null=True, blank=True)
    # Idempotency: whoever asks for a message names its source ("order-thanks:1234"); the same
    # source asked twice is the same message.
    source_key = models.CharField(_("source key"), max_length=200)
    due_at = models.DateTimeField(_("due"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    error = models.TextField(_("last error"), blank=True, help_text=_("What the server or provider answered."))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When the dispatcher last handed it to a task; not handed again before a lease's time has
    # passed, so that a backlog of tasks does not fill the broker with the same ids.
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    # Held by a worker until then; a lease that runs out while "sending" makes the message due again.
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    # Set (and committed) just before the message is handed to the server, cleared with its answer:
    # a row found "sending" with this set after its lease ran out is the one message in doubt of a
    # worker that was killed, and is resent with the same Message-ID.
    handed_at = models.DateTimeField(_("handed to the server at"), null=True, blank=True)
    resent_count = models.PositiveSmallIntegerField(_("resent after an interrupted send"), default=0)
    provider_id = models.CharField(_("provider id"), max_length=200, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=200, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # message_created_by, of the rows that have one
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        # Every index is written with each new version of a row that changes an indexed column
        # (the claim, "sent"), so the table keeps only those a query reads (docs/benchmarks.md,
        # "Dispatch": EXPLAIN of every query of the outbox). The API's list reads the primary key
        # newest first; Message-ID is only looked up by equality (the unique index), so migration
        # 0013 drops the varchar_pattern_ops index PostgreSQL's backend adds for LIKE. It also sets
        # the table's fill factor to 50 (not expressible here): room on a row's page for the
        # versions written by the updates that change no indexed column (dispatched_at, the
        # hand-over), which are then HOT and write no index entry at all.
        indexes = [
            # The dispatcher: due queued messages, oldest due first; and leases that ran out.
            models.Index(fields=["due_at", "id"], condition=Q(state="queued"), name="message_queued_due"),
            models.Index(fields=["lease_until"], condition=Q(state="sending"), name="message_sending_lease"),
            # The customer's card, and the frequency cap (promotional messages of the last 7 days).
            models.Index(fields=["customer", "-id"], name="message_customer_id"),
            # For webhooks that find a message by the provider's id (none does yet); SMTP messages
            # have none, so it holds no entry for them and costs their writes nothing.
            models.Index(fields=["provider_id"], condition=~Q(provider_id=""), name="message_provider_id"),
            # The few messages to employees (surveys) and sent by hand: a bulk send writes no entry.
            models.Index(fields=["employee"], condition=Q(employee__isnull=False), name="message_employee"),
            models.Index(fields=["created_by"], condition=Q(created_by__isnull=False), name="message_created_by"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["source_key"], name="message_source_key_unique"),
            models.CheckConstraint(condition=~Q(source_key=""), name="message_source_key_not_empty"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="message_channel_valid"),
            models.CheckConstraint(condition=Q(purpose__in=Purpose.values), name="message_purpose_valid"),
            models.CheckConstraint(
                condition=Q(state__in=["queued", "sending", "sent", "failed", "suppressed"]), name="message_state_valid"
            ),
            models.CheckConstraint(condition=Q(reason__in=["", *REASONS]), name="message_reason_valid"),
            models.CheckConstraint(
                condition=(Q(state__in=["failed", "suppressed"]) & ~Q(reason=""))
                | (~Q(state__in=["failed", "suppressed"]) & Q(reason="")),
                name="message_reason_iff_failed_or_suppressed",
            ),
            models.CheckConstraint(
                condition=(Q(state="sent") & Q(sent_at__isnull=False)) | (~Q(state="sent") & Q(sent_at__isnull=True)),
                name="message_sent_at_iff_sent",
            ),
            models.CheckConstraint(
                condition=(Q(state="sending") & Q(lease_until__isnull=False))
                | (~Q(state="sending") & Q(lease_until__isnull=True)),
                name="message_lease_iff_sending",
            ),
            models.CheckConstraint(
                condition=Q(handed_at__isnull=True) | Q(state="sending"), name="message_handed_only_while_sending"
            ),
            models.CheckConstraint(condition=~Q(state="sent") | ~Q(recipient=""), name="message_sent_has_recipient"),
            models.CheckConstraint(
                condition=(Q(customer__isnull=False) & Q(employee__isnull=True))
                | (Q(customer__isnull=True) & Q(employee__isnull=False) & Q(purpose="transactional")),
                name="message_customer_or_employee",
            ),
        ]

    def __str__(self) -> str:
        if self.employee_id:
            return f"Message {self.pk} ({self.channel}) to employee {self.employee_id}: {self.state}"
        return f"Message {self.pk} ({self.channel}) to customer {self.customer_id}: {self.state}"

    @property
    def is_promotional(self) -> bool:
        return self.purpose == Purpose.PROMOTIONAL


class AddressStatus(models.Model):
    """An address or number that must receive nothing more (a hard bounce, a complaint, STOP)."""

    class Status(models.TextChoices):
        BOUNCED = "bounced", _("Bounced")
        COMPLAINED = "complained", _("Complained")
        STOPPED = "stopped", _("Opted out by STOP")

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    # Emails lowercased, numbers in E.164: the forms the outbox writes in Message.recipient.
    address = models.CharField(_("address"), max_length=254)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("address status")
        verbose_name_plural = _("address statuses")
        constraints = [
            models.UniqueConstraint(fields=["channel", "address"], name="address_status_unique"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="address_status_channel_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["bounced", "complained", "stopped"]), name="address_status_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} address {self.pk}: {self.status}"


class ContactPreference(models.Model):
    """A customer's "yes" or "no" to a channel (topic "") or to one topic on a channel.

    No row means the default: subscribed (promotional messages still need marketing consent).
    """

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contact_preferences"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    topic = models.CharField(_("topic"), max_length=40, blank=True, default="")
    subscribed = models.BooleanField(_("subscribed"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("contact preference")
        verbose_name_plural = _("contact preferences")
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel", "topic"], name="contact_preference_unique"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="contact_preference_channel_valid"),
        ]

    def __str__(self) -> str:
        return f"Customer {self.customer_id} {self.channel}/{self.topic or '*'}: {self.subscribed}"


class LocalDelivery(models.Model):
    """A message as the local outbox backends received it, instead of a mail server or SMS provider."""

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    html = models.TextField(_("HTML body"), blank=True)
    text = models.TextField(_("text body"), blank=True)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("local outbox message")
        verbose_name_plural = _("local outbox messages")
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="local_delivery_channel_valid"),
        ]

    def __str__(self) -> str:
        return f"Local {self.channel} delivery {self.pk}"
