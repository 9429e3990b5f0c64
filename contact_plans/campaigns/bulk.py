"""Writing a chunk of a campaign run's messages to the outbox, set-based (docs/campaigns.md).

One chunk (``CAMPAIGN_CHUNK_SIZE`` recipients, a Celery task) is one transaction:

1. the run's row is read ``FOR SHARE`` (a cancel, which locks it for update, waits for the chunk or
   makes it write nothing); the chunk's recipients not yet written are read with the outbox's
   reasons computed in SQL (``policy.suppression_reason_expression``: no address, bounced, no
   consent, unsubscribed), so the reasons are the outbox's own;
2. the message is rendered **once per language** when the template says nothing about the customer
   but their unsubscribe and preference links (a newsletter): the links are put in per customer by
   replacing a marker; a personalised template is rendered per customer in the chunk (each part
   compiled once);
3. links go through the click-recording redirect (one signed token per message and link);
4. the rows go to a temporary table by ``COPY``, then into the outbox with one
   ``INSERT ... SELECT ... ON CONFLICT (source_key) DO NOTHING``: a chunk run twice adds nothing.
"""

from __future__ import annotations

import csv
import io
import logging
import secrets

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Lower, Trim

from contact_plans.messaging import links, policy
from contact_plans.messaging.outbox import message_id_new
from contact_plans.messaging.rendering import RenderError, content_for, render_content
from contact_plans.messaging.unsubscribe import token_make
from contact_plans.models import CampaignRecipient, CampaignRun, Message, MessageTemplate
from customers.models import Customer
from retention_crm import events

logger = logging.getLogger(__name__)

# A recipient's reason when their message could not be rendered (a template broken in the database).
RENDER_FAILED = "render_failed"
PER_CUSTOMER_LINKS = frozenset({"unsubscribe_url", "preferences_url"})


def source_key(run_id: int, customer_id: int) -> str:
    return f"campaign:{run_id}:{customer_id}"


class _Renderer:
    """The template's messages for a chunk's customers: shared per language where it can be."""

    def __init__(self, template: MessageTemplate):
        self.template = template
        self.shared: dict[str, tuple | None] = {}

    def _shared_for(self, content):
        """(subject, html, text, marker) rendered once for every customer of this language, or None
        when the template reads anything of the customer's but their links."""
        if content.language in self.shared:
            return self.shared[content.language]
        from contact_plans.messaging.rendering import names_used

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
        from contact_plans.messaging.unsubscribe import preferences_url, unsubscribe_url

        base_unsub, base_prefs = unsubscribe_url(0), preferences_url(0)
        token0 = token_make(0)
        extra = {"unsubscribe_url": base_unsub.replace(token0, marker),
                 "preferences_url": base_prefs.replace(token0, marker)}
        try:
            rendered = render_content(self.template, content, None, extra=extra)
        except RenderError:
            return None
        return rendered.subject, rendered.html, rendered.text, marker, rendered.language

    def render(self, customer: Customer) -> tuple[str, str, str, str]:
        """(language, subject, html, text); RenderError when it cannot be rendered for them."""
        content = content_for(self.template, customer.language)
        shared = self._shared_for(content)
        if shared is not None:
            subject, html, text, marker, language = shared
            token = token_make(customer.pk)
            return language, subject, html.replace(marker, token), text.replace(marker, token)
        rendered = render_content(self.template, content, customer)
        return rendered.language, rendered.subject, rendered.html, rendered.text


_STAGE_SQL = """
    CREATE TEMPORARY TABLE campaign_stage (
        recipient_id bigint, customer_id bigint, in_control boolean, reason text, recipient text,
        subject text, html text, body_text text, language text, source_key text, due_at timestamptz,
        message_id text
    ) ON COMMIT DROP"""

_INSERT_SQL = """
    INSERT INTO contact_plans_message (
        customer_id, channel, purpose, topic, recipient, subject, html, text, mime, language, template_id,
        source_key, due_at, state, reason, error, attempts, resent_count, provider_id, message_id,
        created_at, updated_at)
    SELECT customer_id, 'email', %(purpose)s, %(topic)s, recipient, subject, html, body_text, ''::bytea, language,
        %(template)s, source_key, due_at, CASE WHEN reason = '' THEN 'queued' ELSE 'suppressed' END, reason, '',
        0, 0, '', message_id, now(), now()
    FROM campaign_stage
    WHERE NOT in_control AND reason <> %(render_failed)s
    ON CONFLICT (source_key) DO NOTHING
    RETURNING id, customer_id, state, reason"""

