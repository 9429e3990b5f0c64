"""Writing many messages of one template to the outbox at once, set-based: the outbox's bulk path.

``messages_write_bulk(template=, items=, track_links=)`` is to a chunk of customers what
``send_template`` -> ``message_enqueue`` is to one: the same rules, the same rows. Campaigns call it
per chunk of a run (contact_plans/campaigns/bulk.py), the contact plans' step runner per step per
chunk of due enrolments (contact_plans/plans/runner.py), for email and SMS templates. One call is,
inside the caller's transaction:

1. the outbox's reasons for the chunk's customers, in the order and words of ``message_enqueue``:
   for an email **in SQL** (``policy.suppression_reason_expression``: no address, a bounced or
   complained address, for a promotional template no marketing consent, the channel or topic
   unsubscribed); for an SMS each phone number normalised as ``message_enqueue`` normalises it
   (``policy.recipient_of``: ``phonenumbers``, the customer's country as the default region; no
   number "no address", an invalid one "invalid phone") and ``SUPPRESSION_RULES`` read over the
   chunk's numbers and customers with ``policy.BatchRules`` (two queries: a STOP, consent, the SMS
   channel or the topic declined). The frequency cap and quiet hours (for an SMS, in the
   customer's zone whatever its purpose) stay send-time rules, as for every message;
2. the message rendered **once per language** when the template says nothing about the customer but
   their unsubscribe and preference links (a newsletter): each customer's token is put in by
   replacing a marker; a personalised template is rendered once per group of customers whose
   values its tests and filters read alike, with sentinels for the values it only writes out, and
   each customer's values put in their places (skeleton.py; per customer where it cannot be exact),
   grouped by language (each part compiled once per process, the text part from the HTML's derived
   text template, the placeholders with a bulk provider read once per group, one token for both
   links);
3. an email's links through the click-recording redirect (one signed token per message and link), unless
   tracking is off (setting, template or caller);
4. an SMS finished as ``message_enqueue`` finishes it (``outbox.sms_finish``): "Reply STOP to opt
   out" in the message's language at the end of a promotional one, "too long" (failed) past
   ``SMS_MAX_SEGMENTS``; rendered, like the one-message path, whether or not it is suppressed;
5. items whose source key already has a message add nothing and get that message back, so a chunk
   run twice sends nothing twice; the others' rows ``COPY``'d straight into the outbox (PostgreSQL,
   ids drawn from its sequence, under a savepoint: ``_copied``), or, when a key was written
   meanwhile (and on SQLite, ``make run``'s default, with ``executemany``), staged in a temporary
   table and moved with one ``INSERT ... SELECT ... ON CONFLICT (source_key) DO NOTHING``
   (``_staged``).

Emails written here carry no prepared bytes (``Message.mime`` is empty): the dispatcher builds an
email without bytes at send time, as it does for the other email backends; the Message-ID is made
here, so a resend is still recognised as the same message.

An SMS has no subject, HTML, prepared bytes or tracked links, as on the one-message path.

Databases other than PostgreSQL and SQLite go through the one-message path (``send_template`` per
item). Same arguments, same answer.
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import prefetch_related_objects
from django.db.models.functions import Lower, Trim
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from contact_plans.models import Channel, Message, MessageTemplate
from customers.models import Customer
from retention_crm import events
from retention_crm import message_placeholders as mp
from retention_crm.sql import copy_text

from . import links, policy, skeleton
from .outbox import message_id_new, sms_finish
from .rendering import RenderError, content_names, message_context, names_used, render_content, render_parts
from .unsubscribe import email_links, preferences_url, token_make, unsubscribe_url

logger = logging.getLogger(__name__)

# Names a template may use and still be rendered once per language (the links are swapped in).
PER_CUSTOMER_LINKS = frozenset({"unsubscribe_url", "preferences_url"})


@dataclass(frozen=True)
class BulkItem:
    """One message to write: to ``customer`` (with ``language``, ``email`` and ``pk`` loaded; for an
    SMS also ``phone``, ``country`` and ``marketing_consent``), under ``source_key``, due at
    ``due_at`` (None: now)."""

    customer: Customer
    source_key: str
    due_at: datetime | None = None


@dataclass(frozen=True)
class BulkOutcome:
    """What became of an item: its message (``message_id``, ``state``, ``reason``; ``created`` False
    when the source key had one already), or ``message_id`` None and ``error`` when the template
    could not be rendered for the customer (nothing written)."""

    message_id: int | None
    state: str = ""
    reason: str = ""
    created: bool = False
    error: str = ""


class ChunkRenderer:
    """The template's messages for a chunk's customers: shared per language where it can be, else
    rendered per customer, grouped by language."""

    def __init__(self, template: MessageTemplate):
        self.template = template
        self.shared: dict[str, tuple | None] = {}
        self.rendered: dict[int, tuple[str, str, str, str] | RenderError] = {}
        self.contents = {content.language: content for content in template.contents.all()}

    def content(self, language: str | None):
        """``rendering.content_for`` over the contents read once for the chunk."""
        if language in self.contents:
            return self.contents[language]
        if self.template.fallback_language in self.contents:
            return self.contents[self.template.fallback_language]
        raise RenderError(_("The template has no text in its fallback language."))

    def prepare(self, customers: list[Customer]) -> None:
        """Render the messages of the customers whose template reads more of them than their links:
        per language, under one activation of it; the placeholders that offer a bulk provider
        (metrics, recommended products...) read for the whole group in one call each, and the two
        links of a message made from one token."""
        groups: dict[str, list[Customer]] = defaultdict(list)
        for customer in customers:
            try:
                content = self.content(customer.language)
                shared = self.shared_for(content)
            except RenderError as exc:
                self.rendered[customer.pk] = exc
                continue
            if shared is None:
                groups[content.language].append(customer)
        for language, group in groups.items():
            content = self.contents[language]
            try:
                names = content_names(self.template, content)
            except RenderError as exc:
                self.rendered.update((customer.pk, exc) for customer in group)
                continue
            plan = skeleton.plan_for(self.template, content)
            with translation.override(language):
                values = self._bulk_values(names, group)
                for customer in group:
                    context = self._context(names, customer, values.get(customer.pk))
                    rendered = plan.render(context) if plan is not None and plan.worth_it else None
                    if rendered is None:
                        try:
                            rendered = render_parts(self.template, content, context)
                        except RenderError as exc:
                            self.rendered[customer.pk] = exc
                            continue
                    self.rendered[customer.pk] = rendered.language, rendered.subject, rendered.html, rendered.text

    def _bulk_values(self, names, group: list[Customer]) -> dict[int, dict]:
        values: dict[int, dict] = defaultdict(dict)
        for name in sorted(names):
            placeholder = mp.get(name)
            if placeholder is None or placeholder.bulk_provider is None:
                continue
            found = placeholder.bulk_provider(group)
            for customer in group:
                if customer.pk in found:
                    values[customer.pk][name] = found[customer.pk]
        return values

    def _context(self, names, customer: Customer, extra: dict | None) -> dict:
        if names & PER_CUSTOMER_LINKS:
            unsubscribe, preferences = email_links(customer.pk)
            extra = {**(extra or {}), "unsubscribe_url": unsubscribe, "preferences_url": preferences}
        return message_context(customer, names, extra=extra)

    def shared_for(self, content):
        """(subject, html, text, marker, language) rendered once for every customer of this language,
        or None when the template reads anything of the customer's but their links."""
        if content.language in self.shared:
            return self.shared[content.language]
        result = None
        if names_used(content.subject, content.html, content.text) <= PER_CUSTOMER_LINKS:
            # Rendered twice with two markers in place of the customer's token: if the outputs differ
            # by the marker alone, the template uses the links as they are and a replace is exact.
            first, second = (self._with_marker(content, secrets.token_hex(12)) for _ in range(2))
            if first and second and tuple(p.replace(first[3], second[3]) for p in first[:3]) == second[:3]:
                result = first
        self.shared[content.language] = result
        return result

    def _with_marker(self, content, marker: str):
        token0 = token_make(0)
        extra = {
            "unsubscribe_url": unsubscribe_url(0).replace(token0, marker),
            "preferences_url": preferences_url(0).replace(token0, marker),
        }
        try:
            rendered = render_content(self.template, content, None, extra=extra)
        except RenderError:
            return None
        return rendered.subject, rendered.html, rendered.text, marker, rendered.language

    def render(self, customer: Customer) -> tuple[str, str, str, str]:
        """(language, subject, html, text); RenderError when it cannot be rendered for them."""
        done = self.rendered.get(customer.pk)
        if isinstance(done, RenderError):
            raise done
        if done is not None:
            return done
        content = self.content(customer.language)
        shared = self.shared_for(content)
        if shared is not None:
            subject, html, text, marker, language = shared
            token = token_make(customer.pk)
            return language, subject, html.replace(marker, token), text.replace(marker, token)
        rendered = render_content(self.template, content, customer)  # not prepared: on its own
        return rendered.language, rendered.subject, rendered.html, rendered.text


