"""What the database holds by itself: check constraints that refuse a bad row whoever writes it, and
the net amount it computes (Order.net_amount, generated from the order's other columns)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import ImportJob, Interaction, Order
from metrics.models import RecomputeRun
from segmentation.models import Segment, SegmentEvent

from .factories import CustomerFactory, ImportJobFactory, InteractionFactory, OrderFactory, order_net_amount

pytestmark = pytest.mark.django_db


def refused(name: str, write) -> None:
    """``write`` fails on the constraint called ``name``."""
    with pytest.raises(IntegrityError, match=name), transaction.atomic():
        write()


def constraint_values(model, name: str) -> set:
    """The values a ``field__in`` check constraint allows (a Meta cannot read the model's choices)."""
    constraint = next(c for c in model._meta.constraints if c.name == name)
    (_lookup, values), *_ = constraint.condition.children
    return set(values)


@pytest.mark.parametrize(
    ("model", "name", "choices"),
    [
        (ImportJob, "importjob_status_valid", ImportJob.Status.values),
        (ImportJob, "importjob_format_valid", ImportJob.Format.values),
        (Order, "order_status_valid", Order.Status.values),
        (RecomputeRun, "recomputerun_status_valid", RecomputeRun.Status.values),
        (SegmentEvent, "segmentevent_kind_valid", SegmentEvent.Kind.values),
    ],
)
def test_each_choice_constraint_allows_exactly_the_choices(model, name, choices):
    assert constraint_values(model, name) == set(choices)


def test_an_interaction_outcome_is_blank_or_one_of_the_outcomes():
    assert constraint_values(Interaction, "interaction_outcome_valid") == {"", *Interaction.Outcome.values}
    call = InteractionFactory(kind=Interaction.Kind.CALL)

    refused("interaction_outcome_valid", lambda: Interaction.objects.filter(pk=call.pk).update(outcome="hung up"))


def test_interaction_resolution_constraint_names_the_tracked_kinds():
    constraint = next(c for c in Interaction._meta.constraints if c.name == "interaction_resolved_only_when_tracked")

    assert set(constraint.condition.children[1][1]) == set(Interaction.TRACKED_KINDS)


def test_an_import_job_keeps_a_status_and_format_it_knows_and_progress_within_its_size():
    job = ImportJobFactory(total_bytes=100)
    jobs = ImportJob.objects.filter(pk=job.pk)

    refused("importjob_status_valid", lambda: jobs.update(status="paused"))
    refused("importjob_format_valid", lambda: jobs.update(format="xlsx"))
    refused("importjob_processed_within_total", lambda: jobs.update(processed_bytes=101))
    jobs.update(processed_bytes=100)


def test_a_recompute_run_keeps_a_status_it_knows_and_never_counts_a_chunk_past_the_total():
    run = RecomputeRun.objects.create(as_of=timezone.localdate(), chunks_total=2, chunks_done=2)
    runs = RecomputeRun.objects.filter(pk=run.pk)

    refused("recomputerun_status_valid", lambda: runs.update(status="paused"))
    refused("recomputerun_chunks_done_within_total", lambda: runs.update(chunks_done=3))


def test_only_tracked_interactions_are_resolved_and_sentiment_stays_in_range():
    call = InteractionFactory(kind=Interaction.Kind.CALL)
    calls = Interaction.objects.filter(pk=call.pk)

    # A resolved call breaks three rules at once; PostgreSQL names the first it checks.
    resolved_call = "interaction_(resolved_only_when_tracked|resolved_at_with_status|case_fields_follow_kind)"
    refused(resolved_call, lambda: calls.update(resolved_at=timezone.now()))
    refused(resolved_call, lambda: calls.update(resolved_at=timezone.now(), status="resolved"))
    refused("interaction_sentiment_in_range", lambda: calls.update(sentiment=2))
    InteractionFactory(kind=Interaction.Kind.SUPPORT_TICKET, resolved_at=timezone.now(), sentiment=-1)


def test_a_segment_event_is_an_entry_or_an_exit():
    segment = Segment.objects.create(name="Test", definition={"all": []})

    refused(
        "segmentevent_kind_valid",
        lambda: SegmentEvent.objects.create(segment=segment, customer=CustomerFactory(), kind="x", at=timezone.now()),
    )


def test_an_order_keeps_a_status_it_knows_and_is_refunded_only_as_a_purchase_within_its_gross():
    purchase = OrderFactory(gross_amount=Decimal("20.00"))
    refund = OrderFactory(kind=Order.Kind.REFUND, gross_amount=Decimal("-5.00"))

    refused("order_status_valid", lambda: Order.objects.filter(pk=purchase.pk).update(status="lost"))
    refused(
        "order_refund_only_of_a_purchase_up_to_its_gross",
        lambda: Order.objects.filter(pk=purchase.pk).update(refunded_amount=Decimal("20.01")),
    )
    refused(
        "order_refund_only_of_a_purchase_up_to_its_gross",
        lambda: Order.objects.filter(pk=refund.pk).update(refunded_amount=Decimal("1.00")),
    )


@pytest.mark.parametrize(
    ("kind", "status", "gross", "refunded"),
    [
        ("purchase", "placed", "20.00", "0"),
        ("purchase", "placed", "20.00", "5.00"),
        ("purchase", "refunded", "20.00", "0"),
        ("purchase", "refunded", "20.00", "5.00"),
        ("purchase", "refunded", "20.00", "20.00"),
        ("purchase", "cancelled", "20.00", "0"),
        ("purchase", "cancelled", "20.00", "5.00"),
        ("refund", "placed", "-5.00", "0"),
        ("refund", "cancelled", "-5.00", "0"),
    ],
)
def test_the_database_computes_the_net_amount_by_the_rule(kind, status, gross, refunded):
    order = OrderFactory(kind=kind, status=status, gross_amount=Decimal(gross), refunded_amount=Decimal(refunded))

    order.refresh_from_db()

    assert order.net_amount == order_net_amount(
        kind=kind, status=status, gross_amount=Decimal(gross), refunded_amount=Decimal(refunded)
    )


def test_the_net_amount_follows_an_update_by_any_writer():
    order = OrderFactory(gross_amount=Decimal("20.00"))

    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)

    order.refresh_from_db()
    assert order.net_amount == 0
