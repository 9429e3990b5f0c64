"""Writes of the segmentation app: segments, and the refresh that materialises their members.

The refresh is set-based: for one segment it runs a handful of statements whatever its size
(close the memberships that no longer match, open those that now match, log both as events,
count, record the size), never a Python loop over customers. Every statement filters customers
with the definition's single compiled Q.

Event published (retention_crm.events): ``segment.refreshed`` with ``segment_id``,
``entered_count``, ``exited_count`` and ``refreshed_at`` (ISO 8601), after each refresh of a
segment, and after a one-customer refresh for each segment that customer entered or left.
Subscribers that act on the customers who entered read ``SegmentMembership`` rows with
``entered_at == refreshed_at`` (or ``SegmentEvent`` rows at that time); the payload stays small
whatever the segment's size.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from retention_crm import events

from .builtins import BUILTINS, stored_text
from .conditions import definition_references, definition_to_q, segment_definition_clean
from .models import Segment, SegmentEvent, SegmentMembership, SegmentSizeHistory

logger = logging.getLogger(__name__)

# After this many memberships changed at once, PostgreSQL's statistics of the membership tables are
# stale enough to mislead the next refresh (it plans the anti-join against "an almost empty table"
# as a nested loop: seconds become minutes). ANALYZE reads a sample of 30,000 rows: well under a
# second, against a refresh that wrote at least this many rows.
ANALYZE_AFTER_CHANGES = 10_000


@dataclass(frozen=True)
class RefreshResult:
    segment_id: int
    entered: int
    exited: int
    size: int
    refreshed_at: datetime | None
    error: str = ""


# --- Segments ------------------------------------------------------------------------------------


def _name_clean(name: str, *, exclude_id: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the segment a name.")})
    if len(name) > 120:
        raise ValidationError({"name": _("At most 120 characters.")})
    taken = Segment.objects.filter(name__iexact=name)
    if exclude_id is not None:
        taken = taken.exclude(pk=exclude_id)
    if taken.exists():
        raise ValidationError({"name": _("A segment with this name already exists.")})
    return name


def _clean_all(*, name: str, definition, segment_id: int | None = None) -> tuple[str, dict]:
    """Check name and definition together, so that a form shows every error at once."""
    errors: dict[str, list[str]] = {}
    try:
        name = _name_clean(name, exclude_id=segment_id)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        definition = segment_definition_clean(definition, segment_id=segment_id)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors[f"definition.{key}" if key != "definition" else key] = messages
    if errors:
        raise ValidationError(errors)
    return name, definition


def segment_create(*, name: str, definition, description: str = "", is_active: bool = True, user=None) -> Segment:
    """A rule segment, checked in full before anything is written; its first refresh is queued."""
    name, definition = _clean_all(name=name, definition=definition)
    with transaction.atomic():
        segment = Segment.objects.create(
            name=name,
            description=(description or "").strip(),
            definition=definition,
            kind=Segment.Kind.RULE,
            is_active=is_active,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        segment_refresh_queue(segment_id=segment.pk)
    logger.info("segmentation.segment_created segment=%s", segment.pk)
    return segment


def segment_update(
    *, segment: Segment, name: str, definition, description: str = "", is_active: bool = True
) -> Segment:
    """Replace a rule segment's name, description and definition in one transaction (never half-written)."""
    if segment.is_builtin:
        raise ValidationError(_("Built-in segments cannot be changed."))
    name, definition = _clean_all(name=name, definition=definition, segment_id=segment.pk)
    changed = definition != segment.definition or (is_active and not segment.is_active)
    with transaction.atomic():
        Segment.objects.filter(pk=segment.pk).update(
            name=name,
            description=(description or "").strip(),
            definition=definition,
            is_active=is_active,
            updated_at=timezone.now(),
        )
        if changed and is_active:
            segment_refresh_queue(segment_id=segment.pk)
    segment.refresh_from_db()
    logger.info("segmentation.segment_updated segment=%s", segment.pk)
    return segment


def segment_referenced_by(*, segment: Segment) -> list[Segment]:
    """The rule segments whose definition reads this segment's members."""
    # Definitions are small and segments few (hundreds): read them rather than query inside JSON,
    # which SQLite and PostgreSQL spell differently.
    return [
        other
        for other in Segment.objects.exclude(pk=segment.pk).only("pk", "name", "kind", "key", "definition")
        if segment.pk in definition_references(other.definition)
    ]


def segment_delete(*, segment: Segment) -> None:
    if segment.is_builtin:
        raise ValidationError(_("Built-in segments cannot be deleted; make them inactive instead."))
    users = segment_referenced_by(segment=segment)
    if users:
        names = ", ".join(other.display_name for other in users)
        raise ValidationError(_("Segments %(names)s use this one (“member of”); change them first.") % {"names": names})
    segment_id = segment.pk
    segment.delete()
    logger.info("segmentation.segment_deleted segment=%s", segment_id)


