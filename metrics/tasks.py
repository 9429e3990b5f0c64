"""Thin Celery entry points: ids in, one service call. The services are what the tests exercise.

None of them retries: each works on derived figures that the next run rewrites from the orders, and
each failure is already recorded where users see it (a failed chunk fails its run, whose message says
so; the next recompute redoes everything). A retry would only repeat work that a newer run replaces.
"""

import logging

from celery import shared_task

from .services import (
    metrics_backtest,
    metrics_recompute,
    metrics_refresh_customer,
    metrics_score_chunk,
    recompute_run_create,
    recompute_runs_reap,
)
from .services.book import book_range_compute, book_sums_refresh

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def metrics_recompute_task(run_id: int) -> None:
    # Chunks go back to the broker as a group, so several workers can score them side by side.
    metrics_recompute(run_id=run_id, chunks_async=True)


@shared_task(acks_late=True, ignore_result=True)
def metrics_score_chunk_task(
    run_id: int, model_version_id: int | None, customer_id_from: int, customer_id_to: int
) -> None:
    # A failed chunk marks its run failed, and the next recompute redoes everything.
    metrics_score_chunk(
        run_id=run_id,
        model_version_id=model_version_id,
        customer_id_from=customer_id_from,
        customer_id_to=customer_id_to,
    )


@shared_task(acks_late=True, ignore_result=True)
def metrics_backtest_task(model_version_id: int) -> None:
    # A back-test that fails leaves the model without one; the next night's model gets its own.
    metrics_backtest(model_version_id=model_version_id)


@shared_task(acks_late=True, ignore_result=True)
def metrics_refresh_customer_task(customer_id: int) -> None:
    # A refresh that fails leaves the customer's row as the last recompute wrote it (a day old at
    # most); their next order refreshes it again and the nightly recompute rewrites it anyway.
    metrics_refresh_customer(customer_id=customer_id)


@shared_task(acks_late=True, ignore_result=True)
def metrics_segment_summaries_warm_task(run_id: int) -> None:
    """No retry: a figure that is not ready is computed when the dashboard first shows it."""
    from .selectors import segment_summaries_warm

    logger.info("metrics.segment_summaries_warmed run=%s views=%s", run_id, segment_summaries_warm())


@shared_task(acks_late=True, ignore_result=True)
def metrics_nightly_task() -> None:
    """Beat, 02:30: recompute as of today (a run already queued for today is taken over)."""
    run = recompute_run_create(queue=False)
    logger.info("metrics.nightly run=%s", run.pk)
    metrics_recompute(run_id=run.pk, chunks_async=True)


@shared_task(acks_late=True, ignore_result=True)
def book_sums_refresh_task() -> None:
    # No retry: until the next recompute refreshes them again, the page computes on the spot the
    # periods that are missing, and shows the stored ones as the last refresh left them.
    book_sums_refresh()


@shared_task(acks_late=True, ignore_result=True)
def recompute_runs_reap_task() -> None:
    """Every 5 minutes (beat): a run whose worker died is marked failed and the next one starts."""
    recompute_runs_reap()


@shared_task(acks_late=True, ignore_result=True)
def product_pairs_recompute_task(run_id: int) -> None:
    """After each metrics recompute. No retry: until the next run, the pairs stay as the last one
    left them, and a rerun replaces the same rows with the same figures."""
    from .services.recommendations import product_pairs_recompute_for_run

    product_pairs_recompute_for_run(run_id=run_id)


@shared_task(acks_late=True, ignore_result=True)
def book_range_compute_task(job_id: int) -> None:
    # No retry: a failed job says so, and asking for the range again starts a new one.
    book_range_compute(job_id=job_id)
