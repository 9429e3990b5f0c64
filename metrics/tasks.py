"""Thin Celery entry points: ids in, one service call. The services are what the tests exercise."""

import logging

from celery import shared_task

from .services import (
    metrics_backtest,
    metrics_recompute,
    metrics_refresh_customer,
    metrics_score_chunk,
    recompute_run_create,
)
from .services.book import book_sums_refresh

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def metrics_recompute_task(self, run_id: int) -> None:
    # Chunks go back to the broker as a group, so several workers can score them side by side.
    metrics_recompute(run_id=run_id, chunks_async=True)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def metrics_score_chunk_task(
    self, run_id: int, model_version_id: int | None, customer_id_from: int, customer_id_to: int
) -> None:
    # No retry: a failed chunk marks its run failed, and the next recompute redoes everything.
    metrics_score_chunk(
        run_id=run_id,
        model_version_id=model_version_id,
        customer_id_from=customer_id_from,
        customer_id_to=customer_id_to,
    )


@shared_task(bind=True, acks_late=True, ignore_result=True)
def metrics_backtest_task(self, model_version_id: int) -> None:
    metrics_backtest(model_version_id=model_version_id)


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=3)
def metrics_refresh_customer_task(self, customer_id: int) -> None:
    metrics_refresh_customer(customer_id=customer_id)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def metrics_nightly_task(self) -> None:
    """Beat, 02:30: recompute as of today (a run already queued for today is taken over)."""
    run = recompute_run_create(queue=False)
    logger.info("metrics.nightly run=%s", run.pk)
    metrics_recompute(run_id=run.pk, chunks_async=True)


@shared_task(acks_late=True, ignore_result=True)
def book_sums_refresh_task() -> None:
    # No retry: until the next recompute refreshes them again, the page computes on the spot the
    # periods that are missing, and shows the stored ones as the last refresh left them.
    book_sums_refresh()