_STAGE_SQL = """
    CREATE TEMPORARY TABLE outbox_bulk_stage (
        customer_id bigint, reason text, recipient text, subject text, html text, body_text text,
        language text, source_key text, due_at timestamptz, message_id text, state text
    ) ON COMMIT DROP"""

_INSERT_SQL = """
    INSERT INTO contact_plans_message (
        customer_id, channel, purpose, topic, recipient, subject, html, text, mime, language, template_id,
        source_key, due_at, state, reason, error, attempts, resent_count, provider_id, message_id,
        created_at, updated_at)
    SELECT customer_id, %(channel)s, %(purpose)s, %(topic)s, recipient, subject, html, body_text, ''::bytea,
        language, %(template)s, source_key, due_at, state, reason, '', 0, 0, '', message_id, now(), now()
    FROM outbox_bulk_stage
    ON CONFLICT (source_key) DO NOTHING
    RETURNING id, customer_id, state, reason, source_key"""


# The direct path (``_copied``): the rows' ids drawn from the outbox's sequence in one statement (with
# the transaction's time, the rows' created_at as now() gives it on the staged path), then COPY into
# the table itself; the columns are the staging table's, the id first and the template's last.
_IDS_SQL = """
    SELECT array_agg(nextval(pg_get_serial_sequence('contact_plans_message', 'id'))), now()::text
    FROM generate_series(1, %s)"""