def segments_builtin_ensure() -> int:
    """Create the missing built-in segments and bring the definitions of existing ones up to date.
    Idempotent; returns how many were created."""
    created = 0
    existing = {segment.key: segment for segment in Segment.objects.filter(kind=Segment.Kind.BUILTIN)}
    for builtin in BUILTINS:
        segment = existing.get(builtin.key)
        description = stored_text(builtin.description)
        if segment is None:
            name = builtin.name
            if Segment.objects.filter(name__iexact=name).exists():
                name = f"{name} (built-in)"
            Segment.objects.create(
                kind=Segment.Kind.BUILTIN,
                key=builtin.key,
                name=name,
                description=description,
                definition=builtin.definition,
            )
            created += 1
        elif segment.definition != builtin.definition or segment.description != description:
            Segment.objects.filter(pk=segment.pk).update(definition=builtin.definition, description=description)
    return created


# --- Refresh ---------------------------------------------------------------------------------------


def segment_matching_customers(definition: dict):
    """The customers a CLEAN definition selects: active (not archived) ones only."""
    return Customer.objects.filter(archived_at__isnull=True).filter(definition_to_q(definition))


def _insert_select(table: str, columns: tuple[str, ...], queryset) -> int:
    """INSERT INTO table (columns) SELECT … built by the ORM; returns the number of rows inserted.

    The ORM has no INSERT … SELECT; the SELECT (with its parameters) is the ORM's own SQL, so the
    rows never travel to Python.
    """
    sql, params = queryset.query.sql_with_params()
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {connection.ops.quote_name(table)} ({quoted}) {sql}", params)  # noqa: S608
        return max(cursor.rowcount, 0)


def _log_events(*, segment_id: int, kind: str, at: datetime, memberships) -> None:
    rows = memberships.order_by().values_list(
        Value(segment_id), "customer_id", Value(kind), Value(at)
    )  # the columns, in SegmentEvent's order below
    _insert_select(SegmentEvent._meta.db_table, ("segment_id", "customer_id", "kind", "at"), rows)


def _refresh_locked(segment: Segment, now: datetime) -> tuple[int, int]:
    definition = segment_definition_clean(segment.definition, segment_id=segment.pk)
    matching = segment_matching_customers(definition)
    open_rows = SegmentMembership.objects.filter(segment_id=segment.pk, exited_at__isnull=True)

    # 1. Exits: open memberships of customers who no longer match.
    leaving = open_rows.filter(~Exists(matching.filter(pk=OuterRef("customer_id"))))
    exited = leaving.update(exited_at=now)
    if exited:
        _log_events(
            segment_id=segment.pk,
            kind=SegmentEvent.Kind.EXITED,
            at=now,
            memberships=SegmentMembership.objects.filter(segment_id=segment.pk, exited_at=now),
        )
    # 2. Entries: matching customers without an open membership.
    joining = matching.filter(~Exists(open_rows.filter(customer_id=OuterRef("pk")))).order_by()
    entered = _insert_select(
        SegmentMembership._meta.db_table,
        ("segment_id", "customer_id", "entered_at"),
        joining.values_list(Value(segment.pk), "pk", Value(now)),
    )
    if entered:
        _log_events(
            segment_id=segment.pk,
            kind=SegmentEvent.Kind.ENTERED,
            at=now,
            memberships=open_rows.filter(entered_at=now),
        )
    return entered, exited


def _analyze_if_many(changed: int) -> None:
    if changed < ANALYZE_AFTER_CHANGES or connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in (SegmentMembership, SegmentEvent))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


def segment_refresh(*, segment_id: int, analyze: bool = True) -> RefreshResult:
    """Bring a segment's memberships up to its definition, set-based, in one transaction.

    Refreshes of one segment are serialised by a row lock on the segment (so the rows stamped
    ``now`` are this refresh's own). A definition that no longer checks (a segment it reads was
    deleted) leaves the members as they were and stores the reason on the segment.
    ``analyze``: refresh the planner's statistics after a large change (segments_refresh_all does
    it once at the end instead).
    """
    started = time.monotonic()
    with transaction.atomic():
        segment = Segment.objects.select_for_update().filter(pk=segment_id).first()
        if segment is None:
            return RefreshResult(segment_id, 0, 0, 0, None, error="gone")
        now = timezone.now()
        try:
            entered, exited = _refresh_locked(segment, now)
        except ValidationError as exc:
            error = "; ".join(f"{key}: {' '.join(messages)}" for key, messages in exc.message_dict.items())
            Segment.objects.filter(pk=segment.pk).update(refresh_error=error)
            logger.warning("segmentation.refresh_invalid segment=%s", segment.pk)
            return RefreshResult(segment.pk, 0, 0, segment.member_count, None, error=error)
        size = SegmentMembership.objects.filter(segment_id=segment.pk, exited_at__isnull=True).count()
        Segment.objects.filter(pk=segment.pk).update(member_count=size, refreshed_at=now, refresh_error="")
        SegmentSizeHistory.objects.update_or_create(
            segment_id=segment.pk, at=timezone.localdate(now), defaults={"size": size}
        )
        events.publish(
            events.SEGMENT_REFRESHED,
            segment_id=segment.pk,
            entered_count=entered,
            exited_count=exited,
            refreshed_at=now.isoformat(),
        )
    if analyze:
        _analyze_if_many(entered + exited)
    logger.info(
        "segmentation.refreshed segment=%s entered=%d exited=%d size=%d seconds=%.2f",
        segment.pk,
        entered,
        exited,
        size,
        time.monotonic() - started,
    )
    return RefreshResult(segment.pk, entered, exited, size, now)


