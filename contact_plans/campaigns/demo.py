"""The campaigns of the demo data (demo.seeded): a newsletter template in the four languages, a
"Newsletter subscribers" segment (customers with marketing consent), a monthly newsletter sent twelve
days ago (its messages in the local outbox, some links clicked, a control group held out) and the
next one scheduled.

The sent one goes through the real path (a run, its recipients and control group, the chunks'
messages) and is then delivered to the local outbox as the local backend would have, at each
customer's own 10:00, all in one transaction so that a running dispatcher never sees it half done.
Runs once: a workspace that has campaigns is left alone.
"""

from __future__ import annotations

import logging
from datetime import time, timedelta

from django.db import connection, transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, OuterRef, Subquery
from django.utils import timezone

from contact_plans.messaging.outbox import email_headers
from contact_plans.models import (
    Campaign,
    CampaignRecipient,
    LinkClick,
    LocalDelivery,
    Message,
    MessageTemplate,
    MessageTemplateContent,
)
from segmentation import services as segment_services
from segmentation.models import Segment

from . import bulk, services

logger = logging.getLogger(__name__)

NEWSLETTER_KEY = "demo-newsletter"
SUBSCRIBERS = "Newsletter subscribers"
SHOP = "https://www.example.com"

_NEWSLETTER = {
    "en": (
        "News from the shop: {{ customer.first_name }}, this month's picks",
        "<p>Hi {{ customer.first_name }},</p><p>This month we have new arrivals and a tasting evening for our "
        'regular customers.</p><p><a href="'
        + SHOP
        + '/new">See the new arrivals</a> · <a href="'
        + SHOP
        + '/events">Book the tasting evening</a></p>',
    ),
    "id": (
        "Kabar dari toko: {{ customer.first_name }}, pilihan bulan ini",
        "<p>Halo {{ customer.first_name }},</p><p>Bulan ini ada produk baru dan malam mencicipi untuk pelanggan "
        'setia kami.</p><p><a href="'
        + SHOP
        + '/new">Lihat produk baru</a> · <a href="'
        + SHOP
        + '/events">Pesan tempat di malam mencicipi</a></p>',
    ),
    "ms": (
        "Berita dari kedai: {{ customer.first_name }}, pilihan bulan ini",
        "<p>Hai {{ customer.first_name }},</p><p>Bulan ini ada barangan baharu dan malam merasa untuk pelanggan "
        'setia kami.</p><p><a href="'
        + SHOP
        + '/new">Lihat barangan baharu</a> · <a href="'
        + SHOP
        + '/events">Tempah malam merasa</a></p>',
    ),
    "ca": (
        "Notícies de la botiga: {{ customer.first_name }}, les novetats del mes",
        "<p>Hola, {{ customer.first_name }}:</p><p>Aquest mes tenim novetats i una tarda de tast per als clients "
        'habituals.</p><p><a href="'
        + SHOP
        + '/new">Mireu les novetats</a> · <a href="'
        + SHOP
        + '/events">Reserveu la tarda de tast</a></p>',
    ),
}

# About one in seven recipients of the sent newsletter clicked a link (a usual newsletter's rate).
CLICK_EVERY = 7
SEND_TIME = time(10, 0)
SENT_AFTER = timedelta(minutes=1)
CLICKED_AFTER = timedelta(hours=3)


def _template() -> MessageTemplate:
    template, created = MessageTemplate.objects.get_or_create(
        key=NEWSLETTER_KEY,
        defaults={"name": "Monthly newsletter", "channel": "email", "purpose": "promotional", "topic": "news"},
    )
    if created:
        for language, (subject, html) in _NEWSLETTER.items():
            MessageTemplateContent.objects.create(template=template, language=language, subject=subject, html=html)
    return template


def _segment() -> Segment:
    segment = Segment.objects.filter(name=SUBSCRIBERS).first()
    if segment is None:
        definition = {
            "op": "and",
            "rules": [{"field": "customer.marketing_consent", "operator": "is_true", "value": None}],
        }
        segment = segment_services.segment_create(
            name=SUBSCRIBERS, definition=definition, description="Customers who agreed to receive marketing email."
        )
    segment_services.segment_refresh(segment_id=segment.pk)
    return segment


