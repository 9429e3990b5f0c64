"""Thin Celery entry points: ids in, one service call. The services are what the tests exercise.

None of them retries: each is safe to run again, and what a failed one leaves stale is put right by
the next full refresh (queued on every metrics.recomputed, so at least nightly).
"""

import logging

from celery import shared_task

from .services import segment_refresh, segment_refresh_customer, segments_refresh_all

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def segment_refresh_task(segment_id: int) -> None:
    # Safe to run twice: a second refresh finds nothing to change (the segment row lock orders them).
    segment_refresh(segment_id=segment_id)


@shared_task(acks_late=True, ignore_result=True)
def segments_refresh_all_task() -> None:
    results = segments_refresh_all()
    logger.info("segmentation.refresh_all segments=%d", len(results))


@shared_task(acks_late=True, ignore_result=True)
def segment_refresh_customer_task(customer_id: int) -> None:
    segment_refresh_customer(customer_id=customer_id)