def _refresh_order(segments: list[Segment]) -> list[Segment]:
    """Segments read by others ("member of") first, so those see fresh members."""
    by_id = {segment.pk: segment for segment in segments}
    ordered: list[Segment] = []
    state: dict[int, str] = {}

    def visit(segment: Segment) -> None:
        if state.get(segment.pk):
            return  # done, or a cycle (each reads the other's last members; no harm, no recursion)
        state[segment.pk] = "visiting"
        for other_id in sorted(definition_references(segment.definition)):
            if other_id in by_id:
                visit(by_id[other_id])
        state[segment.pk] = "done"
        ordered.append(segment)

    for segment in segments:
        visit(segment)
    return ordered


def segments_refresh_all() -> list[RefreshResult]:
    """Refresh every active segment (creating missing built-ins first), one transaction each."""
    segments_builtin_ensure()
    segments = list(Segment.objects.filter(is_active=True).order_by("kind", "pk"))
    results = [segment_refresh(segment_id=segment.pk, analyze=False) for segment in _refresh_order(segments)]
    _analyze_if_many(sum(result.entered + result.exited for result in results))
    return results


def segment_refresh_queue(*, segment_id: int) -> None:
    """Ask a worker to refresh the segment once the current transaction commits."""
    from .tasks import segment_refresh_task

    transaction.on_commit(lambda: segment_refresh_task.delay(segment_id))


def segment_refresh_customer(*, customer_id: int) -> dict[str, int]:
    """Bring one customer's memberships of every active segment up to date (after their figures
    changed). One query evaluates every segment for the customer; then a few writes."""
    segments = list(Segment.objects.filter(is_active=True).order_by("pk"))
    expressions = {}
    for segment in segments:
        try:
            definition = segment_definition_clean(segment.definition, segment_id=segment.pk)
        except ValidationError:
            continue  # the full refresh reports it
        expressions[f"s{segment.pk}"] = ExpressionWrapper(definition_to_q(definition), output_field=BooleanField())
    if not expressions:
        return {"entered": 0, "exited": 0}
    row = Customer.objects.filter(pk=customer_id, archived_at__isnull=True).values(**expressions).first() or {}
    matches = {int(name[1:]) for name, value in row.items() if value}
    return _customer_memberships_apply(customer_id, set(map(int, (k[1:] for k in expressions))), matches)


def _customer_memberships_apply(customer_id: int, evaluated: set[int], matches: set[int]) -> dict[str, int]:
    now = timezone.now()
    with transaction.atomic():
        # Same lock order as segment_refresh (one segment at a time, by id): no deadlock with it.
        locked = set(
            Segment.objects.select_for_update()
            .filter(pk__in=sorted(evaluated))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        open_ids = set(
            SegmentMembership.objects.filter(
                customer_id=customer_id, segment_id__in=locked, exited_at__isnull=True
            ).values_list("segment_id", flat=True)
        )
        leaving = (open_ids - matches) & locked
        joining = (matches - open_ids) & locked
        if leaving:
            SegmentMembership.objects.filter(
                customer_id=customer_id, segment_id__in=leaving, exited_at__isnull=True
            ).update(exited_at=now)
        if joining and Customer.objects.filter(pk=customer_id).exists():
            SegmentMembership.objects.bulk_create(
                [SegmentMembership(segment_id=sid, customer_id=customer_id, entered_at=now) for sid in sorted(joining)]
            )
        SegmentEvent.objects.bulk_create(
            [SegmentEvent(segment_id=sid, customer_id=customer_id, kind="exited", at=now) for sid in sorted(leaving)]
            + [SegmentEvent(segment_id=sid, customer_id=customer_id, kind="entered", at=now) for sid in sorted(joining)]
        )
        # Counted by step, not recounted: a count of a large segment per customer would cost more
        # than the rest of this function; the next full refresh recounts.
        if leaving:
            Segment.objects.filter(pk__in=leaving, member_count__gt=0).update(member_count=F("member_count") - 1)
        if joining:
            Segment.objects.filter(pk__in=joining).update(member_count=F("member_count") + 1)
        # The same event as a full refresh, so that a subscriber acting on entries (memberships
        # with entered_at == refreshed_at) sees these too.
        for segment_id in sorted(leaving | joining):
            events.publish(
                events.SEGMENT_REFRESHED,
                segment_id=segment_id,
                entered_count=int(segment_id in joining),
                exited_count=int(segment_id in leaving),
                refreshed_at=now.isoformat(),
            )
    if leaving or joining:
        logger.info(
            "segmentation.customer_refreshed customer=%s entered=%d exited=%d", customer_id, len(joining), len(leaving)
        )
    return {"entered": len(joining), "exited": len(leaving)}


# --- Reactions to other apps' events (subscribed in SegmentationConfig.ready) ------------------------