def _deliver_locally(run_id: int) -> int:
    """The run's queued messages as the local backend would have sent them, a minute after their due
    time; about one recipient in ``CLICK_EVERY`` clicked a link three hours later."""
    of_run = Message.objects.filter(pk__in=CampaignRecipient.objects.filter(run_id=run_id).values("message_id"))
    messages = list(of_run.filter(state=Message.State.QUEUED))
    LocalDelivery.objects.bulk_create(
        LocalDelivery(
            channel="email",
            recipient=m.recipient,
            subject=m.subject,
            html=m.html,
            text=m.text,
            headers=email_headers(customer_id=m.customer_id, purpose=m.purpose),
            message_id=m.message_id,
        )
        for m in messages
    )
    of_run.filter(state=Message.State.QUEUED).update(
        state=Message.State.SENT, sent_at=F("due_at") + SENT_AFTER, attempts=1
    )
    LinkClick.objects.bulk_create(
        LinkClick(message_id=m.pk, customer_id=m.customer_id, url=SHOP + "/new")
        for m in messages
        if m.pk % CLICK_EVERY == 0
    )
    # A click's time is set on creation (auto_now_add): moved back to three hours after the send.
    sent_at = Message.objects.filter(pk=OuterRef("message_id")).values("sent_at")[:1]
    LinkClick.objects.filter(message__in=of_run).update(
        clicked_at=ExpressionWrapper(Subquery(sent_at) + CLICKED_AFTER, output_field=DateTimeField())
    )
    return len(messages)


def _due_at_ten_local(run_id: int, day) -> None:
    """Each recipient of the run due at 10:00 of ``day`` in their own time zone (UTC when unknown)."""
    recipients = CampaignRecipient.objects.filter(run_id=run_id)
    zones = recipients.order_by().values_list("customer__time_zone", flat=True).distinct()
    zone = "(SELECT c.time_zone FROM customers_customer c WHERE c.id = contact_plans_campaignrecipient.customer_id)"
    due_at, params = services.local_moment_sql(day, SEND_TIME, zones, column=zone)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE contact_plans_campaignrecipient SET due_at = {due_at} WHERE run_id = %(run)s",  # noqa: S608
            {**params, "run": run_id},
        )


@transaction.atomic
def campaigns_demo_seed() -> bool:
    if Campaign.objects.exists():
        return False
    template, segment = _template(), _segment()
    today = timezone.localdate()
    sent_on = today - timedelta(days=12)
    # Scheduled for a date that has passed, so that the run starts now; its send times are then set
    # back to each customer's 10:00 of that day, as if it had been sent then.
    sent = Campaign.objects.create(
        name="Monthly newsletter",
        kind=Campaign.Kind.NEWSLETTER,
        template=template,
        segment=segment,
        recurrence=Campaign.Recurrence.ONCE,
        send_on=sent_on,
        send_time=SEND_TIME,
        control_percent=10,
        state=Campaign.State.SCHEDULED,
        next_send_on=sent_on,
    )
    run = services.campaign_run_start(campaign_id=sent.pk)
    if run is None:
        return False
    _due_at_ten_local(run.pk, sent_on)
    ids = CampaignRecipient.objects.filter(run=run).order_by("id").values_list("id", flat=True)
    if ids:
        bulk.chunk_write(run_id=run.pk, first_id=ids[0], last_id=ids.reverse()[0])
    delivered = _deliver_locally(run.pk)
    services.campaign_create(
        name="Monthly newsletter (next)",
        kind=Campaign.Kind.NEWSLETTER,
        template=template,
        segment=segment,
        recurrence=Campaign.Recurrence.MONTHLY,
        send_on=today + timedelta(days=18),
        send_time=SEND_TIME,
        control_percent=10,
        schedule=bool(ids),
    )
    logger.info("campaigns.demo_seeded delivered=%s", delivered)
    return True
