"""Sending the outbox: the beat's dispatcher and the workers' batches (docs/messaging.md).

``messages_dispatch`` (beat, every few seconds) hands the ids of due messages to
``messages_send_batch_task`` in batches. A worker claims each batch with a lease (a conditional
UPDATE over rows locked with SKIP LOCKED on PostgreSQL; SQLite serialises writers), so two
workers, a retried task or a duplicated beat never hold one message at once. The batch's messages
that the rules now forbid are suppressed in one statement (``_suppress_batch``). Then, over the
SMTP connection the worker process keeps across batches (an email's bytes were prepared at
enqueue and go as they are), for each message in turn:

1. the rules are checked again (consent, opt-outs, bounces; for promotional messages the
   frequency cap, under the customer's row lock; quiet hours) and ``handed_at`` is written, in
   the same statement as the previous message's "sent" (``_STEP_SQL``): on PostgreSQL outside a
   transaction, sent on a second connection without waiting (``_Overlapped``), while the SMTP
   server answers the message's ``MAIL`` and ``RCPT``;
2. the statement's commit is confirmed (``_Batch.confirm``) before ``DATA``, the only step that
   delivers, and the message is handed to the server;
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
import select
import threading
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from contact_plans.models import Channel, Message, Purpose
from customers.models import Customer
from retention_crm import events

from . import policy
from .channels import ConnectionLost, DeliveryFailure, TemporaryFailure, Withdrawn
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

# The statement's parameters and their types, for the second connection's prepared statement.
_STEP_PARAMS = {
    "sent": "bigint",
    "sent_at": "timestamptz",
    "provider_id": "varchar",
    "handed": "bigint",
    "now": "timestamptz",
    "lease": "timestamptz",
}
_EXECUTE_STEP = f"EXECUTE messaging_step ({', '.join(f'%({name})s' for name in _STEP_PARAMS)})"


class _Overlapped:
    """A second PostgreSQL connection of the batch's own, on which the per-message statement is
    sent without waiting for its answer (psycopg2's asynchronous mode), so that the database's
    round trip runs while the SMTP server answers ``MAIL`` and ``RCPT``; ``finish`` waits for the
    answer (the statement committed) before ``DATA``. Autocommit, and the asynchronous commit of
    the batch (``_commits_not_waiting_for_the_disk``), like the worker's own connection."""

    def __init__(self):
        import psycopg2

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)  # Django's, for its own connection
        self.connection = psycopg2.connect(**params, async_=1)
        self._wait()
        self.cursor = self.connection.cursor()
        self.cursor.execute("SET synchronous_commit TO OFF")
        self._wait()
        # The statement parsed and planned once per batch, not once per message (a third of the
        # database's work for it; docs/benchmarks.md).
        step = _STEP_SQL.format(table=connection.ops.quote_name(Message._meta.db_table))
        for number, name in enumerate(_STEP_PARAMS, start=1):
            step = step.replace(f"%({name})s", f"${number}")
        self.cursor.execute(f"PREPARE messaging_step ({', '.join(_STEP_PARAMS.values())}) AS {step}")
        self._wait()

    def _wait(self) -> None:
        import psycopg2.extensions as pg

        while True:
            state = self.connection.poll()
            if state == pg.POLL_OK:
                return
            if state == pg.POLL_READ:
                select.select([self.connection.fileno()], [], [])
            elif state == pg.POLL_WRITE:
                select.select([], [self.connection.fileno()], [])

    def begin(self, params: dict) -> None:
        self.cursor.execute(_EXECUTE_STEP, params)

    def finish(self) -> set[int]:
        self._wait()
        return {row[0] for row in self.cursor.fetchall()}

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a connection the server already dropped
            self.connection.close()


