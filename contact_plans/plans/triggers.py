"""Enrolment, set-based: who each trigger enrols, and the one INSERT ... SELECT that enrols them.

A trigger is a ``Q`` on ``Customer`` over a window of time ``(since, until]``: the plan remembers up
to when its triggers have looked (``triggers_checked_at``) and the next run looks after it, so a run
that is late or runs twice enrols nobody twice. Whatever the trigger, the enrolment is ONE statement
per plan per run (``enrol_insert``): the customers never travel to Python, whether there are ten or a
million. The database's partial unique index (one open enrolment per plan and customer) with
``ON CONFLICT DO NOTHING`` makes two triggers at the same moment, or two workers, one enrolment.
The statement is the same on PostgreSQL and SQLite (``make run``'s default).

The control group is drawn in the same statement: a uniform random number in [0, 1) per row below
``control_percent / 100`` (``dialect.random_unit``: each database's ``random()`` says it its own
way), recorded as an enrolment in state "control" that the runner never contacts.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from customers.models import Customer, Order
from metrics.models import CustomerMetrics
from segmentation.models import SegmentEvent

from .. import dialect
from ..models import ContactPlan, Enrolment, PlanStep

logger = logging.getLogger(__name__)

# A purchase trigger looks at orders recorded in its window AND placed in the last few days: an
# import of last year's history (recorded today) thanks no one for a purchase made a year ago.
PURCHASE_RECENT_DAYS = 7
# A control row is kept (and counted as "in the plan") for the plan's length, at least this long:
# the results compare purchases within 30 days of enrolment.
CONTROL_MIN_DAYS = 30


def _purchases():
    return Order.objects.filter(kind=Order.Kind.PURCHASE).exclude(status=Order.Status.CANCELLED)


def trigger_q(plan: ContactPlan, *, since: datetime, until: datetime) -> Q | None:
    """The customers the plan's trigger enrols for what happened in (since, until]; None for a plan
    enrolled by hand only."""
    T = ContactPlan.Trigger
    recent = until - timedelta(days=PURCHASE_RECENT_DAYS)
    if plan.trigger == T.FIRST_PURCHASE:
        new = _purchases().filter(
            customer=OuterRef("pk"), created_at__gt=since, created_at__lte=until, ordered_at__gte=recent
        )
        # Not a first purchase: one recorded before the window, or one placed before the recent days
        # (a history imported or seeded in the window).
        earlier = _purchases().filter(Q(created_at__lte=since) | Q(ordered_at__lt=recent), customer=OuterRef("pk"))
        return Q(Exists(new)) & ~Q(Exists(earlier))
    if plan.trigger == T.EVERY_PURCHASE:
        new = _purchases().filter(
            customer=OuterRef("pk"), created_at__gt=since, created_at__lte=until, ordered_at__gte=recent
        )
        return Q(Exists(new))
    if plan.trigger == T.DAYS_AFTER_PURCHASE:
        shift = timedelta(days=plan.trigger_days or 0)
        placed = _purchases().filter(
            customer=OuterRef("pk"), ordered_at__gt=since - shift, ordered_at__lte=until - shift
        )
        return Q(Exists(placed))
    if plan.trigger == T.REPURCHASE_DUE:
        # The metrics' expected repurchase date: the last purchase plus the customer's usual interval.
        due = (
            CustomerMetrics.objects.filter(
                customer=OuterRef("pk"),
                usual_interval_days__isnull=False,
                last_purchase__isnull=False,
            )
            .annotate(
                # The last purchase plus the rounded interval, a date.
                due_on=dialect.DatePlusDays(F("last_purchase"), F("usual_interval_days"))
            )
            .filter(
                # A day of overlap: the metrics are recomputed at night, after a run may already have
                # looked at today; the open-enrolment index and the re-enrolment rule keep one enrolment.
                due_on__gt=timezone.localtime(since).date() - timedelta(days=1),
                due_on__lte=timezone.localtime(until).date(),
            )
        )
        return Q(Exists(due))
    if plan.trigger in (T.SEGMENT_ENTERED, T.SEGMENT_EXITED):
        kind = SegmentEvent.Kind.ENTERED if plan.trigger == T.SEGMENT_ENTERED else SegmentEvent.Kind.EXITED
        happened = SegmentEvent.objects.filter(
            customer=OuterRef("pk"), segment_id=plan.trigger_segment_id, kind=kind, at__gt=since, at__lte=until
        )
        return Q(Exists(happened))
    return None


def eligible(plan: ContactPlan, customers: QuerySet[Customer], *, now: datetime) -> QuerySet[Customer]:
    """``customers`` less those the plan may not enrol now: archived, without marketing consent for a
    promotional plan, and those the re-enrolment rule keeps out (an open enrolment is the unique
    index's to refuse)."""
    customers = customers.filter(archived_at__isnull=True)
    if plan.is_promotional:
        customers = customers.filter(marketing_consent=True)
    before = Enrolment.objects.filter(plan_id=plan.pk, customer=OuterRef("pk"))
    if plan.reenrol == ContactPlan.Reenrol.AFTER_DAYS:
        before = before.filter(
            Q(enrolled_at__gt=now - timedelta(days=plan.reenrol_days or 0)) | ~Q(state=Enrolment.State.ENDED)
        )
    return customers.filter(~Q(Exists(before)))


def control_days(plan: ContactPlan) -> int:
    total = sum(plan.steps.values_list("delay_days", flat=True))
    return max(CONTROL_MIN_DAYS, total)


def enrol_insert(
    plan: ContactPlan,
    customers: QuerySet[Customer],
    *,
    source: str,
    now: datetime,
    user=None,
    with_control: bool = True,
) -> tuple[int, int]:
    """Enrol the eligible ``customers`` in one INSERT ... SELECT; returns (enrolled, in control).

    The first step is due at enrolment plus its delay; a control row's end is due after the plan's
    length (``control_days``)."""
    first = plan.steps.order_by("position").first()
    if first is None:
        return 0, 0
    # The customer's id under a name of ours: the ORM's SQL is read as a table with that column.
    ids = eligible(plan, customers, now=now).order_by().values(cid=F("pk"))
    sql, params = ids.query.sql_with_params()
    share = (plan.control_percent / 100.0) if with_control else 0.0
    # MATERIALIZED: the draw is made once per customer. Without it SQLite folds the subquery into
    # the INSERT and draws again at each use of ``ctl``, so that state and is_control could disagree.
    # ``WHERE true`` keeps SQLite from reading ON CONFLICT as a join's ON.
    draw = f"c AS MATERIALIZED (SELECT s.cid, {dialect.random_unit()} < %s AS ctl FROM ({sql}) AS s)"  # noqa: S608 (the ORM's SQL)
    insert = """
        INSERT INTO contact_plans_enrolment
            (plan_id, customer_id, state, is_control, source, enrolled_at, next_position, next_due_at,
             ended_at, end_reason, created_by_id)
        SELECT %s, c.cid,
               CASE WHEN c.ctl THEN 'control' ELSE 'active' END, c.ctl, %s, %s,
               CASE WHEN c.ctl THEN NULL ELSE %s END,
               CASE WHEN c.ctl THEN %s ELSE %s END,
               NULL, '', %s
        FROM c WHERE true"""
    first_due = dialect.db_datetime(now + timedelta(days=first.delay_days))
    control_due = dialect.db_datetime(now + timedelta(days=control_days(plan)))
    values = [
        share,
        *params,
        plan.pk,
        source,
        dialect.db_datetime(now),
        first.position,
        control_due,
        first_due,
        getattr(user, "pk", None),
    ]
    with connection.cursor() as cursor:
        if dialect.is_postgresql():
            # The customers already in the plan are left out by ``eligible``: a conflict on the
            # one-open-per-plan index needs an enrolment written meanwhile (a trigger, by hand). So
            # first without ON CONFLICT, whose every row is a speculative insertion (a fifth of a
            # 100,000-customer enrolment), under a savepoint, and counted in SQL rather than a row
            # per customer sent back; on a conflict, again with it.
            counted = (
                "WITH {draw}, e AS ({insert}{conflict} RETURNING is_control) "  # noqa: S608 (ours and the ORM's SQL)
                "SELECT count(*), count(*) FILTER (WHERE is_control) FROM e"
            )
            try:
                with transaction.atomic():
                    cursor.execute(counted.format(draw=draw, insert=insert, conflict=""), values)
                    return cursor.fetchone()
            except IntegrityError:
                logger.info("plans.enrol_conflict plan=%s", plan.pk)
            cursor.execute(counted.format(draw=draw, insert=insert, conflict=" ON CONFLICT DO NOTHING"), values)
            return cursor.fetchone()
        cursor.execute(f"WITH {draw} {insert} ON CONFLICT DO NOTHING RETURNING is_control", values)
        rows = cursor.fetchall()
    control = sum(1 for (is_control,) in rows if is_control)
    return len(rows), control


def plan_triggers_run(*, plan_id: int, now: datetime | None = None) -> tuple[int, int] | None:
    """Run one plan's trigger for what happened since it last looked: one statement. None when the
    plan is inactive, manual, broken (a deleted segment or template: logged, and shown on the plan's
    page), or held by another worker right now."""
    from .validation import plan_problems

    now = now or timezone.now()
    with transaction.atomic():
        plan = (
            ContactPlan.objects.select_for_update(skip_locked=True)
            .filter(pk=plan_id, is_active=True)
            .exclude(trigger=ContactPlan.Trigger.MANUAL)
            .first()
        )
        if plan is None:
            return None
        if plan_problems(plan):
            logger.warning("plans.trigger_skipped plan=%s reason=invalid_plan", plan.pk)
            return None
        since = plan.triggers_checked_at
        if since >= now:
            return (0, 0)
        q = trigger_q(plan, since=since, until=now)
        enrolled = enrol_insert(plan, Customer.objects.filter(q), source=Enrolment.Source.TRIGGER, now=now)
        ContactPlan.objects.filter(pk=plan.pk).update(triggers_checked_at=now)
    logger.info("plans.triggered plan=%s enrolled=%s control=%s", plan_id, *enrolled)
    return enrolled


def plans_with_triggers() -> list[int]:
    return list(
        ContactPlan.objects.filter(is_active=True)
        .exclude(trigger=ContactPlan.Trigger.MANUAL)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def plans_on_purchase() -> list[int]:
    return list(
        ContactPlan.objects.filter(
            is_active=True, trigger__in=[ContactPlan.Trigger.FIRST_PURCHASE, ContactPlan.Trigger.EVERY_PURCHASE]
        ).values_list("pk", flat=True)
    )


def plans_on_segment(segment_id: int) -> list[int]:
    return list(
        ContactPlan.objects.filter(
            is_active=True,
            trigger_segment_id=segment_id,
            trigger__in=[ContactPlan.Trigger.SEGMENT_ENTERED, ContactPlan.Trigger.SEGMENT_EXITED],
        ).values_list("pk", flat=True)
    )


def first_step(plan: ContactPlan) -> PlanStep | None:
    return plan.steps.order_by("position").first()