_COPY_SQL = """
    COPY contact_plans_message (
        id, customer_id, reason, recipient, subject, html, text, language, source_key, due_at, message_id, state,
        channel, purpose, topic, template_id, created_at, updated_at, mime, error, attempts, resent_count, provider_id)
    FROM STDIN"""


# SQLite (make run's default) stages the same rows with executemany and moves them with the same
# INSERT ... SELECT: its own words for an empty blob and the time (no bytea, no now()); ``WHERE true``
# keeps SQLite from reading ON CONFLICT as a join's ON.
_STAGE_SQLITE = """
    CREATE TEMP TABLE outbox_bulk_stage (
        customer_id integer, reason text, recipient text, subject text, html text, body_text text,
        language text, source_key text, due_at text, message_id text, state text)"""

_INSERT_SQLITE = """
    INSERT INTO contact_plans_message (
        customer_id, channel, purpose, topic, recipient, subject, html, text, mime, language, template_id,
        source_key, due_at, state, reason, error, attempts, resent_count, provider_id, message_id,
        created_at, updated_at)
    SELECT customer_id, %(channel)s, %(purpose)s, %(topic)s, recipient, subject, html, body_text, X'',
        language, %(template)s, source_key, due_at, state, reason, '', 0, 0, '', message_id, %(now)s, %(now)s
    FROM outbox_bulk_stage WHERE true
    ON CONFLICT (source_key) DO NOTHING
    RETURNING id, customer_id, state, reason, source_key"""

# Rows per executemany: a chunk of the callers (500 enrolments, 5,000 recipients) is one or a few.
_SQLITE_STAGE_BATCH = 5000


def _stage_and_insert_sqlite(cursor, buffer: io.StringIO, template: MessageTemplate) -> None:
    """SQLite's form of the COPY and INSERT below: the rows of ``buffer`` (the COPY's CSV) staged
    with ``executemany``, their due time in the ORM's format, then moved in one statement whose
    RETURNING rows the caller fetches."""
    cursor.execute(_STAGE_SQLITE)
    due = 8  # the due time's column (an ISO datetime with its offset in the CSV)
    rows = [
        [*row[:due], connection.ops.adapt_datetimefield_value(datetime.fromisoformat(row[due])), *row[due + 1 :]]
        for row in csv.reader(buffer)
    ]
    for start in range(0, len(rows), _SQLITE_STAGE_BATCH):
        cursor.executemany(
            "INSERT INTO outbox_bulk_stage VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows[start : start + _SQLITE_STAGE_BATCH],
        )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    cursor.execute(
        _INSERT_SQLITE,
        {
            "channel": template.channel,
            "purpose": template.purpose,
            "topic": template.topic,
            "template": template.pk,
            "now": now,
        },
    )


