"""Reads of segments and their members, scoped by what the user may see.

- Every role (administrator, marketer, account manager) may read segments: names, definitions,
  sizes. Someone without a role sees none (a 404).
- Members, events and exports start from ``customers.selectors.customer_visible_to``: an account
  manager sees the members in their own book only.
- Administrators and marketers create and change rule segments; built-ins are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils import timezone

from customers import roles
from customers.models import Customer
from customers.selectors import customer_visible_to, customers_visible_filter

from .builtins import builtin_order
from .conditions import definition_to_q
from .models import Segment, SegmentEvent, SegmentMembership, SegmentSizeHistory

PREVIEW_SAMPLE_SIZE = 10
# Days of size history behind a list sparkline: a month shows a trend and stays 30 points.
SPARKLINE_DAYS = 30


def segment_can_edit(user) -> bool:
    return roles.is_administrator(user) or roles.is_marketer(user)


def segment_visible_to(user) -> QuerySet[Segment]:
    return Segment.objects.all() if roles.has_any_role(user) else Segment.objects.none()


def segment_editable_by(user) -> QuerySet[Segment]:
    return Segment.objects.filter(kind=Segment.Kind.RULE) if segment_can_edit(user) else Segment.objects.none()


def segment_list(*, user) -> list[Segment]:
    """Segments (built-ins first), each with ``sparkline`` (sizes of the last days, oldest first)
    and ``visible_count`` (members the user may see). Three queries whatever the number of segments."""
    segments = sorted(
        segment_visible_to(user).select_related("created_by"),
        key=lambda s: (s.kind, builtin_order(s.key) if s.is_builtin else 0, s.name.lower()),
    )
    since = timezone.localdate() - timedelta(days=SPARKLINE_DAYS)
    sizes: dict[int, list[int]] = {}
    for segment_id, size in (
        SegmentSizeHistory.objects.filter(segment__in=[s.pk for s in segments], at__gt=since)
        .order_by("segment_id", "at")
        .values_list("segment_id", "size")
    ):
        sizes.setdefault(segment_id, []).append(size)
    counts = segment_member_counts_visible(user=user)
    for segment in segments:
        # The size history counts the whole segment: shown only to those who see every book.
        segment.sparkline = sizes.get(segment.pk, []) if counts is None else []
        segment.visible_count = segment.member_count if counts is None else counts.get(segment.pk, 0)
    return segments


def segment_member_counts_visible(*, user, segment_ids: list[int] | None = None) -> dict[int, int] | None:
    """Current members the user may see, by segment id (absent: none); None for a user who sees
    every book, whose counts are the segments' own ``member_count``. Every count of members the
    API and the pages show to a user comes from here, so it never tells an account manager about
    customers outside her book."""
    if roles.sees_every_book(user):
        return None
    memberships = SegmentMembership.objects.filter(customers_visible_filter(user), exited_at__isnull=True)
    if segment_ids is not None:
        memberships = memberships.filter(segment_id__in=segment_ids)
    rows = memberships.values("segment_id").annotate(n=Count("*")).values_list("segment_id", "n")  # the index alone
    return dict(rows)


def segment_get(*, user, segment_id: int) -> Segment:
    """The segment, or Segment.DoesNotExist (a 404) when the user may not see segments."""
    return segment_visible_to(user).select_related("created_by").get(pk=segment_id)


def segment_members(*, user, segment: Segment) -> QuerySet[Customer]:
    """The segment's current members the user may see, each annotated with ``entered_at``."""
    memberships = SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True)
    # One open membership per segment and customer (a unique constraint): nothing to order.
    entered = memberships.filter(customer_id=OuterRef("pk")).order_by().values("entered_at")[:1]
    return (
        customer_visible_to(user)
        .filter(pk__in=memberships.values("customer_id"))
        .annotate(entered_at=Subquery(entered))
        .select_related("account_manager")
    )


def segment_memberships_visible(*, user, segment: Segment) -> QuerySet[SegmentMembership]:
    """Open memberships of customers the user may see (for cursor pagination on the membership id)."""
    return SegmentMembership.objects.filter(
        customers_visible_filter(user), segment=segment, exited_at__isnull=True
    ).select_related("customer", "customer__account_manager")


def segment_events(*, user, segment: Segment) -> QuerySet[SegmentEvent]:
    return (
        SegmentEvent.objects.filter(customers_visible_filter(user), segment=segment)
        .select_related("customer")
        .order_by("-at", "-id")
    )


def segment_size_history(*, segment: Segment, days: int = 365) -> list[SegmentSizeHistory]:
    since = timezone.localdate() - timedelta(days=days)
    return list(segment.size_history.filter(at__gt=since).order_by("at"))


def segment_list_for_customer(*, customer: Customer) -> QuerySet[SegmentMembership]:
    return (
        SegmentMembership.objects.filter(customer=customer, exited_at__isnull=True, segment__is_active=True)
        .select_related("segment")
        .order_by("segment__kind", "segment__name")
    )


@dataclass(frozen=True)
class Preview:
    count: int
    sample: list[Customer]

    @property
    def matches_nobody(self) -> bool:
        return self.count == 0


def segment_preview(*, user, definition: dict, sample_size: int = PREVIEW_SAMPLE_SIZE) -> Preview:
    """How many customers a CLEAN definition selects now, among those the user may see, and a few
    of them. Two queries (the count and the sample), each one SQL statement."""
    matching = customer_visible_to(user).filter(archived_at__isnull=True).filter(definition_to_q(definition))
    count = matching.count()
    # No ORDER BY: sorting every match (by name, the default) to show ten would cost as much as the
    # count again; the database stops at the first ten rows its plan finds.
    sample = list(matching.select_related("account_manager").order_by()[:sample_size]) if count else []
    return Preview(count=count, sample=sample)