def _overlapped_writes():
    """The batch's second connection, where it can be had: PostgreSQL, and no transaction around
    the batch (inside one, as in tests, a second connection would not see its rows)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return None
    import psycopg2

    try:
        return _Overlapped()
    except psycopg2.Error as exc:  # e.g. max_connections reached: the batch writes as before
        logger.warning("messaging.second_connection_refused error=%s", type(exc).__name__)
        return None


class _Batch:
    """One worker's claimed messages and the connection of their channel.

    A message's hand-over is ``begin_step`` (the statement sent: on the second connection without
    waiting, when there is one) and ``confirm`` (its answer: the hand-over committed and the lease
    still ours), which a channel calls just before the step that delivers; so the state of every
    message is committed before the next one can be accepted, as when the two were one call.
    """

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
        self.overlapped = _overlapped_writes()
        # The last accepted message, recorded as sent in the statement that hands over the next
        # one (one commit per message, not two), or on its own at the end of the batch.
        self.accepted: tuple[Message, str, object] | None = None
        # The statement sent and not yet answered: (the message it records as sent, the one it
        # hands over, the rows it wrote when it ran on the worker's own connection).
        self.pending: tuple[Message | None, Message | None, set[int] | None] | None = None
        self.confirmed: int | None = None  # the message whose hand-over is confirmed

    def begin_step(self, *, handed: Message | None, now) -> None:
        """Send the statement that records the pending "sent" and marks ``handed`` as handed over:
        on the second connection without waiting for it (outside a transaction), else at once."""
        self.finish_step()
        sent, provider_id, sent_at = self.accepted or (None, "", None)
        self.accepted = None
        if sent is None and handed is None:
            return
        adapt = connection.ops.adapt_datetimefield_value
        params = {
            "sent": sent and sent.pk,
            "sent_at": adapt(sent_at),
            "provider_id": provider_id,
            "handed": handed and handed.pk,
            "now": adapt(now),
            "lease": self.db_lease,
        }
        if self.overlapped is not None and not connection.in_atomic_block:
            try:
                self.overlapped.begin(params)
            except Exception:  # unknown whether it ran: the rows stay as the lease left them
                self._overlapped_lost()
                raise
            self.pending = (sent, handed, None)
            return
        with connection.cursor() as cursor:
            cursor.execute(self.step_sql, params)
            self.pending = (sent, handed, {row[0] for row in cursor.fetchall()})

    def finish_step(self) -> bool:
        """Wait for the statement sent (if any); returns whether the message it handed over is
        still ours."""
        if self.pending is None:
            return False
        sent, handed, written = self.pending
        self.pending = None
        if written is None:
            try:
                written = self.overlapped.finish()
            except Exception:
                self._overlapped_lost()
                raise
        if sent is not None and sent.pk in written:
            events.publish(events.MESSAGE_SENT, message_id=sent.pk, customer_id=sent.customer_id)
        return handed is not None and handed.pk in written

    def _overlapped_lost(self) -> None:
        """The second connection failed: the rest of the batch writes on the worker's own."""
        self.overlapped.close()
        self.overlapped = None

    def confirm(self, message: Message) -> bool:
        """Is ``message``'s hand-over committed and still ours? (Waits for its statement once.)"""
        if self.confirmed == message.pk:
            return True
        if not self.finish_step():
            return False
        self.confirmed = message.pk
        message.attempts += 1
        if message.handed_at is not None:
            logger.warning("messaging.resend_in_doubt message=%s", message.pk)
        return True

    def record_accepted(self) -> None:
        """Write the pending "sent" on its own (end of the batch, or a message not handed over)."""
        self.finish_step()
        if self.accepted is not None:
            self.begin_step(handed=None, now=timezone.now())
            self.finish_step()

    def ours(self, message_id: int):
        # The lease implies "sending" (see _STEP_SQL): by primary key, not the partial lease index.
        return Message.objects.filter(id=message_id, lease_until=self.lease_until)

    def send(self, message: Message) -> str:
        """Hand ``message`` over; its hand-over is confirmed before it can be delivered (raises
        ``Withdrawn`` when it is not ours any more)."""
        if not self.opened:
            self.transport.open()
            self.opened = True
        if self.channel == Channel.EMAIL and message.mime and self.transport.sends_prepared:
            return self.transport.send_prepared(
                to=message.recipient, raw=bytes(message.mime), before_data=lambda: self.confirm(message)
            )
        if not self.confirm(message):
            raise Withdrawn("the hand-over was not confirmed")
        if self.channel == Channel.SMS:
            return self.transport.send(to=message.recipient, text=message.text, reference=message.message_id)
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
        next batch, unless it was lost. The second database connection ends with the batch."""
        if self.overlapped is not None:
            self.overlapped.close()
            self.overlapped = None
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

    The rules are ``policy.SUPPRESSION_RULES`` as SQL (``policy.suppression_sql``), the same table
    the enqueue and the check just before each message is sent (``_hand_over``) read in Python:
    what changes during the batch is caught there.
    """
    reason, forbidden = policy.suppression_sql()
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
    except Withdrawn:  # our lease ran out and another worker has it: nothing was delivered
        return "lost_lease"
    except DeliveryFailure as exc:
        if not batch.confirm(message):  # refused before DATA: the hand-over's answer, first
            return "lost_lease"
        if isinstance(exc, ConnectionLost):
            _retry(batch, message, exc)
            return "lost"
        if isinstance(exc, TemporaryFailure):
            return _retry(batch, message, exc)
        _fail(batch, message, Message.Reason.REJECTED, exc.detail)
        return "failed"
    batch.accepted = (message, provider_id, timezone.now())
    return "sent"


def _hand_over(batch: _Batch, message: Message, now) -> str:
    """Check the rules once more, then send the statement that records the previous message's
    "sent" and this one's hand-over; returns "handed" or why not."""
    if message.purpose != Purpose.PROMOTIONAL:
        return _decide(batch, message, message.customer, now)
    # Consent as it is now, and the cap: the customer's row lock orders two workers that hand
    # over messages of one customer, since the cap counts those being handed over. The hand-over
    # is written in this transaction, before the lock is released.
    batch.finish_step()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=message.customer_id)
        verdict = _decide(batch, message, customer, now)
        if verdict == "handed" and not batch.confirm(message):
            verdict = "lost_lease"
        return verdict


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
    batch.begin_step(handed=message, now=now)  # confirmed by batch.send before it can be delivered
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
