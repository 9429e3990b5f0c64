"""Book performance's sums of every period the picker offers, stored after each recompute.

The page shows one period at a time, and computing one means reading its days of a million
customers, every customer's first purchase and the assignment history: seconds. The nightly run
does it once for all the picker's periods (25: months, quarters and years) from one load of the
day totals, and stores each book's sums (BookSums, a few hundred rows); the page then reads the
rows of one period. A period not stored (a custom range of the API, or any period before the first
run) is computed by metrics.selectors.book_period_sums, with the same function.

A custom range of the API is computed by a worker (BookRange): a range needs every customer's days
in and around it, seconds to tens of seconds at a million customers, too long for a request. The API
answers 202 with the job at once (book_range_request) and the report from its kept sums once it
has succeeded; every request for the same range until the next refresh is answered from them.

The stored sums are as fresh as the run: an order imported afterwards into a past period shows
there after the next run, as on the dashboards.
"""

from __future__ import annotations

import logging
import time
from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from customers.rollups import customer_rollups_drain
from metrics import conf, selectors
from metrics.analytics import book
from metrics.models import BookRange, BookSums
from retention_crm import heartbeat

logger = logging.getLogger(__name__)


def _rows(period: book.Period, *, window_days: int, base, books, computed_at) -> list[BookSums]:
    common = {"start": period.start, "end": period.end, "window_days": window_days, "computed_at": computed_at}
    sums = [(None, base)] + [(int(manager_id), row) for manager_id, row in books.iterrows()]
    return [
        BookSums(
            manager_id=manager_id,
            customers=int(row["customers"]),
            active_start=int(row["active_start"]),
            retained=int(row["retained"]),
            kept_revenue=float(row["kept_revenue"]),
            kept_revenue_before=float(row["kept_revenue_before"]),
            revenue=float(row["revenue"]),
            revenue_existing=float(row["revenue_existing"]),
            buyers=int(row["buyers"]),
            upsold=int(row["upsold"]),
            **common,
        )
        for manager_id, row in sums
    ]


def book_sums_refresh(*, today: date | None = None) -> int:
    """Compute the sums of every period the picker offers on ``today`` and replace the stored ones
    with them, in one transaction; returns how many periods were stored."""
    started = time.monotonic()
    today = today or timezone.localdate()
    window_days = int(conf.get("ACTIVITY_WINDOW_DAYS"))
    periods = book.picker_periods(today)
    customer_rollups_drain()  # day totals and upsell days of an import's customers still being refreshed
    last = max(period.end for period in periods)
    # One load for all the periods: every day up to the last period's end (rows by customer, then
    # day), and the first purchase and upsell days, assignments.
    daily = selectors.customer_daily_frame(as_of=last)
    inputs = {
        "customers": selectors.customer_ids(),
        "first_purchase": selectors.first_purchases(up_to=last),
        "upsell_days": selectors.customer_upsell_days(as_of=last),
        "assignments": selectors.book_assignments(),
    }
    computed_at = timezone.now()
    rows: list[BookSums] = []
    for period in periods:
        start, end = selectors.period_instants(period)
        activity = book.period_activity(daily, period=period, window_days=window_days)
        base, books = book.period_book_sums(
            period, **inputs, activity=activity, start_instant=start, end_instant=end, window_days=window_days
        )
        rows += _rows(period, window_days=window_days, base=base, books=books, computed_at=computed_at)
    try:
        with transaction.atomic():
            BookSums.objects.all().delete()
            BookSums.objects.bulk_create(rows, batch_size=1000)
            # The custom ranges kept for the sums replaced are computed again when asked for.
            BookRange.objects.filter(status__in=FINISHED).exclude(sums_of=computed_at).delete()
    except IntegrityError:
        # A concurrent refresh (two recomputes finishing together) stored the same periods first.
        logger.info("metrics.book_sums_refresh_skipped reason=concurrent")
        return 0
    logger.info(
        "metrics.book_sums_refreshed periods=%d rows=%d seconds=%.1f",
        len(periods),
        len(rows),
        time.monotonic() - started,
    )
    return len(periods)


# --- Custom ranges, computed by a worker ---------------------------------------------------------

FINISHED = (BookRange.Status.SUCCEEDED, BookRange.Status.FAILED)
LIVE = (BookRange.Status.QUEUED, BookRange.Status.RUNNING, BookRange.Status.SUCCEEDED)
# Ranges being computed at once, at most (each takes a worker seconds to tens of seconds at a million
# customers): a request for one more is refused (BookRangesBusy: the API's 429) until one finishes.
MAX_PENDING = 10


class BookRangesBusy(Exception):
    """MAX_PENDING ranges are waiting or running already."""


# A job still waiting this long after it was asked for lost its task (a broker emptied, a worker
# that died before acknowledging it with the queue): it is failed, and the next request asks again.
QUEUED_TIMEOUT_MINUTES = 60


