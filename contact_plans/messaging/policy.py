"""Who may receive what, and when (docs/messaging.md, "Consent and fatigue").

- Promotional messages need the customer's marketing consent, the channel not unsubscribed and
  the topic not declined in the preference centre; at most ``MESSAGING_FREQUENCY_CAP`` of them per
  customer per rolling 7 days, every channel together; none during quiet hours in the customer's
  time zone (they wait for the morning).
- Transactional messages (an order thank-you, a reward code) skip consent, topics and the cap, but
  respect the channel's own opt-out where the law asks for it: an SMS "STOP" stops every SMS to
  that number (carrier rules and the TCPA treat STOP as covering all messages), and SMS wait for
  the morning like promotional ones. An email unsubscribe (List-Unsubscribe) is about marketing,
  so a transactional email still goes.
- Whatever the purpose, nothing goes to an address that hard-bounced or complained of spam.

The checks of the customer's own state are made at enqueue and again just before sending (consent
may have been withdrawn meanwhile); the cap and quiet hours only at send time. Those checks are one
table, ``SUPPRESSION_RULES``, read in Python (``reason_of``) and turned into SQL
(``suppression_sql``) by the same code.
"""

from __future__ import annotations

import operator
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Any

from django.conf import settings
from django.db.models import Case, Exists, OuterRef, Q, Value, When
from django.utils import timezone

from contact_plans.models import AddressStatus, Channel, ContactPreference, Message, Purpose
from customers.models import Customer

from .channels.sms import phone_normalise

Reason = Message.Reason


def recipient_of(customer: Customer, channel: str) -> tuple[str, str]:
    """(address in its canonical form, suppression reason or ""); ``customer`` may also be an
    employee (surveys' invitations), who has an email and no phone."""
    if channel == Channel.EMAIL:
        email = (customer.email or "").strip().lower()
        return (email, "") if email else ("", Reason.NO_ADDRESS)
    if not (getattr(customer, "phone", "") or "").strip():
        return "", Reason.NO_ADDRESS
    number = phone_normalise(customer.phone, country=customer.country)
    return (number, "") if number else ("", Reason.INVALID_PHONE)


def is_subscribed(customer: Customer, channel: str, topic: str = "") -> bool:
    """The preference centre's answer: no row is a yes."""
    declined = ContactPreference.objects.filter(customer=customer, channel=channel, subscribed=False).filter(
        Q(topic="") | Q(topic=topic)
    )
    return not declined.exists()


# The rules of the customer's own state, stated once. The enqueue (``suppression_reason``), the
# worker's check of each message just before it is sent (``BatchRules``) and the set-based check of
# a claimed batch (``suppression_sql``, in dispatch.py) all read this table, the first two in
# Python over the facts they read, the third as SQL over the message rows: each fact below is
# defined once for both.


@dataclass(frozen=True)
class Facts:
    """What the rules look at, for one message."""

    address_status: str | None  # the AddressStatus of the message's channel and recipient, if any
    consent: bool  # the customer's marketing consent
    declined: bool  # the channel, or the message's topic, declined in the preference centre


@dataclass(frozen=True)
class Refs:
    """Where the SQL form of a fact finds the customer, channel, topic and address: on Message rows
    (``MESSAGE_REFS``) or, for the set-based reading of campaigns, on Customer rows
    (``suppression_reason_expression``)."""

    customer: Any
    channel: Any
    topic: Any
    address: Any
    # On Customer rows the consent is a column of the row itself: read it there, not through an
    # EXISTS over the customers (which PostgreSQL hashes by reading every customer without consent).
    consent_on_row: bool = False


MESSAGE_REFS = Refs(
    customer=OuterRef("customer_id"),
    channel=OuterRef("channel"),
    topic=OuterRef("topic"),
    address=OuterRef("recipient"),
)


class _AddressIs:
    """The address (channel and recipient) has this status: bounced, complained, STOP."""

    def __init__(self, status: str):
        self.status = status

    def holds(self, facts: Facts) -> bool:
        return facts.address_status == self.status

    def sql(self, refs: Refs = MESSAGE_REFS) -> Exists:
        return Exists(AddressStatus.objects.filter(channel=refs.channel, address=refs.address, status=self.status))


