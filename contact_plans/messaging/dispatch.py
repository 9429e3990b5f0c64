"""Sending the outbox: the beat's dispatcher and the workers' batches (docs/messaging.md).

``messages_dispatch`` (beat, every few seconds) hands the ids of due messages to
``messages_send_batch_task`` in batches. A worker claims each batch with a lease (a conditional
UPDATE over rows locked with SKIP LOCKED on PostgreSQL; SQLite serialises writers), so two
workers, a retried task or a duplicated beat never hold one message at once. The batch's messages
that the rules now forbid are suppressed in one statement (``_suppress_batch``). Then, over the
SMTP connection the worker process keeps across batches (an email's bytes were prepared at
enqueue and go as they are), for each message in turn:

1. the rules are checked again (consent, opt-outs, bounces; for promotional messages the
   frequency cap, under the customer's row lock; quiet hours) and ``handed_at`` is committed,
   in the same statement as the previous message's "sent" (``_STEP_SQL``);
2. the message is handed to the server;
3. its answer is recorded: sent (with the provider's id, committed with the next hand-over or at
   the end of the batch), retried later (temporary failure, with backoff), or failed with the
   reason.

So at most one message per worker is "in doubt" when the worker is killed: the one with
``handed_at`` set. When its lease runs out it is due again, and sent again with the same
Message-ID (mail systems drop the copy), counted in ``resent_count``. The batch's commits are
PostgreSQL's asynchronous ones (``_commits_not_waiting_for_the_disk``): what that means if the
database server itself crashes is in docs/messaging.md.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Case, Exists, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from contact_plans.models import AddressStatus, Channel, ContactPreference, Message, Purpose
from customers.models import Customer
from retention_crm import events

from . import policy
from .channels import ConnectionLost, DeliveryFailure, PermanentFailure, TemporaryFailure
from .channels.email import EmailChannel, email_build
from .channels.sms import sms_backend
from .outbox import email_headers

logger = logging.getLogger(__name__)

# Ids handed out per beat tick: 40 tasks of MESSAGING_BATCH_SIZE (500). A bigger backlog is taken
# over the next ticks; each id costs the beat a few bytes, the broker a few more.
DISPATCH_PER_TICK = 20_000


def _lease() -> timedelta:
    return timedelta(seconds=settings.MESSAGING_LEASE_SECONDS)


def messages_dispatch(*, now=None) -> int:
    """Queue a send task per batch of due messages; returns how many messages were handed out."""
    from contact_plans.tasks import messages_send_batch_task

    now = now or timezone.now()
    not_recent = Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - _lease())
    due = Q(state=Message.State.QUEUED, due_at__lte=now) | Q(state=Message.State.SENDING, lease_until__lt=now)
    with transaction.atomic():
        ids = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(due & not_recent)
            .order_by("due_at", "id")
            .values_list("id", flat=True)[:DISPATCH_PER_TICK]
        )
        size = settings.MESSAGING_BATCH_SIZE
        batches = [ids[i : i + size] for i in range(0, len(ids), size)]
        for batch in batches:
            Message.objects.filter(id__in=batch).update(dispatched_at=now)
    for batch in batches:
        messages_send_batch_task.delay(batch)
    if ids:
        logger.info("messaging.dispatched messages=%s batches=%s", len(ids), len(batches))
    return len(ids)


def messages_claim(*, message_ids: list[int], now=None) -> tuple[list[int], object]:
    """Take the due messages among ``message_ids`` (those no other worker holds); returns their ids
    and the lease's end, which the later writes check so that a worker whose lease ran out and was
    taken over never overwrites its successor."""
    now = now or timezone.now()
    lease_until = now + _lease()
    table = connection.ops.quote_name(Message._meta.db_table)  # the only name put in the SQL: ours
    # As the ORM writes them (SQLite keeps naive UTC text), so that later filters on the lease match.
    db_lease, db_now = (connection.ops.adapt_datetimefield_value(value) for value in (lease_until, now))
    if connection.vendor == "postgresql":
        sql = f"""
            UPDATE {table} SET state = 'sending', lease_until = %s, updated_at = %s
            WHERE id IN (
                SELECT id FROM {table}
                WHERE id = ANY(%s)
                  AND ((state = 'queued' AND due_at <= %s) OR (state = 'sending' AND lease_until < %s))
                ORDER BY id FOR UPDATE SKIP LOCKED)
            RETURNING id"""  # noqa: S608
        params = [db_lease, db_now, list(message_ids), db_now, db_now]
    else:
        marks = ", ".join(["%s"] * len(message_ids)) or "NULL"
        sql = f"""
            UPDATE {table} SET state = 'sending', lease_until = %s, updated_at = %s
            WHERE id IN ({marks})
              AND ((state = 'queued' AND due_at <= %s) OR (state = 'sending' AND lease_until < %s))
            RETURNING id"""  # noqa: S608
        params = [db_lease, db_now, *message_ids, db_now, db_now]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        claimed = sorted(row[0] for row in cursor.fetchall())
    return claimed, lease_until


# The one statement a message costs on the hot path: the previous message's "sent" (if any) and
# this one's hand-over (if any), on rows found by primary key that this batch's lease still holds.
# RETURNING names the rows it wrote: one missing is a row whose lease ran out and that another
# worker took over. SQL that PostgreSQL and SQLite both run (CASE, IN, RETURNING).
# No "state = 'sending'" in the WHERE: a lease implies it (the constraint message_lease_iff_sending),
# and with it the planner takes the partial index message_sending_lease, whose rows of one batch
# all have the same lease, and reads the whole batch for each message instead of two rows.
_STEP_SQL = """
    UPDATE {table} SET
        state = CASE WHEN id = %(sent)s THEN 'sent' ELSE state END,
        sent_at = CASE WHEN id = %(sent)s THEN %(sent_at)s ELSE sent_at END,
        lease_until = CASE WHEN id = %(sent)s THEN NULL ELSE lease_until END,
        provider_id = CASE WHEN id = %(sent)s THEN %(provider_id)s ELSE provider_id END,
        error = CASE WHEN id = %(sent)s THEN '' ELSE error END,
        handed_at = CASE WHEN id = %(sent)s THEN NULL ELSE %(now)s END,
        attempts = CASE WHEN id = %(sent)s THEN attempts ELSE attempts + 1 END,
        resent_count = CASE WHEN id = %(sent)s OR handed_at IS NULL THEN resent_count ELSE resent_count + 1 END,
        updated_at = %(now)s
    WHERE id IN (%(sent)s, %(handed)s) AND lease_until = %(lease)s
    RETURNING id"""


class _Batch:
    """One worker's claimed messages and the connection of their channel."""

    def __init__(self, channel: str, lease_until, messages: list[Message]):
        self.channel = channel
        self.lease_until = lease_until
        self.db_lease = connection.ops.adapt_datetimefield_value(lease_until)
        self.step_sql = _STEP_SQL.format(table=connection.ops.quote_name(Message._meta.db_table))
        self.rules = policy.BatchRules(messages)
        self.transport = _kept_email_channel() if channel == Channel.EMAIL else sms_backend()
        self.opened = channel == Channel.EMAIL and self.transport.is_open()
        if channel == Channel.EMAIL and not self.opened:
            self.transport.close()  # a kept connection the server dropped: forget it, open anew
        # The last accepted message, recorded as sent in the statement that hands over the next
        # one (one commit per message, not two), or on its own at the end of the batch.
        self.accepted: tuple[Message, str, object] | None = None

    def step(self, *, handed: Message | None, now) -> bool:
        """Record the pending "sent" and mark ``handed`` as handed over, in one statement (its own
        commit, or the caller's transaction's); returns whether ``handed`` is still ours."""
        sent, provider_id, sent_at = self.accepted or (None, "", None)
        self.accepted = None
        if sent is None and handed is None:
            return False
        adapt = connection.ops.adapt_datetimefield_value
        params = {
            "sent": sent and sent.pk,
            "sent_at": adapt(sent_at),
            "provider_id": provider_id,
            "handed": handed and handed.pk,
            "now": adapt(now),
            "lease": self.db_lease,
        }
        with connection.cursor() as cursor:
            cursor.execute(self.step_sql, params)
            written = {row[0] for row in cursor.fetchall()}
        if sent is not None and sent.pk in written:
            events.publish(events.MESSAGE_SENT, message_id=sent.pk, customer_id=sent.customer_id)
        return handed is not None and handed.pk in written

    def record_accepted(self) -> None:
        """Write the pending "sent" on its own (end of the batch, or a message not handed over)."""
        if self.accepted is not None:
            self.step(handed=None, now=timezone.now())

    def ours(self, message_id: int):
        # The lease implies "sending" (see _STEP_SQL): by primary key, not the partial lease index.
        return Message.objects.filter(id=message_id, lease_until=self.lease_until)

    def send(self, message: Message) -> str:
        if not self.opened:
            self.transport.open()
            self.opened = True
        if self.channel == Channel.SMS:
            return self.transport.send(to=message.recipient, text=message.text, reference=message.message_id)
        if message.mime and self.transport.sends_prepared:
            return self.transport.send_prepared(to=message.recipient, raw=bytes(message.mime))
        email = email_build(
            to=message.recipient,
            subject=message.subject,
            html=message.html,
            text=message.text,
            message_id=message.message_id,
            headers=email_headers(customer_id=message.customer_id, purpose=message.purpose),
        )
        return self.transport.send(email)

    def close(self, *, lost: bool = False) -> None:
        """SMS connections end with the batch; the email connection stays open for the worker's
        next batch, unless it was lost."""
        if self.channel == Channel.EMAIL and not lost:
            return
        if self.opened:
            self.transport.close()
        if self.channel == Channel.EMAIL:
            _kept.channel = None


