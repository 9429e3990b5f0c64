"""SMS through the outbox's bulk path against the one-message path, run by hand (not in CI).

On a database of its own (migrated here; customers with phone numbers added on the first run):

    createdb -h 127.0.0.1 -U postgres smsbench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smsbench .venv/bin/python bench/sms_bulk_bench.py

A chunk of ``--chunk`` customers (default 2,000, the plans runner's chunk) with valid numbers in four
countries and languages, marketing consent and a tenth without a number, gets a personalised
promotional SMS template, written alternately (``--rounds`` times each, every round new source keys,
each in its own committed transaction):

- ``one``: ``messaging.bulk._one_by_one``, what an SMS step did before: ``send_template`` ->
  ``message_enqueue`` per customer;
- ``bulk``: ``messaging.bulk.messages_write_bulk``: the numbers normalised per customer, the rules
  read for the chunk in two queries, rendered per customer, ``COPY`` and one ``INSERT ... SELECT``.

It prints each round's time per message, the medians and their ratio, and the load average (the
machine may be shared: compare the ratio within one run).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")

# (country, language, a number format with room for a four-digit counter)
PEOPLE = (("GB", "en", "07911 1{:05d}"), ("Indonesia", "id", "0812-3456-{:04d}"),
          ("MY", "ms", "012-345 {:04d}"), ("ES", "ca", "612 34 {:04d}"))  # fmt: skip
TEXTS = {
    "en": "Hi {{ customer.first_name }}, 10% off your next order this week.",
    "id": "Halo {{ customer.first_name }}, diskon 10% untuk pesanan berikutnya minggu ini.",
    "ms": "Hai {{ customer.first_name }}, diskaun 10% untuk pesanan seterusnya minggu ini.",
    "ca": "Hola {{ customer.first_name }}, un 10% de descompte en la propera comanda aquesta setmana.",
}


def customers_for(size: int):
    from django.utils import timezone

    from customers.models import Customer

    have = list(Customer.objects.filter(external_id__startswith="SMSB-").order_by("pk")[:size])
    if len(have) < size:
        now = timezone.now()
        Customer.objects.bulk_create(
            Customer(
                external_id=f"SMSB-{i}", name=f"Bench Customer {i}", email=f"smsb{i}@example.com",
                phone="" if i % 10 == 9 else PEOPLE[i % 4][2].format(i % 10000), country=PEOPLE[i % 4][0],
                language=PEOPLE[i % 4][1], marketing_consent=True, consent_at=now, consent_source="web_form",
            )
            for i in range(len(have), size)
        )  # fmt: skip
        have = list(Customer.objects.filter(external_id__startswith="SMSB-").order_by("pk")[:size])
    return have


def template_of():
    from contact_plans.models import MessageTemplate, MessageTemplateContent

    template, created = MessageTemplate.objects.get_or_create(
        key="sms-bulk-bench", defaults={"name": "SMS bulk bench", "channel": "sms", "purpose": "promotional"}
    )
    if created:
        for language, text in TEXTS.items():
            MessageTemplateContent.objects.create(template=template, language=language, text=text)
    return MessageTemplate.objects.prefetch_related("contents").get(pk=template.pk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunk", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from contact_plans.messaging import bulk
    from contact_plans.models import Message

    call_command("migrate", verbosity=0)
    customers = customers_for(args.chunk)
    template = template_of()
    print(f"Database: {connection.vendor} {connection.settings_dict.get('NAME')}; chunk {len(customers):,}; "
          f"load average before: {os.getloadavg()}")  # fmt: skip
    run = f"{time.time():.0f}"
    times = {"one": [], "bulk": []}
    for round_ in range(args.rounds):
        for way in ("one", "bulk"):
            items = [bulk.BulkItem(customer=c, source_key=f"smsb:{run}:{round_}:{way}:{c.pk}") for c in customers]
            started = time.perf_counter()
            with transaction.atomic():
                if way == "one":
                    bulk._one_by_one(template, items)
                else:
                    bulk.messages_write_bulk(template=template, items=items)
            times[way].append((time.perf_counter() - started) / len(items) * 1000)
            print(f"round {round_ + 1} {way:>4}: {times[way][-1]:.3f} ms per message")
    one, ours = statistics.median(times["one"]), statistics.median(times["bulk"])
    states = dict(Message.objects.filter(source_key__startswith=f"smsb:{run}:0:bulk:").values_list("state").annotate(
        n=django.db.models.Count("id")).values_list("state", "n"))  # fmt: skip
    print(f"median one-message path {one:.3f} ms, bulk {ours:.3f} ms per message: {one / ours:.1f}x faster; "
          f"states of a bulk chunk {states}; load average after: {os.getloadavg()}")  # fmt: skip


if __name__ == "__main__":
    main()