def book_range_reap() -> int:
    """Mark failed the jobs whose worker died (no heartbeat for JOB_HEARTBEAT_TIMEOUT_MINUTES) or
    whose task never came (queued for QUEUED_TIMEOUT_MINUTES), so that the range is asked for again;
    returns how many. Conditional on the status and the last beat: idempotent."""
    now = timezone.now()
    cutoff = heartbeat.stale_before(now=now)
    lost = Q(status=BookRange.Status.RUNNING) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    never_started = Q(status=BookRange.Status.QUEUED, created_at__lt=now - timedelta(minutes=QUEUED_TIMEOUT_MINUTES))
    reaped = BookRange.objects.filter(lost | never_started).update(
        status=BookRange.Status.FAILED, failure=BookRange.Failure.WORKER_LOST, finished_at=now
    )
    if reaped:
        logger.warning("metrics.book_ranges_reaped count=%d", reaped)
    return reaped


def book_range_request(*, period: book.Period) -> BookRange:
    """The job that has, or will have, the sums of ``period`` for the current stored sums: the one
    already waiting, running or done, else a new one a worker computes after commit (BookRangesBusy
    when MAX_PENDING others are waiting or running)."""
    window_days = int(conf.get("ACTIVITY_WINDOW_DAYS"))
    book_range_reap()
    live = selectors.book_range_live(period, window_days=window_days)
    if live is not None:
        return live
    if BookRange.objects.filter(status__in=(BookRange.Status.QUEUED, BookRange.Status.RUNNING)).count() >= MAX_PENDING:
        raise BookRangesBusy
    try:
        with transaction.atomic():
            job = BookRange.objects.create(
                start=period.start,
                end=period.end,
                window_days=window_days,
                sums_of=selectors.book_sums_epoch(),
                steps_total=selectors.BOOK_PERIOD_STEPS,
            )
    except IntegrityError:
        # A concurrent request for the same range created it first (one_live_book_range).
        live = selectors.book_range_live(period, window_days=window_days)
        if live is None:
            raise
        return live
    logger.info("metrics.book_range_queued job=%s days=%d", job.pk, (period.end - period.start).days)
    transaction.on_commit(lambda: _queue(job.pk))
    return job


def _queue(job_id: int) -> None:
    from metrics.tasks import book_range_compute_task

    book_range_compute_task.delay(job_id)


def book_range_report(*, user, period: book.Period) -> selectors.BookReport | BookRange:
    """What the API answers for ``period``: the report from the stored sums (a period of the picker)
    or from a custom range's kept sums, else the job computing them (book_range_request)."""
    window_days = int(conf.get("ACTIVITY_WINDOW_DAYS"))
    stored = selectors.book_sums_stored(period, window_days=window_days)
    if stored is not None:
        return selectors.book_report(user=user, period=period, window_days=window_days, sums=stored)
    job = book_range_request(period=period)
    if job.status == BookRange.Status.SUCCEEDED:
        return selectors.book_report(
            user=user, period=period, window_days=job.window_days, sums=selectors.book_range_sums(job)
        )
    return job


def _sums_json(sums) -> dict:
    """One row of book.SUM_COLUMNS as JSON numbers: counts as ints, amounts as the doubles computed."""
    return {
        name: float(sums[name]) if book.SUM_DTYPES[name] == "float64" else int(sums[name]) for name in book.SUM_COLUMNS
    }


def book_range_compute(*, job_id: int) -> bool:
    """Compute and keep a custom range's sums (a worker's task): claimed once (queued to running),
    its progress stored after each load, its sums stored with the status in one UPDATE. False when
    another delivery had it, or it failed (the job then says so; asking for the range again retries)."""
    now = timezone.now()
    claimed = BookRange.objects.filter(pk=job_id, status=BookRange.Status.QUEUED).update(
        status=BookRange.Status.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        return False
    job = BookRange.objects.get(pk=job_id)
    started = time.monotonic()

    def progress(done: int) -> None:
        BookRange.objects.filter(pk=job_id, status=BookRange.Status.RUNNING).update(
            steps_done=min(done, job.steps_total), heartbeat_at=timezone.now()
        )

    try:
        with heartbeat.beating(BookRange, job_id):
            base, books = selectors.book_period_sums(
                book.period_custom(job.start, job.end), window_days=job.window_days, progress=progress
            )
    except Exception:
        logger.exception("metrics.book_range_failed job=%s", job_id)
        BookRange.objects.filter(pk=job_id, status=BookRange.Status.RUNNING).update(
            status=BookRange.Status.FAILED, failure=BookRange.Failure.ERROR, finished_at=timezone.now()
        )
        return False
    sums = {
        "base": _sums_json(base),
        "books": [[int(manager_id), _sums_json(row)] for manager_id, row in books.iterrows()],
    }
    # Conditional: a job reaped meanwhile (its worker seemed lost) stays failed; it is asked for again.
    done = BookRange.objects.filter(pk=job_id, status=BookRange.Status.RUNNING).update(
        status=BookRange.Status.SUCCEEDED, sums=sums, steps_done=job.steps_total, finished_at=timezone.now()
    )
    logger.info("metrics.book_range_computed job=%s stored=%s seconds=%.1f", job_id, done, time.monotonic() - started)
    return bool(done)
