"""The message table keeps only the indexes its queries read (contact_plans migration 0013).

Each read of the outbox is explained with sequential scans made as costly as PostgreSQL allows (on a
table of a few rows the planner would otherwise rightly read everything): a plan that still reads
the whole message table means no index serves that query, and at a million messages it would read
them all. The indexes dropped as redundant are never among those read.
"""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from contact_plans.messaging import policy
from contact_plans.models import Message
from customers.models import Customer
from retention_crm import lists
from tests.contact_plans.factories import MessageFactory, consenting_customer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

DROPPED = {
    "message_created_id",
    "contact_plans_message_customer_id_d5672f42",
    "contact_plans_message_message_id_a9a9e509_like",
}


def _plan_of(queryset) -> dict:
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        return cursor.fetchone()[0][0]["Plan"]


def _reads(plan: dict) -> list[tuple[str, str]]:
    """(node type, index or table) of every scan in the plan."""
    found = []
    if "Index Name" in plan:
        found.append((plan["Node Type"], plan["Index Name"]))
    elif plan.get("Node Type") == "Seq Scan":
        found.append(("Seq Scan", plan["Relation Name"]))
    for child in plan.get("Plans", []):
        found.extend(_reads(child))
    return found


def _outbox_reads() -> dict:
    customer = consenting_customer()
    message = MessageFactory(customer=customer, purpose="promotional")
    book = [customer.pk, *Customer.objects.values_list("pk", flat=True)[:5]]
    now = timezone.now()
    messages = Message.objects
    due = Q(state="queued", due_at__lte=now) | Q(state="sending", lease_until__lt=now)
    return {
        "the beat's due messages": messages.filter(due).order_by("due_at", "id").values("id")[:100],
        "a batch's rows": messages.filter(id__in=[message.pk], lease_until=now).select_related("customer"),
        "the frequency cap": messages.filter(customer_id=customer.pk, purpose="promotional").filter(
            Q(state="sent", sent_at__gte=now - timedelta(days=7)) | Q(state="sending", handed_at__isnull=False)
        ),
        "the campaigns' frequency cap": Customer.objects.filter(pk__in=book).annotate(
            n=policy.frequency_capped_expression(now=now)
        ),
        "the API's list": messages.order_by("-id")[:51],
        "the API's list of one customer": messages.filter(customer_id=customer.pk).order_by("-id")[:51],
        "the API's list of a book": messages.filter(lists.IdIn("customer_id", book)).order_by("-id")[:51],
        "the customer's card": messages.filter(customer=customer).order_by("-id")[:20],
        "a link click's message": messages.filter(message_id=message.message_id).only("id", "customer_id"),
        "the enqueue's source key": messages.filter(source_key=message.source_key),
        "a campaign's results": messages.filter(pk__in=[message.pk]).values("state").annotate(n=Count("pk")),
        "a deleted customer's messages": messages.filter(customer_id__in=[customer.pk]),
    }


def test_every_read_of_the_outbox_is_served_by_an_index_and_none_by_a_dropped_one():
    for name, queryset in _outbox_reads().items():
        reads = _reads(_plan_of(queryset))

        assert ("Seq Scan", "contact_plans_message") not in reads, (name, reads)
        assert not {index for _node, index in reads} & DROPPED, (name, reads)


def test_the_message_table_has_none_of_the_redundant_indexes_and_room_on_its_pages():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'contact_plans_message'")
        indexes = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'contact_plans_message'")
        options = cursor.fetchone()[0]

    assert not indexes & DROPPED
    assert {"message_customer_id", "message_queued_due", "message_sending_lease"} <= indexes
    assert "fillfactor=50" in options
