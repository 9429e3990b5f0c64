"""The step runner: due enrolments advance, in chunks that the workers share.

``plans_steps_dispatch`` (beat, every minute) first ends, set-based, what is over (the goal met, a
control period ended: two UPDATEs for the whole base), then reads the ids of the due enrolments in
primary-key chunks and queues one ``plan_steps_run_task`` per chunk. A chunk is claimed row by row
with ``FOR UPDATE SKIP LOCKED`` and the due condition checked again, so two workers (or a task
delivered twice) never run a step twice; and each step's effect is keyed:

- a message has the source key ``plan:<plan>:step:<step>:enrolment:<enrolment>``, so the outbox
  keeps one message per key whatever happens;
- a task (FollowUp) has the same key;
- ``EnrolmentStep`` is unique per enrolment and step.

Within a chunk the conditions of a step are one query for all its enrolments, and an email or SMS
step's messages are written with one call of the outbox's bulk path
(``messaging.bulk.messages_write_bulk``: the outbox's reasons for the chunk (an email's in SQL; an
SMS's numbers normalised as ``message_enqueue`` normalises them, then the rules read for the chunk
in two queries), an email rendered once per group of customers and substituted per customer
(messaging/skeleton.py), an SMS rendered per customer and finished as the one-message path finishes
it (the STOP line, the length rule), then ``COPY`` straight into the outbox, or on a key taken
meanwhile a staged ``INSERT ... SELECT ... ON CONFLICT (source_key) DO NOTHING``), in the same
transaction as the step runs (one ``COPY``, or an INSERT ... ON CONFLICT when one is there already)
and the enrolments' advance (one UPDATE per distinct new state: a statement or two per chunk).
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, Order
from retention_crm.sql import copy_text
from segmentation.conditions import definition_to_q

from .. import dialect
from ..messaging.bulk import BulkItem, messages_write_bulk
from ..models import ContactPlan, Enrolment, EnrolmentStep, FollowUp, PlanStep
from ..services import followup_schedule

logger = logging.getLogger(__name__)

# Enrolments per task: a personalised message is about 0.2 ms of rendering and writing on a quiet
# machine (under 1 ms at a load of 8 on two cores, docs/benchmarks.md), so a chunk is well under a
# second of one worker, and a 100,000-customer enrolment is 50 tasks the workers share. Larger chunks
# spread a commit (its WAL flush and deferred foreign-key checks) and the chunk's set-based queries
# over more messages: 2,000 was a third cheaper per message than 500, 5,000 no cheaper than 2,000;
# the chunk's CSV for COPY is then a few MB.
CHUNK_SIZE = 2000


def source_key(*, plan_id: int, step_id: int, enrolment_id: int) -> str:
    return f"plan:{plan_id}:step:{step_id}:enrolment:{enrolment_id}"


# --- Ends, set-based ------------------------------------------------------------------------------


def enrolments_close(*, now: datetime | None = None) -> dict[str, int]:
    """End, in two statements for the whole base, the open enrolments whose plan's goal is met (a
    purchase after enrolment) and the control rows whose period is over."""
    now = now or timezone.now()
    open_states = [Enrolment.State.ACTIVE, Enrolment.State.WAITING, Enrolment.State.CONTROL]
    purchased = Order.objects.filter(
        customer=OuterRef("customer_id"), kind=Order.Kind.PURCHASE, ordered_at__gt=OuterRef("enrolled_at")
    ).exclude(status=Order.Status.CANCELLED)
    ended = dict(state=Enrolment.State.ENDED, ended_at=now, next_position=None, next_due_at=None)
    goal = (
        Enrolment.objects.filter(state__in=open_states, plan__goal=ContactPlan.Goal.PURCHASE)
        .filter(Exists(purchased))
        .update(end_reason=Enrolment.EndReason.GOAL_MET, **ended)
    )
    control = Enrolment.objects.filter(state=Enrolment.State.CONTROL, next_due_at__lte=now).update(
        end_reason=Enrolment.EndReason.CONTROL_OVER, **ended
    )
    return {"goal_met": goal, "control_over": control}


def due_enrolment_chunks(*, now: datetime, size: int = CHUNK_SIZE):
    """The ids of the active enrolments due by ``now``, in primary-key chunks (keyset: every chunk is
    one range of the enrolment_due index)."""
    last = 0
    while True:
        ids = list(
            Enrolment.objects.filter(state=Enrolment.State.ACTIVE, next_due_at__lte=now, pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


# --- One chunk ------------------------------------------------------------------------------------


@dataclass
class StepRun:
    """An EnrolmentStep row to write (plain: a model instance per enrolment cost a tenth of a chunk)."""

    enrolment_id: int
    step_id: int
    at: datetime
    outcome: str = ""
    message_id: int | None = None
    followup_id: int | None = None
    detail: str = ""


def _steps_by_plan(plan_ids) -> dict[int, dict[int, PlanStep]]:
    steps: dict[int, dict[int, PlanStep]] = defaultdict(dict)
    steps_qs = PlanStep.objects.filter(plan_id__in=plan_ids).select_related("template", "plan")
    for step in steps_qs.prefetch_related("template__contents"):
        steps[step.plan_id][step.position] = step
    return steps


def _passing(step: PlanStep, enrolments: list[Enrolment]) -> set[int]:
    """The enrolment ids whose customer meets the step's conditions now: a query or two for the group."""
    ids = {e.pk for e in enrolments}
    if step.conditions:
        customers = Customer.objects.filter(pk__in=[e.customer_id for e in enrolments])
        ok = set(customers.filter(definition_to_q(step.conditions)).values_list("pk", flat=True))
        ids = {e.pk for e in enrolments if e.customer_id in ok}
    if step.unless_purchased and ids:
        # A purchase after the customer's own enrolment (one before it does not count).
        bought = Order.objects.filter(
            customer=OuterRef("customer_id"), kind=Order.Kind.PURCHASE, ordered_at__gt=OuterRef("enrolled_at")
        ).exclude(status=Order.Status.CANCELLED)
        ids -= set(Enrolment.objects.filter(pk__in=ids).filter(Exists(bought)).values_list("pk", flat=True))
    return ids