def _csv(rows) -> io.StringIO:
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL).writerows(rows)  # quoted: an empty text is '', not NULL
    buffer.seek(0)
    return buffer


def _staged(template: MessageTemplate, rows: list[list]) -> list[tuple]:
    """The rows through a temporary table and one ``INSERT ... SELECT ... ON CONFLICT (source_key)
    DO NOTHING``: the rows whose key has a message already add nothing. (id, customer id, state,
    reason, source key) of each row added."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            _stage_and_insert_sqlite(cursor, _csv(rows), template)
        else:
            cursor.execute(_STAGE_SQL)
            cursor.copy_expert("COPY outbox_bulk_stage FROM STDIN", copy_text(rows))
            cursor.execute(
                _INSERT_SQL,
                {
                    "channel": template.channel,
                    "purpose": template.purpose,
                    "topic": template.topic,
                    "template": template.pk,
                },
            )
        added = cursor.fetchall()
        cursor.execute("DROP TABLE outbox_bulk_stage")
    return added


def _copied(template: MessageTemplate, rows: list[list]) -> list[tuple] | None:
    """The rows ``COPY``'d straight into the outbox (PostgreSQL), their ids drawn from the table's
    sequence first: no temporary table and no second pass over the rows. Under a savepoint: when a
    source key (or Message-ID) has a message already, written since ``_write`` looked (another
    worker, a task delivered twice), the COPY fails as a whole, nothing is kept, and the answer is
    None: the caller then writes the rows with ``_staged``, which skips the keys taken. As
    ``_staged``'s answer otherwise."""
    with connection.cursor() as cursor:
        cursor.execute(_IDS_SQL, [len(rows)])
        ids, created = cursor.fetchone()  # the time as text: it is written back as it is
        constant = (template.channel, template.purpose, template.topic, template.pk, created, created, "", "", 0, 0, "")
        buffer = copy_text(rows, first=ids, last=constant)
        try:
            # copy_expert is psycopg's own: its errors wrapped as Django's, so IntegrityError is caught.
            with transaction.atomic(), connection.wrap_database_errors:
                cursor.copy_expert(_COPY_SQL, buffer)
        except IntegrityError:
            logger.info("messaging.bulk_copy_conflict template=%s rows=%s", template.pk, len(rows))
            return None
    return [(pk, row[0], row[10], row[1], row[7]) for pk, row in zip(ids, rows, strict=True)]


def messages_write_bulk(
    *, template: MessageTemplate, items: list[BulkItem], track_links: bool = True
) -> dict[str, BulkOutcome]:
    """Write the messages of ``template`` for ``items`` (one per source key) and return each
    source key's outcome. Idempotent on the source key. Runs in the caller's transaction (or its own)."""
    if not items:
        return {}
    if template.channel not in (Channel.EMAIL, Channel.SMS) or connection.vendor not in ("postgresql", "sqlite"):
        return _one_by_one(template, items)
    with transaction.atomic():
        return _write(template, items, track_links=track_links)


def suppression_reasons(*, template: MessageTemplate, customer_ids) -> dict[int, tuple[str, str]]:
    """{customer id: (the reason the outbox would give an email of ``template`` now, or "";
    their address)}, in one query (campaigns record it for their control group too)."""
    return {
        pk: (reason, address)
        for pk, reason, address in Customer.objects.filter(pk__any=list(customer_ids))
        .annotate(
            why=policy.suppression_reason_expression(purpose=template.purpose, topic=template.topic),
            address=Lower(Trim("email")),
        )
        .values_list("pk", "why", "address")
    }


def sms_suppression_reasons(*, template: MessageTemplate, customers: list[Customer]) -> dict[int, tuple[str, str]]:
    """{customer id: (the reason the outbox would give an SMS of ``template`` now, or ""; their
    number in E.164, or "")}: each number read as ``message_enqueue`` reads it
    (``policy.recipient_of``), then ``SUPPRESSION_RULES`` over the chunk's numbers and customers
    (``policy.BatchRules``, the worker's own reading of them: two queries for the chunk), each
    customer's consent as loaded, as ``message_enqueue`` reads it."""
    recipients = {customer.pk: policy.recipient_of(customer, Channel.SMS) for customer in customers}
    probes = {
        pk: Message(
            customer_id=pk, channel=Channel.SMS, purpose=template.purpose, topic=template.topic, recipient=number
        )
        for pk, (number, why) in recipients.items()
        if not why
    }
    rules = policy.BatchRules(list(probes.values()))
    return {
        customer.pk: (
            recipients[customer.pk][1] or rules.reason(probes[customer.pk], customer),
            recipients[customer.pk][0],
        )
        for customer in customers
    }


