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


@shared_task(acks_late=True, ignore_result=True)
def metrics_segment_summaries_warm_task(run_id: int) -> None:
    """No retry: a figure that is not ready is computed when the dashboard first shows it."""
    from .selectors import segment_summaries_warm

    logger.info("metrics.segment_summaries_warmed run=%s views=%s", run_id, segment_summaries_warm())


@shared_task(bind=True, acks_late=True, ignore_result=True)
def metrics_nightly_task(self) -> None:
    """Beat, 02:30: recompute as of today (a run already queued for today is taken over)."""
    run = recompute_run_create(queue=False)
    logger.info("metrics.nightly run=%s", run.pk)
    metrics_recompute(run_id=run.pk, chunks_async=True)
