"""Celery entry points of campaigns: the beat's starter (every minute) and one task per chunk of a
run's recipients. Both are safe to run twice: a run is one per campaign and date, a chunk writes
only recipients not yet written, in one transaction."""

from celery import shared_task

from .bulk import chunk_write
from .services import campaigns_start_due


@shared_task(acks_late=True, ignore_result=True)
def campaigns_start_due_task() -> None:
    campaigns_start_due()


@shared_task(acks_late=True, ignore_result=True)
def campaign_chunk_write_task(run_id: int, first_id: int, last_id: int) -> None:
    chunk_write(run_id=run_id, first_id=first_id, last_id=last_id)