class _NoConsent:
    def holds(self, facts: Facts) -> bool:
        return not facts.consent

    def sql(self, refs: Refs = MESSAGE_REFS) -> Exists | Q:
        if refs.consent_on_row:
            return Q(marketing_consent=False)
        return Exists(Customer.objects.filter(pk=refs.customer, marketing_consent=False))


class _Declined:
    """The customer unsubscribed from the channel (topic "") or declined the message's topic."""

    def holds(self, facts: Facts) -> bool:
        return facts.declined

    def sql(self, refs: Refs = MESSAGE_REFS) -> Exists:
        return Exists(
            ContactPreference.objects.filter(customer_id=refs.customer, channel=refs.channel, subscribed=False).filter(
                Q(topic="") | Q(topic=refs.topic)
            )
        )


@dataclass(frozen=True)
class Rule:
    reason: str
    fact: _AddressIs | _NoConsent | _Declined
    promotional_only: bool


# In order: the first rule that holds names the reason. A blocked address stops every message,
# transactional or not; consent and the preference centre are about marketing.
SUPPRESSION_RULES: tuple[Rule, ...] = (
    Rule(Reason.BOUNCED, _AddressIs(AddressStatus.Status.BOUNCED), promotional_only=False),
    Rule(Reason.COMPLAINED, _AddressIs(AddressStatus.Status.COMPLAINED), promotional_only=False),
    Rule(Reason.STOPPED, _AddressIs(AddressStatus.Status.STOPPED), promotional_only=False),
    Rule(Reason.NO_CONSENT, _NoConsent(), promotional_only=True),
    Rule(Reason.UNSUBSCRIBED, _Declined(), promotional_only=True),
)


def reason_of(facts: Facts, *, purpose: str) -> str:
    """The first rule that holds for these facts (a Message.Reason), or "" when the message may go."""
    for rule in SUPPRESSION_RULES:
        if (purpose == Purpose.PROMOTIONAL or not rule.promotional_only) and rule.fact.holds(facts):
            return rule.reason
    return ""


def suppression_sql() -> tuple[Case, Q]:
    """The same rules over Message rows: (the reason as a CASE, "" when none holds; the condition
    that one holds), for a filter and an UPDATE of a batch (dispatch._suppress_batch)."""
    promotional = Q(purpose=Purpose.PROMOTIONAL)
    whens = [
        When(
            (promotional & Q(rule.fact.sql())) if rule.promotional_only else Q(rule.fact.sql()), then=Value(rule.reason)
        )
        for rule in SUPPRESSION_RULES
    ]
    reason = Case(*whens, default=Value(""))
    conditions = [when.condition for when in whens]
    return reason, reduce(operator.or_, conditions)


def suppression_reason(*, customer: Customer | None, channel: str, purpose: str, topic: str, recipient: str) -> str:
    """Why this message must not go (a Message.Reason), or "" when it may. ``customer`` None: an
    employee's message (transactional), which only a blocked address stops."""
    status = AddressStatus.objects.filter(channel=channel, address=recipient).values_list("status", flat=True).first()
    if customer is None:
        return reason_of(Facts(address_status=status, consent=True, declined=False), purpose=Purpose.TRANSACTIONAL)
    declined = purpose == Purpose.PROMOTIONAL and not is_subscribed(customer, channel, topic)
    facts = Facts(address_status=status, consent=customer.marketing_consent, declined=declined)
    return reason_of(facts, purpose=purpose)


class BatchRules:
    """The opt-outs of a batch's addresses and customers, read in two queries when the batch is
    claimed (a worker checks each message against them just before sending it)."""

    def __init__(self, messages: list[Message]):
        self.blocked = {
            (channel, address): status
            for channel, address, status in AddressStatus.objects.filter(
                address__in={m.recipient for m in messages}
            ).values_list("channel", "address", "status")
        }
        self.declined = set(
            ContactPreference.objects.filter(
                customer_id__in={m.customer_id for m in messages if m.purpose == Purpose.PROMOTIONAL}, subscribed=False
            ).values_list("customer_id", "channel", "topic")
        )

    def reason(self, message: Message, customer: Customer | None) -> str:
        """``customer``: the message's, as it is now (for a promotional one, its locked row); None for
        an employee's message, which is transactional: only a blocked address stops it."""
        blocked = self.blocked.get((message.channel, message.recipient))
        if customer is None:
            return reason_of(Facts(address_status=blocked, consent=True, declined=False), purpose=Purpose.TRANSACTIONAL)
        declined = {(customer.pk, message.channel, ""), (customer.pk, message.channel, message.topic)} & self.declined
        facts = Facts(address_status=blocked, consent=customer.marketing_consent, declined=bool(declined))
        return reason_of(facts, purpose=message.purpose)