_LINK_SQL = """
    UPDATE contact_plans_campaignrecipient r
    SET reason = s.reason, written = TRUE, message_id = m.id
    FROM campaign_stage s LEFT JOIN contact_plans_message m ON m.source_key = s.source_key AND NOT s.in_control
    WHERE r.id = s.recipient_id"""


def _rows(run: CampaignRun, template: MessageTemplate, recipients: list[CampaignRecipient], reasons: dict):
    renderer = _Renderer(template)
    track = links.tracking_enabled(template=template, campaign_track_links=run.track_links)
    for recipient in recipients:
        customer = recipient.customer
        reason, address = reasons[customer.pk]
        subject = html = text = language = ""
        message_id = message_id_new()
        if not recipient.in_control and not reason:
            try:
                language, subject, html, text = renderer.render(customer)
            except RenderError as exc:
                logger.warning("campaigns.render_failed run=%s customer=%s: %s", run.pk, customer.pk, exc)
                reason = RENDER_FAILED
            else:
                if track:
                    html, text = links.links_track(html=html, text=text, message_id=message_id)
        yield [recipient.pk, customer.pk, recipient.in_control, reason, address, subject[:255], html, text,
               language or customer.language, source_key(run.pk, customer.pk), recipient.due_at, message_id]


def chunk_write(*, run_id: int, first_id: int, last_id: int) -> int:
    """Write the outbox messages of a run's recipients ``first_id``..``last_id``; returns how many
    messages it added (0 when the chunk was written before, or the run was cancelled)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT state FROM contact_plans_campaignrun WHERE id = %s FOR SHARE", [run_id])
            row = cursor.fetchone()
        if row is None or row[0] != CampaignRun.State.PREPARING:
            return 0
        run = CampaignRun.objects.get(pk=run_id)
        recipients = list(
            CampaignRecipient.objects.filter(run_id=run_id, id__range=(first_id, last_id), written=False)
            .select_related("customer").order_by("id")
        )
        if not recipients:
            return 0
        template = MessageTemplate.objects.prefetch_related("contents").filter(pk=run.template_id).first()
        if template is None:  # deleted since the run started: nobody can be sent it
            CampaignRecipient.objects.filter(pk__in=[r.pk for r in recipients]).update(written=True, reason=RENDER_FAILED)
            added = []
        else:
            added = _write(run, template, recipients)
        CampaignRun.objects.filter(pk=run_id).update(chunks_done=F("chunks_done") + 1)
        CampaignRun.objects.filter(pk=run_id, state=CampaignRun.State.PREPARING, chunks_done__gte=F("chunks")).update(
            state=CampaignRun.State.QUEUED
        )
        for message_id, customer_id, state, reason in added:
            if state == Message.State.SUPPRESSED:
                events.publish(events.MESSAGE_SUPPRESSED, message_id=message_id, customer_id=customer_id, reason=reason)
    queued = sum(1 for row in added if row[2] == Message.State.QUEUED)
    logger.info("campaigns.chunk_written run=%s first=%s messages=%s queued=%s", run_id, first_id, len(added), queued)
    return len(added)


def _write(run: CampaignRun, template: MessageTemplate, recipients: list[CampaignRecipient]) -> list[tuple]:
    reasons = {
        pk: (reason, address)
        for pk, reason, address in Customer.objects.filter(pk__in=[r.customer_id for r in recipients])
        .annotate(
            why=policy.suppression_reason_expression(purpose=template.purpose, topic=template.topic),
            address=Lower(Trim("email")),
        )
        .values_list("pk", "why", "address")
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)  # quoted: an empty text is '', not NULL
    for row in _rows(run, template, recipients, reasons):
        writer.writerow(row)
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.execute(_STAGE_SQL)
        cursor.copy_expert("COPY campaign_stage FROM STDIN WITH (FORMAT csv)", buffer)
        cursor.execute(_INSERT_SQL, {"purpose": template.purpose, "topic": template.topic, "template": template.pk,
                                     "render_failed": RENDER_FAILED})
        added = cursor.fetchall()
        cursor.execute(_LINK_SQL)
        cursor.execute("DROP TABLE campaign_stage")
    return added

