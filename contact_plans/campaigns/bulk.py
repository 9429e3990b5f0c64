"""Writing a chunk of a campaign run's messages to the outbox (docs/campaigns.md).

One chunk (``CAMPAIGN_CHUNK_SIZE`` recipients, a Celery task) is one transaction:

1. the run's row is read ``FOR SHARE`` (a cancel, which locks it for update, waits for the chunk or
   makes it write nothing; on SQLite the transaction's write lock does the same), then the chunk's
   recipients not yet written;
2. the messages of those outside the control group are written by the outbox's bulk path
   (``contact_plans.messaging.bulk.messages_write_bulk``: the outbox's reasons in SQL, the message
   rendered once per language when it can be, tracked links, ``COPY`` and one
   ``INSERT ... SELECT ... ON CONFLICT (source_key) DO NOTHING``), so a chunk run twice adds nothing;
3. each recipient is linked to its message, with its reason, in one ``UPDATE`` (on SQLite the same
   ``UPDATE`` per row in one ``executemany``: contact_plans/dialect.py).
"""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.db.models import F

from contact_plans import dialect
from contact_plans.messaging.bulk import BulkItem, messages_write_bulk, suppression_reasons
from contact_plans.models import CampaignRecipient, CampaignRun, Message, MessageTemplate

logger = logging.getLogger(__name__)

# A recipient's reason when their message could not be rendered (a template broken in the database).
RENDER_FAILED = "render_failed"


def source_key(run_id: int, customer_id: int) -> str:
    return f"campaign:{run_id}:{customer_id}"


_LINK_SQL = """
    UPDATE contact_plans_campaignrecipient r
    SET reason = u.reason, written = TRUE, message_id = u.message_id
    FROM unnest(%s::bigint[], %s::text[], %s::bigint[]) AS u(id, reason, message_id)
    WHERE r.id = u.id"""


def chunk_write(*, run_id: int, first_id: int, last_id: int) -> int:
    """Write the outbox messages of a run's recipients ``first_id``..``last_id``; returns how many
    messages it added (0 when the chunk was written before, or the run was cancelled)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            lock = dialect.share_lock()
            cursor.execute(f"SELECT state FROM contact_plans_campaignrun WHERE id = %s{lock}", [run_id])  # noqa: S608
            row = cursor.fetchone()
        if row is None or row[0] != CampaignRun.State.PREPARING:
            return 0
        run = CampaignRun.objects.get(pk=run_id)
        recipients = list(
            CampaignRecipient.objects.filter(run_id=run_id, id__range=(first_id, last_id), written=False)
            .select_related("customer")
            .order_by("id")
        )
        if not recipients:
            return 0
        template = MessageTemplate.objects.prefetch_related("contents").filter(pk=run.template_id).first()
        if template is None:  # deleted since the run started: nobody can be sent it
            CampaignRecipient.objects.filter(pk__in=[r.pk for r in recipients]).update(
                written=True, reason=RENDER_FAILED
            )
            outcomes = {}
        else:
            outcomes = _write(run, template, recipients)
        CampaignRun.objects.filter(pk=run_id).update(chunks_done=F("chunks_done") + 1)
        CampaignRun.objects.filter(pk=run_id, state=CampaignRun.State.PREPARING, chunks_done__gte=F("chunks")).update(
            state=CampaignRun.State.QUEUED
        )
    added = [o for o in outcomes.values() if o.created]
    queued = sum(1 for o in added if o.state == Message.State.QUEUED)
    logger.info("campaigns.chunk_written run=%s first=%s messages=%s queued=%s", run_id, first_id, len(added), queued)
    return len(added)


def _write(run: CampaignRun, template: MessageTemplate, recipients: list[CampaignRecipient]) -> dict:
    items = [
        BulkItem(customer=r.customer, source_key=source_key(run.pk, r.customer_id), due_at=r.due_at)
        for r in recipients
        if not r.in_control
    ]
    outcomes = messages_write_bulk(template=template, items=items, track_links=run.track_links)
    # The control group's would-be reasons are recorded too: its results count only those the
    # outbox would have sent to (docs/campaigns.md, "Results").
    control = suppression_reasons(template=template, customer_ids={r.customer_id for r in recipients if r.in_control})
    ids, reasons, message_ids = [], [], []
    for recipient in recipients:
        ids.append(recipient.pk)
        outcome = outcomes.get(source_key(run.pk, recipient.customer_id))
        if recipient.in_control:
            reasons.append(control.get(recipient.customer_id, ("", ""))[0])
            message_ids.append(None)
        elif outcome is None:
            reasons.append("")
            message_ids.append(None)
        elif outcome.message_id is None:
            reasons.append(RENDER_FAILED)
            message_ids.append(None)
        else:
            reasons.append(outcome.reason)
            message_ids.append(outcome.message_id)
    if dialect.is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute(_LINK_SQL, [ids, reasons, message_ids])
    else:
        dialect.update_by_id(
            CampaignRecipient._meta.db_table,
            ("reason", "written", "message_id"),
            [(r, True, m, pk) for pk, r, m in zip(ids, reasons, message_ids, strict=True)],
        )
    return outcomes