def _one_by_one(template: MessageTemplate, items: list[BulkItem]) -> dict[str, BulkOutcome]:
    from .sending import send_template

    outcomes = {}
    for item in items:
        existed = Message.objects.filter(source_key=item.source_key).values_list("pk", flat=True).first()
        try:
            message = send_template(
                template=template, customer=item.customer, source_key=item.source_key, due_at=item.due_at
            )
        except RenderError as exc:
            outcomes[item.source_key] = BulkOutcome(None, error=str(exc))
            continue
        outcomes[item.source_key] = BulkOutcome(message.pk, message.state, message.reason, existed is None)
    return outcomes


def _write(template: MessageTemplate, items: list[BulkItem], *, track_links: bool) -> dict[str, BulkOutcome]:
    keys = [item.source_key for item in items]
    outcomes: dict[str, BulkOutcome] = {
        key: BulkOutcome(pk, state, reason)
        for pk, key, state, reason in Message.objects.filter(source_key__any=keys).values_list(
            "pk", "source_key", "state", "reason"
        )
    }
    todo = [item for item in items if item.source_key not in outcomes]
    if not todo:
        return outcomes
    prefetch_related_objects([template], "contents")  # read once, not per customer (no query when done)
    sms = template.channel == Channel.SMS
    customers = list({item.customer.pk: item.customer for item in todo}.values())
    if sms:
        reasons = sms_suppression_reasons(template=template, customers=customers)
    else:
        reasons = suppression_reasons(template=template, customer_ids={customer.pk for customer in customers})
    renderer = ChunkRenderer(template)
    # An SMS is rendered whatever its reason, as message_enqueue is handed it; a suppressed email is not.
    renderer.prepare([c for c in customers if sms or not reasons.get(c.pk, ("x",))[0]])
    track = not sms and links.tracking_enabled(template=template, campaign_track_links=track_links)
    now = timezone.now()
    rows = []
    for item in todo:
        customer = item.customer
        reason, address = reasons.get(customer.pk, (Message.Reason.NO_ADDRESS, ""))
        subject = html = text = ""
        language = customer.language
        message_id = message_id_new()
        state = Message.State.SUPPRESSED if reason else Message.State.QUEUED
        if sms or not reason:
            try:
                language, subject, html, text = renderer.render(customer)
            except RenderError as exc:
                logger.warning(
                    "messaging.bulk_render_failed template=%s customer=%s: %s", template.pk, customer.pk, exc
                )
                outcomes[item.source_key] = BulkOutcome(None, error=str(exc))
                continue
            if sms:
                subject = html = ""
                text, state, reason = sms_finish(text=text, purpose=template.purpose, language=language, reason=reason)
            elif track:
                html, text = links.links_track(html=html, text=text, message_id=message_id)
        rows.append(
            [
                customer.pk,
                reason,
                address,
                subject[:255],
                html,
                text,
                language or customer.language,
                item.source_key,
                (item.due_at or now).isoformat(),
                message_id,
                state,
            ]
        )
    added = _copied(template, rows) if rows and connection.vendor == "postgresql" else None
    if added is None:
        added = _staged(template, rows) if rows else []
    for pk, customer_id, state, reason, key in added:
        outcomes[key] = BulkOutcome(pk, state, reason, created=True)
        if state == Message.State.SUPPRESSED:
            events.publish(events.MESSAGE_SUPPRESSED, message_id=pk, customer_id=customer_id, reason=reason)
        elif state == Message.State.FAILED:
            events.publish(events.MESSAGE_FAILED, message_id=pk, customer_id=customer_id, reason=reason)
    missing = [item.source_key for item in todo if item.source_key not in outcomes]
    if missing:
        # Written meanwhile by someone else under the same key (ON CONFLICT): theirs is the message.
        for pk, key, state, reason in Message.objects.filter(source_key__in=missing).values_list(
            "pk", "source_key", "state", "reason"
        ):
            outcomes[key] = BulkOutcome(pk, state, reason)
    logger.info("messaging.bulk_written template=%s items=%s added=%s", template.pk, len(items), len(added))
    return outcomes