def frequency_capped(*, customer_id: int, exclude_id: int, now: datetime) -> bool:
    """Has the customer had the cap's worth of promotional messages in the last 7 days?

    Counts those sent and those being handed to a server right now (so two workers racing for one
    customer cannot both pass: the caller holds the customer's row lock while it checks).
    """
    since = now - timedelta(days=7)
    recent = Message.objects.filter(customer_id=customer_id, purpose=Purpose.PROMOTIONAL).exclude(id=exclude_id)
    recent = recent.filter(
        Q(state=Message.State.SENT, sent_at__gte=since) | Q(state=Message.State.SENDING, handed_at__isnull=False)
    )
    return recent.count() >= settings.MESSAGING_FREQUENCY_CAP


def waits_for_quiet_hours(*, channel: str, purpose: str) -> bool:
    return purpose == Purpose.PROMOTIONAL or channel == Channel.SMS


def customer_zone(customer: Customer) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(getattr(customer, "time_zone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def quiet_hours_end(*, customer: Customer, now: datetime | None = None) -> datetime | None:
    """When quiet hours end if it is night for the customer now, else None."""
    now = now or timezone.now()
    start, end = settings.MESSAGING_QUIET_START, settings.MESSAGING_QUIET_END
    if start == end:
        return None
    local = now.astimezone(customer_zone(customer))
    hour = local.hour
    quiet = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return None
    morning = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning = (local + timedelta(days=1)).replace(hour=end, minute=0, second=0, microsecond=0)
    # Rebuild from the wall-clock time, so that a DST change overnight lands on the morning hour.
    morning = datetime(morning.year, morning.month, morning.day, end, tzinfo=customer_zone(customer))
    return morning.astimezone(UTC)


# --- The same rules over a set of customers, in SQL (campaigns: the audience preview, the chunks) ---


def suppression_reason_expression(*, purpose: str, topic: str, channel: str = Channel.EMAIL):
    """The reason ``message_enqueue`` would give each customer of a ``Customer`` queryset for an
    email of this purpose and topic, as one SQL expression ("" when it would be queued): no
    address (``recipient_of``), then ``SUPPRESSION_RULES`` in their order, read over the customer
    rows. The frequency cap is a send-time rule (``frequency_capped_expression``)."""
    from django.db.models.functions import Lower, Trim

    if channel != Channel.EMAIL:
        raise ValueError("the set-based rules cover email (an SMS number is normalised in Python)")
    refs = Refs(
        customer=OuterRef("pk"),
        channel=Value(channel),
        topic=Value(topic),
        address=Lower(Trim(OuterRef("email"))),
        consent_on_row=True,
    )
    whens = [When(Q(email="") | Q(email__isnull=True), then=Value(Reason.NO_ADDRESS))]
    whens += [
        When(rule.fact.sql(refs), then=Value(rule.reason))
        for rule in SUPPRESSION_RULES
        if purpose == Purpose.PROMOTIONAL or not rule.promotional_only
    ]
    return Case(*whens, default=Value(""))


def frequency_capped_expression(*, now: datetime | None = None):
    """True for the customers (of a ``Customer`` queryset) who have had the cap's worth of promotional
    messages in the last 7 days: those a promotional message would be held back for if sent now."""
    from django.db.models import Count, IntegerField, OuterRef, Subquery
    from django.db.models.functions import Coalesce

    since = (now or timezone.now()) - timedelta(days=7)
    recent = (
        Message.objects.filter(
            customer_id=OuterRef("pk"), purpose=Purpose.PROMOTIONAL, state=Message.State.SENT, sent_at__gte=since
        )
        .order_by()
        .values("customer_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(recent, output_field=IntegerField()), 0)