# The email connection a worker keeps across its batches (per thread: a channel is not shared),
# with the settings it was opened for (tests change them). A kept connection is checked with a
# NOOP at a batch's start and opened again when the server has dropped it meanwhile.
_kept = threading.local()


def _kept_email_channel() -> EmailChannel:
    key = (settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT)
    channel = getattr(_kept, "channel", None)
    if channel is not None and _kept.key != key:
        channel.close()
        channel = None
    if channel is None:
        channel = EmailChannel()
        _kept.channel, _kept.key = channel, key
    return channel


@contextlib.contextmanager
def _commits_not_waiting_for_the_disk():
    """PostgreSQL's asynchronous commit for this connection's writes while the block runs.

    A commit is then done (visible to every other session, kept if this worker process dies) when
    the server answers, and reaches the disk up to 3 x ``wal_writer_delay`` (0.6 s) later instead
    of making every message wait for an fsync. Only a crash of the database server itself loses
    those last writes, and what it loses is state that goes back to an earlier, safe one: a "sent"
    message found "sending" again is resent, with the same Message-ID (docs/messaging.md).
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:  # a dead connection takes it along
            cursor.execute("RESET synchronous_commit")


def messages_send_batch(*, message_ids: list[int]) -> dict[str, int]:
    """Claim and send these messages; returns counts by outcome (for logs and tests)."""
    with _commits_not_waiting_for_the_disk():
        return _send_batch(message_ids)


def _send_batch(message_ids: list[int]) -> dict[str, int]:
    claimed, lease_until = messages_claim(message_ids=message_ids)
    outcome = dict.fromkeys(["sent", "retry", "lost", "failed", "suppressed", "waiting", "lost_lease"], 0)
    outcome["claimed"] = len(claimed)
    if not claimed:
        return outcome
    outcome["suppressed"] = _suppress_batch(claimed, lease_until)
    messages = list(
        Message.objects.filter(id__in=claimed, lease_until=lease_until).select_related("customer").order_by("id")
    )
    by_channel: dict[str, list[Message]] = {}
    for message in messages:
        by_channel.setdefault(message.channel, []).append(message)
    for channel, group in by_channel.items():
        batch = _Batch(channel, lease_until, group)
        lost = True  # until the loop ends normally: an exception may leave the connection unusable
        try:
            for position, message in enumerate(group):
                result = _send_one(batch, message)
                outcome[result] += 1
                if result == "lost":
                    _release(batch, group[position + 1 :])
                    break
            lost = outcome["lost"] > 0
        finally:
            batch.record_accepted()
            batch.close(lost=lost)
    logger.info("messaging.batch_done %s", " ".join(f"{k}={v}" for k, v in outcome.items()))
    return outcome


def _suppress_batch(claimed: list[int], lease_until) -> int:
    """Suppress, in one statement, the claimed messages that the rules now forbid (consent withdrawn,
    the channel or topic declined, the address blocked since enqueue); returns how many.

    The rules of ``policy._reason`` in SQL, in its order: a blocked address (its status is the
    reason's name), then, for promotional messages only, no consent, then a declined channel or
    topic. Each message is checked once more just before it is sent (``_hand_over``): what changes
    during the batch is caught there.
    """
    blocked = AddressStatus.objects.filter(channel=OuterRef("channel"), address=OuterRef("recipient"))
    declined = ContactPreference.objects.filter(
        customer_id=OuterRef("customer_id"), channel=OuterRef("channel"), subscribed=False
    ).filter(Q(topic="") | Q(topic=OuterRef("topic")))
    no_consent = Exists(Customer.objects.filter(pk=OuterRef("customer_id"), marketing_consent=False))
    promotional = Q(purpose=Purpose.PROMOTIONAL)
    reason = Case(
        When(Exists(blocked), then=Subquery(blocked.values("status")[:1])),
        When(promotional & no_consent, then=Value(Message.Reason.NO_CONSENT)),
        When(promotional & Exists(declined), then=Value(Message.Reason.UNSUBSCRIBED)),
        default=Value(""),
    )
    forbidden = Exists(blocked) | (promotional & (no_consent | Exists(declined)))
    marked = Message.objects.filter(forbidden, id__in=claimed, lease_until=lease_until).update(
        state=Message.State.SUPPRESSED, reason=reason, lease_until=None, handed_at=None, updated_at=timezone.now()
    )
    if not marked:
        return 0
    # Those of our claimed rows now suppressed are the ones just marked: the lease kept them ours.
    withheld = Message.objects.filter(id__in=claimed, state=Message.State.SUPPRESSED, lease_until__isnull=True)
    withheld = list(withheld.values_list("id", "customer_id", "reason"))
    for message_id, customer_id, why in withheld:
        events.publish(events.MESSAGE_SUPPRESSED, message_id=message_id, customer_id=customer_id, reason=why)
    return len(withheld)


def _send_one(batch: _Batch, message: Message) -> str:
    now = timezone.now()
    verdict = _hand_over(batch, message, now)
    if verdict != "handed":
        return verdict
    try:
        provider_id = batch.send(message)
    except ConnectionLost as exc:
        _retry(batch, message, exc)
        return "lost"
    except TemporaryFailure as exc:
        return _retry(batch, message, exc)
    except PermanentFailure as exc:
        _fail(batch, message, Message.Reason.REJECTED, exc.detail)
        return "failed"
    batch.accepted = (message, provider_id, timezone.now())
    return "sent"


def _hand_over(batch: _Batch, message: Message, now) -> str:
    """Check the rules once more, then record the previous message's "sent" and this one's
    hand-over in one statement; returns "handed" or why not."""
    if message.purpose != Purpose.PROMOTIONAL:
        return _decide(batch, message, message.customer, now)
    # Consent as it is now, and the cap: the customer's row lock orders two workers that hand
    # over messages of one customer, since the cap counts those being handed over.
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=message.customer_id)
        return _decide(batch, message, customer, now)


def _decide(batch: _Batch, message: Message, customer: Customer, now) -> str:
    reason = batch.rules.reason(message, customer)
    if not reason and message.purpose == Purpose.PROMOTIONAL:
        if policy.frequency_capped(customer_id=customer.pk, exclude_id=message.pk, now=now):
            reason = Message.Reason.FREQUENCY_CAP
    if reason:
        batch.record_accepted()
        _suppress(batch, message, reason)
        return "suppressed"
    if policy.waits_for_quiet_hours(channel=message.channel, purpose=message.purpose):
        morning = policy.quiet_hours_end(customer=customer, now=now)
        if morning is not None:
            batch.record_accepted()
            batch.ours(message.pk).update(
                state=Message.State.QUEUED, due_at=morning, lease_until=None, handed_at=None, dispatched_at=None
            )
            return "waiting"
    if not batch.step(handed=message, now=now):  # our lease ran out and another worker has it
        return "lost_lease"
    message.attempts += 1
    if message.handed_at is not None:
        logger.warning("messaging.resend_in_doubt message=%s", message.pk)
    return "handed"


def _suppress(batch: _Batch, message: Message, reason: str) -> None:
    done = batch.ours(message.pk).update(
        state=Message.State.SUPPRESSED, reason=reason, lease_until=None, handed_at=None, updated_at=timezone.now()
    )
    if done:
        events.publish(events.MESSAGE_SUPPRESSED, message_id=message.pk, customer_id=message.customer_id, reason=reason)


def _fail(batch: _Batch, message: Message, reason: str, detail: str) -> None:
    done = batch.ours(message.pk).update(
        state=Message.State.FAILED,
        reason=reason,
        error=detail,
        lease_until=None,
        handed_at=None,
        updated_at=timezone.now(),
    )
    if done:
        events.publish(events.MESSAGE_FAILED, message_id=message.pk, customer_id=message.customer_id, reason=reason)
    logger.warning("messaging.failed message=%s reason=%s", message.pk, reason)


def _retry(batch: _Batch, message: Message, exc: DeliveryFailure) -> str:
    if message.attempts >= settings.MESSAGING_MAX_ATTEMPTS:
        _fail(batch, message, Message.Reason.RETRIES_EXHAUSTED, exc.detail)
        return "failed"
    delay = settings.MESSAGING_RETRY_BASE_SECONDS * 2 ** max(message.attempts - 1, 0)
    batch.ours(message.pk).update(
        state=Message.State.QUEUED,
        due_at=timezone.now() + timedelta(seconds=delay),
        error=exc.detail,
        lease_until=None,
        handed_at=None,
        dispatched_at=None,
        updated_at=timezone.now(),
    )
    logger.info("messaging.retry message=%s attempt=%s in=%ss", message.pk, message.attempts, delay)
    return "retry"


def _release(batch: _Batch, rest: list[Message]) -> None:
    """The connection is gone: the messages not yet tried go back to the queue as they were."""
    ids = [m.pk for m in rest]
    if ids:
        Message.objects.filter(
            id__in=ids, state=Message.State.SENDING, lease_until=batch.lease_until, handed_at__isnull=True
        ).update(state=Message.State.QUEUED, lease_until=None, dispatched_at=None)