def _advance(enrolment: Enrolment, steps: dict[int, PlanStep], *, after: int, now: datetime) -> None:
    """Point the enrolment at the step after position ``after`` (its delay from now), or end it."""
    following = sorted(position for position in steps if position > after)
    if not following:
        enrolment.state = Enrolment.State.ENDED
        enrolment.end_reason = Enrolment.EndReason.COMPLETED
        enrolment.ended_at = now
        enrolment.next_position = enrolment.next_due_at = None
        return
    nxt = steps[following[0]]
    enrolment.state = Enrolment.State.ACTIVE
    enrolment.next_position = nxt.position
    enrolment.next_due_at = now + timedelta(days=nxt.delay_days)


def _messages_step(step: PlanStep, members: list[Enrolment], passing: set[int], *, now: datetime) -> list[StepRun]:
    """An email or SMS step for a chunk's enrolments at it: the messages of those whose conditions
    hold written with one call of the outbox's bulk path (idempotent on the source key)."""
    runs = {e.pk: StepRun(enrolment_id=e.pk, step_id=step.pk, at=now) for e in members}
    template = step.template
    usable = template is not None and template.is_active and template.channel == step.kind
    items = []
    for enrolment in members:
        run = runs[enrolment.pk]
        if enrolment.pk not in passing:
            run.outcome = EnrolmentStep.Outcome.SKIPPED_CONDITIONS
        elif not usable:
            run.outcome = EnrolmentStep.Outcome.FAILED
            run.detail = _("The step's template was deleted or switched off.")
        else:
            key = source_key(plan_id=step.plan_id, step_id=step.pk, enrolment_id=enrolment.pk)
            items.append(BulkItem(customer=enrolment.customer, source_key=key))
    outcomes = messages_write_bulk(template=template, items=items) if items else {}
    for enrolment in members:
        run = runs[enrolment.pk]
        outcome = outcomes.get(source_key(plan_id=step.plan_id, step_id=step.pk, enrolment_id=enrolment.pk))
        if outcome is None:
            continue
        if outcome.message_id is None:
            run.outcome = EnrolmentStep.Outcome.FAILED
            run.detail = outcome.error[:300]
        else:
            run.outcome = EnrolmentStep.Outcome.MESSAGE
            run.message_id = outcome.message_id
    return [runs[e.pk] for e in members]


def _run_step(step: PlanStep, enrolment: Enrolment, *, passes: bool, now: datetime) -> StepRun:
    """A task or wait step for one enrolment (messages: ``_messages_step``, per chunk)."""
    run = StepRun(enrolment_id=enrolment.pk, step_id=step.pk, at=now)
    if not passes:
        run.outcome = EnrolmentStep.Outcome.SKIPPED_CONDITIONS
        return run
    key = source_key(plan_id=step.plan_id, step_id=step.pk, enrolment_id=enrolment.pk)
    if step.kind == PlanStep.Kind.TASK:
        manager = enrolment.customer.account_manager
        if manager is None or not manager.is_active:
            run.outcome = EnrolmentStep.Outcome.SKIPPED_NO_MANAGER
            return run
        run.followup_id = followup_schedule(
            customer=enrolment.customer,
            assigned_to=manager,
            due_at=now + timedelta(days=step.task_due_days),
            note=step.task_note or step.plan.name,
            key=key,
            kind=step.task_kind,
            plan=step.plan,
            plan_step=step,
            enrolment=enrolment,
        ).pk
        run.outcome = EnrolmentStep.Outcome.TASK
        return run
    run.outcome = EnrolmentStep.Outcome.WAITED
    return run


