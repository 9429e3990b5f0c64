"""Thin Celery entry points: ids in, one service call. The services are what the tests exercise."""

import logging

from celery import shared_task

from .services import segment_refresh, segment_refresh_customer, segments_refresh_all

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def segment_refresh_task(self, segment_id: int) -> None:
    # Safe to run twice: a second refresh finds nothing to change (the segment row lock orders them).
    segment_refresh(segment_id=segment_id)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def segments_refresh_all_task(self) -> None:
    results = segments_refresh_all()
    logger.info("segmentation.refresh_all segments=%d", len(results))


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=3)
def segment_refresh_customer_task(self, customer_id: int) -> None:
    segment_refresh_customer(customer_id=customer_id)
