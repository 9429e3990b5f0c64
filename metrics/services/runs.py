"""A recompute run's life: asked for (debounced), claimed once, its progress and failure recorded, and
finished once by whichever part of the run completes last.

A run is claimed with a conditional UPDATE from queued to running; a partial unique index lets only
one run be running, so a second claim waits in the queue and is started when the running one ends.
"""

from __future__ import annotations

import logging
from datetime import date

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from metrics import run_messages
from metrics.models import ModelVersion, RecomputeRun
from metrics.run_messages import part
from retention_crm import events, heartbeat

from .swap import scores_swap

logger = logging.getLogger(__name__)


def recompute_run_create(*, as_of: date | None = None, user=None, queue: bool = True) -> RecomputeRun:
    """Ask for a full recompute as of `as_of` (default: today in the workspace time zone).

    Debounced: while a run for the same day waits in the queue, that run is returned, since it will
    see every change made until it starts. With `queue`, a worker is asked to run it after commit.
    """
    as_of = as_of or timezone.localdate()
    waiting = RecomputeRun.objects.filter(status=RecomputeRun.Status.QUEUED, as_of=as_of).order_by("created_at").first()
    if waiting is not None:
        return waiting
    run = RecomputeRun.objects.create(as_of=as_of, created_by=user if user and user.is_authenticated else None)
    logger.info("metrics.recompute_queued run=%s as_of=%s", run.pk, as_of)
    if queue:
        _queue(run.pk)
    return run


def _queue(run_id: int) -> None:
    from metrics.tasks import metrics_recompute_task

    transaction.on_commit(lambda: metrics_recompute_task.delay(run_id))


def recompute_runs_reap() -> int:
    """Mark failed the running run whose worker died (no heartbeat for JOB_HEARTBEAT_TIMEOUT_MINUTES,
    retention_crm.heartbeat), which frees the one running place (the one_running_recompute index) and
    starts the run waiting in the queue, if any; returns how many were reaped. The run's own table of
    scores is dropped by the next run that starts. Idempotent: the UPDATE is conditional on the status
    and the last beat."""
    cutoff = heartbeat.stale_before()
    reaped = RecomputeRun.objects.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff),
        status=RecomputeRun.Status.RUNNING,
    ).update(
        status=RecomputeRun.Status.FAILED,
        finished_at=timezone.now(),
        **_said([part("worker_lost")]),
    )
    if reaped:
        logger.warning("metrics.recompute_runs_reaped count=%d", reaped)
        transaction.on_commit(_start_next_queued)
    return reaped


def recompute_run_claim(*, run_id: int) -> bool:
    """queued -> running, once. False when another delivery claimed it or another run is running
    (this one then stays queued and is started when that one finishes)."""
    recompute_runs_reap()
    now = timezone.now()
    try:
        with transaction.atomic():
            claimed = RecomputeRun.objects.filter(pk=run_id, status=RecomputeRun.Status.QUEUED).update(
                status=RecomputeRun.Status.RUNNING, started_at=now, heartbeat_at=now, **_said([part("loading")])
            )
    except IntegrityError:
        logger.info("metrics.recompute_waits run=%s reason=another_running", run_id)
        return False
    return claimed == 1


def _said(parts: list[dict]) -> dict:
    """The fields of a run's message: the parts, rendered per reader, and their English text."""
    return {"message_parts": parts, "message": run_messages.english(parts)}


def recompute_run_fail(*, run_id: int, message: list[dict]) -> None:
    """`message`: parts of metrics.run_messages, e.g. [part("failed")]."""
    RecomputeRun.objects.filter(pk=run_id).exclude(status=RecomputeRun.Status.SUCCEEDED).update(
        status=RecomputeRun.Status.FAILED, finished_at=timezone.now(), **_said(message)
    )


def recompute_run_step(*, run_id: int, message: list[dict]) -> None:
    RecomputeRun.objects.filter(pk=run_id, status=RecomputeRun.Status.RUNNING).update(
        **_said(message), heartbeat_at=timezone.now()
    )


def recompute_run_say(*, run_id: int, message: list[dict], **fields) -> None:
    """Store the run's message (and other fields of the run) whatever its status."""
    RecomputeRun.objects.filter(pk=run_id).update(**_said(message), **fields)


def _start_next_queued() -> None:
    waiting = RecomputeRun.objects.filter(status=RecomputeRun.Status.QUEUED).order_by("created_at", "id").first()
    if waiting is not None:
        _queue(waiting.pk)


def recompute_run_finish(*, run_id: int) -> bool:
    """The last part to finish (every chunk counted, the snapshots saved) marks the run succeeded, once,
    and on PostgreSQL swaps its table of new rows in (services.swap)."""
    try:
        return _finish(run_id)
    except DatabaseError:
        logger.exception("metrics.recompute_swap_failed run=%s", run_id)
        recompute_run_fail(
            run_id=run_id,
            message=[part("saving_failed")],
        )
        return False


def _finish(run_id: int) -> bool:
    with transaction.atomic():
        finished = RecomputeRun.objects.filter(
            pk=run_id, status=RecomputeRun.Status.RUNNING, chunks_done__gte=F("chunks_total"), snapshots_saved=True
        ).update(status=RecomputeRun.Status.SUCCEEDED)
        if finished:
            model_version_id, started_at = RecomputeRun.objects.values_list("model_version_id", "started_at").get(
                pk=run_id
            )
            if connection.vendor == "postgresql":
                scores_swap(run_id=run_id, started_at=started_at)
            RecomputeRun.objects.filter(pk=run_id).update(finished_at=timezone.now())
            # The current model is the one the customer rows were scored with (none after a run that
            # could not fit one), so that a refresh scores like the last recompute did.
            ModelVersion.objects.filter(is_current=True).exclude(pk=model_version_id).update(is_current=False)
            if model_version_id:
                ModelVersion.objects.filter(pk=model_version_id).update(is_current=True)
            transaction.on_commit(_start_next_queued)
            events.publish(events.METRICS_RECOMPUTED, run_id=run_id)
    if finished:
        logger.info("metrics.recompute_succeeded run=%s", run_id)
    return bool(finished)
