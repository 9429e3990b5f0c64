"""Refreshing a segment: set-based entries and exits, with events, timestamps and size history."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from metrics.models import CustomerMetrics
from retention_crm import events
from segmentation import services
from segmentation.models import Segment, SegmentEvent, SegmentMembership, SegmentSizeHistory
from segmentation.tasks import segment_refresh_task, segments_refresh_all_task
from tests.customers.factories import CustomerFactory

from .segment_factories import group, metrics, rule

pytestmark = pytest.mark.django_db

AT_RISK = group(rule("metrics.churn_risk", "gte", 0.7))


@pytest.fixture
def published():
    """The segment.refreshed events published during the test (run once their transaction commits)."""
    received = []

    def handler(**payload):
        received.append(payload)

    events.subscribe(events.SEGMENT_REFRESHED)(handler)
    yield received
    events._handlers[events.SEGMENT_REFRESHED.name].remove(handler)


def at_risk_segment(marta) -> Segment:
    return services.segment_create(name="At risk", definition=AT_RISK, user=marta)


def open_members(segment) -> set[str]:
    rows = SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True)
    return set(rows.values_list("customer__name", flat=True))


def test_refresh_change_refresh_records_entries_exits_and_times(marta, published, django_capture_on_commit_callbacks):
    ann, ben, cat = (CustomerFactory(name=name) for name in ("Ann", "Ben", "Cat"))
    metrics(ann, churn_risk=0.9)
    metrics(ben, churn_risk=0.8)
    metrics(cat, churn_risk=0.1)
    segment = at_risk_segment(marta)

    with django_capture_on_commit_callbacks(execute=True):
        first = services.segment_refresh(segment_id=segment.pk)

    assert (first.entered, first.exited, first.size) == (2, 0, 2)
    assert open_members(segment) == {"Ann", "Ben"}
    assert set(SegmentEvent.objects.filter(segment=segment).values_list("customer__name", "kind", "at")) == {
        ("Ann", "entered", first.refreshed_at),
        ("Ben", "entered", first.refreshed_at),
    }
    assert published == [
        {
            "segment_id": segment.pk,
            "entered_count": 2,
            "exited_count": 0,
            "refreshed_at": first.refreshed_at.isoformat(),
        }
    ]

    CustomerMetrics.objects.filter(customer=ben).update(churn_risk=0.2)
    CustomerMetrics.objects.filter(customer=cat).update(churn_risk=0.95)
    with django_capture_on_commit_callbacks(execute=True):
        second = services.segment_refresh(segment_id=segment.pk)

    assert (second.entered, second.exited, second.size) == (1, 1, 2)
    assert second.refreshed_at > first.refreshed_at
    assert open_members(segment) == {"Ann", "Cat"}
    ben_stay = SegmentMembership.objects.get(segment=segment, customer=ben)
    assert (ben_stay.entered_at, ben_stay.exited_at) == (first.refreshed_at, second.refreshed_at)
    assert SegmentMembership.objects.get(segment=segment, customer=ann).entered_at == first.refreshed_at
    newest = SegmentEvent.objects.filter(segment=segment, at=second.refreshed_at)
    assert set(newest.values_list("customer__name", "kind")) == {("Ben", "exited"), ("Cat", "entered")}
    assert published[-1]["entered_count"] == 1 and published[-1]["exited_count"] == 1
    segment.refresh_from_db()
    assert (segment.member_count, segment.refreshed_at, segment.refresh_error) == (2, second.refreshed_at, "")


def test_refresh_twice_changes_nothing_the_second_time(marta):
    metrics(CustomerFactory(), churn_risk=0.9)
    segment = at_risk_segment(marta)
    services.segment_refresh(segment_id=segment.pk)

    again = services.segment_refresh(segment_id=segment.pk)

    assert (again.entered, again.exited, again.size) == (0, 0, 1)
    assert SegmentMembership.objects.filter(segment=segment).count() == 1
    assert SegmentEvent.objects.filter(segment=segment).count() == 1


def test_leaving_and_coming_back_opens_a_second_stay(marta):
    ann = CustomerFactory(name="Ann")
    metrics(ann, churn_risk=0.9)
    segment = at_risk_segment(marta)
    services.segment_refresh(segment_id=segment.pk)
    CustomerMetrics.objects.filter(customer=ann).update(churn_risk=0.1)
    services.segment_refresh(segment_id=segment.pk)
    CustomerMetrics.objects.filter(customer=ann).update(churn_risk=0.9)

    services.segment_refresh(segment_id=segment.pk)

    stays = SegmentMembership.objects.filter(segment=segment, customer=ann).order_by("entered_at")
    assert [stay.exited_at is None for stay in stays] == [False, True]
    assert list(SegmentEvent.objects.filter(segment=segment).order_by("at").values_list("kind", flat=True)) == [
        "entered",
        "exited",
        "entered",
    ]


def test_archived_customer_leaves_at_the_next_refresh(marta):
    ann = CustomerFactory(name="Ann")
    metrics(ann, churn_risk=0.9)
    segment = at_risk_segment(marta)
    services.segment_refresh(segment_id=segment.pk)
    ann.archived_at = timezone.now()
    ann.save()

    result = services.segment_refresh(segment_id=segment.pk)

    assert (result.exited, result.size) == (1, 0)


def test_size_history_keeps_one_row_per_day(marta):
    metrics(CustomerFactory(), churn_risk=0.9)
    segment = at_risk_segment(marta)
    services.segment_refresh(segment_id=segment.pk)
    metrics(CustomerFactory(), churn_risk=0.8)

    services.segment_refresh(segment_id=segment.pk)

    assert list(SegmentSizeHistory.objects.filter(segment=segment).values_list("at", "size")) == [
        (timezone.localdate(), 2)
    ]


def test_refresh_statements_do_not_grow_with_the_number_of_customers(marta, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    segment = at_risk_segment(marta)
    for _index in range(3):
        metrics(CustomerFactory(), churn_risk=0.9)
    with CaptureQueriesContext(connection) as small:
        services.segment_refresh(segment_id=segment.pk)
    CustomerMetrics.objects.update(churn_risk=0.1)
    for _index in range(40):
        metrics(CustomerFactory(), churn_risk=0.9)

    with django_assert_max_num_queries(len(small.captured_queries) + 2):
        result = services.segment_refresh(segment_id=segment.pk)

    assert (result.entered, result.exited) == (40, 3)


def test_a_definition_that_no_longer_checks_keeps_the_members_and_says_why(marta):
    ann = CustomerFactory(name="Ann")
    metrics(ann, churn_risk=0.9)
    base = at_risk_segment(marta)
    services.segment_refresh(segment_id=base.pk)
    derived = services.segment_create(
        name="Derived", definition=group(rule("segment.member_of", "in", [base.pk])), user=marta
    )
    services.segment_refresh(segment_id=derived.pk)
    # Deleted behind the service's back (the service refuses while another segment uses it).
    Segment.objects.filter(pk=base.pk).delete()

    result = services.segment_refresh(segment_id=derived.pk)

    derived.refresh_from_db()
    assert "no longer exists" in result.error
    assert "no longer exists" in derived.refresh_error
    assert open_members(derived) == {"Ann"}


def test_delete_is_refused_while_another_segment_uses_it(marta):
    base = at_risk_segment(marta)
    services.segment_create(name="Derived", definition=group(rule("segment.member_of", "in", [base.pk])), user=marta)

    with pytest.raises(ValidationError, match="Derived"):
        services.segment_delete(segment=base)


def test_builtin_segments_cannot_be_changed_or_deleted():
    builtin = Segment.objects.get(key="pareto_top")

    with pytest.raises(ValidationError):
        services.segment_update(segment=builtin, name="Mine", definition=AT_RISK)
    with pytest.raises(ValidationError):
        services.segment_delete(segment=builtin)


def test_update_is_all_or_nothing(marta):
    segment = at_risk_segment(marta)

    with pytest.raises(ValidationError) as caught:
        services.segment_update(
            segment=segment, name="Renamed", definition=group(rule("metrics.churn_risk", "gte", "lots"))
        )

    segment.refresh_from_db()
    assert (segment.name, segment.definition["rules"][0]["value"]) == ("At risk", 0.7)
    assert list(caught.value.message_dict) == ["definition.rules[0].value"]


def test_refresh_all_refreshes_a_segment_before_those_that_read_it(marta):
    ann = CustomerFactory(name="Ann", country="GB")
    metrics(ann, churn_risk=0.9)
    placeholder = services.segment_create(name="Placeholder", definition=AT_RISK, user=marta)
    derived = services.segment_create(
        name="GB at risk", definition=group(rule("segment.member_of", "in", [placeholder.pk])), user=marta
    )
    base = services.segment_create(name="Base", definition=AT_RISK, user=marta)
    # Now the segment read (base) comes after the reader in id order.
    Segment.objects.filter(pk=derived.pk).update(
        definition=group(rule("segment.member_of", "in", [base.pk]), rule("customer.country", "eq", "GB"))
    )

    results = services.segments_refresh_all()

    order = [result.segment_id for result in results]
    assert order.index(base.pk) < order.index(derived.pk)
    assert {result.segment_id: result.size for result in results}[derived.pk] == 1
    assert Segment.objects.filter(kind="builtin").count() == 22


def test_inactive_segments_are_not_refreshed(marta):
    metrics(CustomerFactory(), churn_risk=0.9)
    segment = services.segment_create(name="Paused", definition=AT_RISK, is_active=False, user=marta)

    results = services.segments_refresh_all()

    assert segment.pk not in {result.segment_id for result in results}


def test_refresh_one_customer(marta, published, django_capture_on_commit_callbacks):
    ann, ben = CustomerFactory(name="Ann"), CustomerFactory(name="Ben")
    metrics(ann, churn_risk=0.9)
    metrics(ben, churn_risk=0.1)
    segment = at_risk_segment(marta)
    services.segment_refresh(segment_id=segment.pk)
    CustomerMetrics.objects.filter(customer=ann).update(churn_risk=0.1)
    CustomerMetrics.objects.filter(customer=ben).update(churn_risk=0.9)

    with django_capture_on_commit_callbacks(execute=True):
        services.segment_refresh_customer(customer_id=ann.pk)

    assert open_members(segment) == set()
    assert [(p["segment_id"], p["entered_count"], p["exited_count"]) for p in published] == [(segment.pk, 0, 1)]
    services.segment_refresh_customer(customer_id=ben.pk)
    assert open_members(segment) == {"Ben"}
    segment.refresh_from_db()
    assert segment.member_count == 1
    assert set(SegmentEvent.objects.filter(segment=segment).values_list("customer__name", "kind")) == {
        ("Ann", "entered"),
        ("Ann", "exited"),
        ("Ben", "entered"),
    }


def test_tasks_call_the_services(marta):
    metrics(CustomerFactory(), churn_risk=0.9)
    segment = at_risk_segment(marta)

    segment_refresh_task.delay(segment.pk)
    segments_refresh_all_task.delay()

    segment.refresh_from_db()
    assert segment.member_count == 1
    assert Segment.objects.get(key="pareto_top").refreshed_at is not None


def test_saving_a_segment_queues_its_first_refresh(marta, django_capture_on_commit_callbacks):
    metrics(CustomerFactory(), churn_risk=0.9)

    with django_capture_on_commit_callbacks(execute=True):
        segment = at_risk_segment(marta)

    segment.refresh_from_db()
    assert segment.member_count == 1
    assert segment.refreshed_at is not None


def test_events_can_be_queried_by_time(marta):
    metrics(CustomerFactory(), churn_risk=0.9)
    segment = at_risk_segment(marta)
    before = timezone.now() - timedelta(seconds=1)

    services.segment_refresh(segment_id=segment.pk)

    assert SegmentEvent.objects.filter(segment=segment, at__gte=before, kind="entered").count() == 1
    assert SegmentMembership.objects.filter(segment=segment, entered_at__gte=before).count() == 1
