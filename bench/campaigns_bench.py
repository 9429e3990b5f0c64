"""Campaigns benchmark: a campaign to a segment of N customers (default 100,000) writes its outbox
messages in chunks, against a hand-written ``INSERT ... SELECT`` of the same rows.

Run by hand, not in CI, with PostgreSQL (a database of its own: the bench's customers are added to
it and left there for a second run; its campaigns and messages are deleted at the end):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_campaigns \\
        .venv/bin/python bench/campaigns_bench.py [--customers 100000] [--chunk 5000]

1. seeds N customers (once; ``COPY``), in the four languages and a dozen time zones, 90 % with
   marketing consent, and a rule segment holding them all (memberships by ``INSERT ... SELECT``);
2. **newsletter** (the template says nothing about the customer but their unsubscribe links: it is
   rendered once per language) and **personal** (``{{ customer.first_name }}`` in the subject and the
   body: rendered per customer): each a campaign with a 10 % control group, its run started (the
   recipients and the control group: one statement), then every chunk written in this process, one
   after the other, as a worker would (``bulk.chunk_write``); links tracked;
3. **baseline**: the same message rows (one per recipient outside the control group, the body
   written once, no per-customer rendering, no link tracking) by one hand-written ``INSERT ... SELECT``.

The chunks are independent transactions: W workers divide the chunk time by about W (the machine's
cores allowing). Prints each phase's seconds and rows per second.
"""

import argparse
import io
import os
import sys
import time
from datetime import time as clock
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")

ZONES = [
    "Asia/Jakarta",
    "Asia/Kuala_Lumpur",
    "Europe/Madrid",
    "Europe/London",
    "UTC",
    "America/New_York",
    "Asia/Makassar",
    "Asia/Jayapura",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Asia/Singapore",
    "Europe/Berlin",
]
LANGUAGES = ["en", "id", "ms", "ca"]
PREFIX = "BENCH-CAMP-"


def seed(customers: int):
    from django.db import connection, transaction
    from django.utils import timezone

    from customers.models import Customer
    from segmentation.models import Segment, SegmentMembership

    have = Customer.objects.filter(external_id__startswith=PREFIX).count()
    if have < customers:
        buffer = io.StringIO()
        now = timezone.now().isoformat()
        for i in range(have, customers):
            consent = i % 10 != 0
            buffer.write(
                "\t".join(
                    [
                        f"{PREFIX}{i:07d}",
                        f"Customer {i}",
                        f"bench{i}@example.com",
                        LANGUAGES[i % 4],
                        ZONES[i % len(ZONES)],
                        "t" if consent else "f",
                        now if consent else "\\N",
                        "bench" if consent else "",
                        now,
                        now,
                        "",
                        "",
                        "GB",
                        "",
                        "",
                    ]
                )
                + "\n"
            )
        buffer.seek(0)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.copy_expert(
                "COPY customers_customer (external_id, name, email, language, time_zone, marketing_consent, "
                "consent_at, consent_source, created_at, updated_at, phone, company, country, acquisition_source, notes) "
                "FROM STDIN",
                buffer,
            )
    segment, _ = Segment.objects.get_or_create(
        name="Bench campaign audience", defaults={"definition": {"op": "and", "rules": []}}
    )
    if SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True).count() < customers:
        SegmentMembership.objects.filter(segment=segment).delete()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO segmentation_segmentmembership (segment_id, customer_id, entered_at) "
                "SELECT %s, id, now() FROM customers_customer WHERE external_id LIKE %s ORDER BY id LIMIT %s",
                [segment.pk, PREFIX + "%", customers],
            )
    return segment


def template(key: str, personal: bool):
    from contact_plans.models import MessageTemplate, MessageTemplateContent

    MessageTemplate.objects.filter(key=key).delete()
    template = MessageTemplate.objects.create(key=key, name=key, channel="email", purpose="promotional", topic="news")
    for language in LANGUAGES:
        hello = "{{ customer.first_name }}" if personal else "there"
        MessageTemplateContent.objects.create(
            template=template,
            language=language,
            subject=f"News for {hello} ({language})",
            html=f'<p>Hello {hello},</p><p>Our <a href="https://shop.example/new?l={language}">new arrivals</a> '
            f'and <a href="https://shop.example/events">events</a>.</p>',
        )
    return template