@contextlib.contextmanager
def _gc_paused():
    """Python's cycle collector off for one chunk: a chunk allocates some hundred thousand objects
    (model instances, contexts, rows), almost all freed by reference counting, yet they set off
    collections, the oldest generation's walking the worker's whole heap: 7 % of a chunk's time in
    an A/B of alternate chunks (docs/benchmarks.md). What a chunk leaves in cycles is collected after."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def plan_steps_run(*, enrolment_ids: list[int], now: datetime | None = None) -> int:
    """Run the due step of each of these enrolments (those still due: the others are skipped), and
    advance them. Returns how many steps ran. Safe to run twice and on two workers at once."""
    now = now or timezone.now()
    ran = 0
    with _gc_paused(), transaction.atomic():
        # Locked by primary key alone, the due condition checked on the locked rows: with it in the
        # WHERE, stale statistics after a large enrolment (none of its rows yet counted as active)
        # lead PostgreSQL to read every open enrolment through the one-open-per-plan index.
        locked = Enrolment.objects.select_for_update(skip_locked=True).filter(pk__any=enrolment_ids).order_by("pk")
        enrolments = [
            e
            for e in locked
            if e.state == Enrolment.State.ACTIVE and e.next_due_at is not None and e.next_due_at <= now
        ]
        if not enrolments:
            return 0
        _customers_attach(enrolments)
        steps = _steps_by_plan({e.plan_id for e in enrolments})
        groups: dict[tuple[int, int], list[Enrolment]] = defaultdict(list)
        for enrolment in enrolments:
            groups[(enrolment.plan_id, enrolment.next_position)].append(enrolment)
        runs, changed = [], []
        for (plan_id, position), members in groups.items():
            step = steps[plan_id].get(position)
            if step is None:
                # The plan was edited and lost this step meanwhile: go on with the next one.
                for enrolment in members:
                    _advance(enrolment, steps[plan_id], after=position or 0, now=now)
                    changed.append(enrolment)
                continue
            passing = _passing(step, members)
            if step.sends_message:
                step_runs = _messages_step(step, members, passing, now=now)
            else:
                step_runs = [_run_step(step, e, passes=e.pk in passing, now=now) for e in members]
            for enrolment, run in zip(members, step_runs, strict=True):
                runs.append(run)
                if run.outcome == EnrolmentStep.Outcome.TASK:
                    # The plan waits for the account manager's outcome (tasks_outcome.py).
                    enrolment.state = Enrolment.State.WAITING
                    enrolment.next_due_at = None
                else:
                    _advance(enrolment, steps[plan_id], after=position, now=now)
                changed.append(enrolment)
                ran += 1
        _steps_save(runs, now=now)
        _enrolments_save(changed)
    logger.info("plans.steps_ran count=%s", ran)
    return ran


def _customers_attach(enrolments: list[Enrolment]) -> None:
    """Each enrolment's customer (with their account manager), read by primary key in a query of its
    own: joined to the lock (``select_related``), the chunk's 2,000 customer ids were a hash join
    over a sequential scan of the whole customer table (30 ms a chunk on 100,000 customers, ten
    times that on a million), where this is an index scan of 2 ms."""
    ids = list({e.customer_id for e in enrolments})
    customers = {c.pk: c for c in Customer.objects.select_related("account_manager").filter(pk__any=ids).order_by()}
    cache = Enrolment.customer.field
    for enrolment in enrolments:
        cache.set_cached_value(enrolment, customers[enrolment.customer_id])


_STEPS_SQL = """
    INSERT INTO contact_plans_enrolmentstep (enrolment_id, step_id, outcome, message_id, followup_id, detail, at)
    SELECT u.*, %s FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::bigint[], %s::bigint[], %s::text[]) AS u
    ON CONFLICT (enrolment_id, step_id) DO NOTHING"""

_STEPS_COPY = """
    COPY contact_plans_enrolmentstep (enrolment_id, step_id, outcome, message_id, followup_id, detail, at) FROM STDIN"""


def _steps_save(runs: list[StepRun], *, now: datetime) -> None:
    """The chunk's step runs (each at ``now``), one per enrolment and step, so a run twice adds
    nothing. On PostgreSQL ``COPY``'d, under a savepoint: a third cheaper than an INSERT ... ON
    CONFLICT, whose every row is a speculative insertion (docs/benchmarks.md). The chunk's
    enrolments are locked and were due at this step, so a run already there is rare (the plan's
    steps edited back and forth): then the COPY fails as a whole and the INSERT ... SELECT FROM
    unnest(...) ON CONFLICT DO NOTHING writes the rows, skipping those there (bulk_create compiles
    a placeholder per field and row: a fifth of a chunk's time in a profile)."""
    if not runs:
        return
    if connection.vendor != "postgresql":
        EnrolmentStep.objects.bulk_create([EnrolmentStep(**vars(run)) for run in runs], ignore_conflicts=True)
        return
    rows = [(r.enrolment_id, r.step_id, r.outcome, r.message_id, r.followup_id, r.detail) for r in runs]
    with connection.cursor() as cursor:
        try:
            # copy_expert is psycopg's own: its errors wrapped as Django's, so IntegrityError is caught.
            with transaction.atomic(), connection.wrap_database_errors:
                cursor.copy_expert(_STEPS_COPY, copy_text(rows, last=(now,)))
            return
        except IntegrityError:
            logger.info("plans.steps_copy_conflict count=%s", len(rows))
        cursor.execute(_STEPS_SQL, [now, *(list(column) for column in zip(*rows, strict=True))])


_ADVANCE_SQL = """
    UPDATE contact_plans_enrolment
    SET state = %s, next_position = %s, next_due_at = %s, ended_at = %s, end_reason = %s
    WHERE id = ANY(%s::bigint[])"""


_ADVANCED_FIELDS = ("state", "next_position", "next_due_at", "ended_at", "end_reason")


def _enrolments_save(enrolments: list[Enrolment]) -> None:
    """The chunk's enrolments moved on: one UPDATE per distinct new state, by primary key. The
    enrolments at one step of one plan all move to the same state (the next step, due a delay from
    the same instant, or the end), so a chunk is a statement or two, whatever its size (Django's
    bulk_update writes a CASE per field and row, which cost more than the rest of the chunk)."""
    if not enrolments:
        return
    if not dialect.is_postgresql():
        # SQLite: the same UPDATE per row, in one executemany (in-process, no round trips).
        dialect.update_by_id(
            Enrolment._meta.db_table,
            _ADVANCED_FIELDS,
            [(e.state, e.next_position, e.next_due_at, e.ended_at, e.end_reason, e.pk) for e in enrolments],
        )
        return
    states: dict[tuple, list[int]] = defaultdict(list)
    for e in enrolments:
        states[(e.state, e.next_position, e.next_due_at, e.ended_at, e.end_reason)].append(e.pk)
    with connection.cursor() as cursor:
        for values, ids in states.items():
            cursor.execute(_ADVANCE_SQL, [*values, ids])


def plans_steps_dispatch(*, now: datetime | None = None) -> int:
    """Close what is over, then queue the due enrolments in chunks; returns how many chunks."""
    from .tasks import plan_steps_run_task

    now = now or timezone.now()
    enrolments_close(now=now)
    chunks = 0
    for ids in due_enrolment_chunks(now=now):
        plan_steps_run_task.delay(ids)
        chunks += 1
    return chunks


def enrolment_after_task(*, followup_id: int, now: datetime | None = None) -> Enrolment | None:
    """A plan's task was done or cancelled: its outcome ends the enrolment, jumps to a later step
    (PlanStep.branches) or lets it go on with the next step. Nothing when the enrolment is not
    waiting for this task (already moved on, ended by hand)."""
    now = now or timezone.now()
    followup = FollowUp.objects.filter(pk=followup_id, enrolment__isnull=False).select_related("plan_step").first()
    if followup is None or followup.state == FollowUp.State.OPEN:
        return None
    with transaction.atomic():
        enrolment = (
            Enrolment.objects.select_for_update()
            .filter(pk=followup.enrolment_id, state=Enrolment.State.WAITING)
            .first()
        )
        if enrolment is None:
            return None
        steps = {step.position: step for step in PlanStep.objects.filter(plan_id=enrolment.plan_id)}
        step = followup.plan_step
        position = step.position if step is not None else (enrolment.next_position or 0)
        target = (step.branches or {}).get(followup.outcome) if step is not None and followup.outcome else None
        if target == "end":
            enrolment.state = Enrolment.State.ENDED
            enrolment.end_reason = Enrolment.EndReason.TASK_OUTCOME
            enrolment.ended_at = now
            enrolment.next_position = enrolment.next_due_at = None
        elif isinstance(target, int) and target in steps:
            enrolment.state = Enrolment.State.ACTIVE
            enrolment.next_position = target
            enrolment.next_due_at = now + timedelta(days=steps[target].delay_days)
        else:
            _advance(enrolment, steps, after=position, now=now)
        enrolment.save(update_fields=["state", "next_position", "next_due_at", "ended_at", "end_reason"])
    return enrolment