def campaign_run(segment, tpl, chunk: int) -> dict:
    from django.conf import settings
    from django.utils import timezone

    from contact_plans.campaigns import bulk, services
    from contact_plans.models import Campaign, CampaignRecipient

    settings.CAMPAIGN_CHUNK_SIZE = chunk
    campaign = Campaign.objects.create(
        name=tpl.key,
        template=tpl,
        segment=segment,
        send_on=timezone.localdate() + timedelta(days=1),
        send_time=clock(10),
        control_percent=10,
        state="scheduled",
        next_send_on=timezone.localdate() + timedelta(days=1),
    )
    from unittest import mock

    started = time.perf_counter()
    with mock.patch("contact_plans.campaigns.tasks.campaign_chunk_write_task.delay"):  # written below, timed
        run = services.campaign_run_start(campaign_id=campaign.pk, now=timezone.now() + timedelta(days=2))
    start_seconds = time.perf_counter() - started
    ids = list(CampaignRecipient.objects.filter(run=run).order_by("id").values_list("id", flat=True))
    ranges = [(ids[i], ids[min(i + chunk, len(ids)) - 1]) for i in range(0, len(ids), chunk)]
    started = time.perf_counter()
    written = sum(bulk.chunk_write(run_id=run.pk, first_id=lo, last_id=hi) for lo, hi in ranges)
    chunk_seconds = time.perf_counter() - started
    return {
        "audience": run.audience,
        "control": run.in_control,
        "start": start_seconds,
        "chunks": len(ranges),
        "written": written,
        "write": chunk_seconds,
    }


def baseline(segment, tpl) -> tuple[int, float]:
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO contact_plans_message (customer_id, channel, purpose, topic, recipient, subject, html, text,
                   mime, language, template_id, source_key, due_at, state, reason, error, attempts, resent_count,
                   provider_id, message_id, created_at, updated_at)
               SELECT c.id, 'email', 'promotional', 'news', lower(c.email), 'News', '<p>Hello</p>', 'Hello', ''::bytea,
                   c.language, %s, 'bench-baseline:' || c.id, now(), 'queued', '', '', 0, 0, '',
                   '<' || md5(random()::text) || '@bench>', now(), now()
               FROM segmentation_segmentmembership m JOIN customers_customer c ON c.id = m.customer_id
               WHERE m.segment_id = %s AND m.exited_at IS NULL AND c.marketing_consent AND random() >= 0.1""",
            [tpl.pk, segment.pk],
        )
        rows = cursor.rowcount
    return rows, time.perf_counter() - started


def cleanup():
    from contact_plans.models import Campaign, Message

    Message.objects.filter(source_key__startswith="campaign:").delete()
    Message.objects.filter(source_key__startswith="bench-baseline:").delete()
    Campaign.objects.filter(name__startswith="bench-").delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=5000)
    args = parser.parse_args()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    segment = seed(args.customers)
    print(f"seed: {args.customers:,} customers and their segment ready in {time.perf_counter() - started:.1f} s")
    cleanup()
    try:
        for name, personal in (("bench-newsletter", False), ("bench-personal", True)):
            figures = campaign_run(segment, template(name, personal), args.chunk)
            rate = figures["written"] / figures["write"]
            print(
                f"{name}: audience {figures['audience']:,}, control {figures['control']:,}; "
                f"start (recipients + control group) {figures['start']:.2f} s; "
                f"{figures['chunks']} chunks wrote {figures['written']:,} messages in {figures['write']:.1f} s "
                f"({rate:,.0f}/s in one process)"
            )
        rows, seconds = baseline(segment, template("bench-baseline", False))
        print(f"baseline INSERT ... SELECT: {rows:,} rows in {seconds:.2f} s ({rows / seconds:,.0f}/s)")
    finally:
        cleanup()


if __name__ == "__main__":
    main()
