"""Thin Celery entry points: ids in, one service call, and the decision to retry."""

import logging

from celery import shared_task
from django.db import OperationalError

from .imports.services import import_job_run, import_jobs_reap, import_uploads_purge
from .rollups import customer_rollups_drain

logger = logging.getLogger(__name__)

# Retried when the database cannot be reached (a restart, a failover): 30 s, 1, 2, 4 and 8 minutes,
# about a quarter of an hour in all, longer than a managed database's usual failover.
IMPORT_RETRIES = 5
IMPORT_RETRY_SECONDS = 30


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=IMPORT_RETRIES)
def import_job_run_task(self, job_id: str) -> None:
    try:
        import_job_run(job_id=job_id)
    except OperationalError as exc:
        # Nothing was claimed or everything was rolled back: the claim is a conditional UPDATE, so
        # the retry either claims the job now or finds it claimed (or finished) and stops.
        logger.warning("imports.job_retry job=%s attempt=%d", job_id, self.request.retries + 1)
        raise self.retry(exc=exc, countdown=IMPORT_RETRY_SECONDS * 2**self.request.retries)


# Not retried: every reader of the rollups drains the backlog first, so a failed drain is finished
# by the next reader (or the next import's drain).
@shared_task(acks_late=True, ignore_result=True)
def customer_rollups_drain_task() -> None:
    """After an import: refresh the rollups of the customers it queued (idempotent)."""
    customer_rollups_drain()


@shared_task(bind=True, acks_late=True, ignore_result=True)
def import_uploads_purge_task(self) -> None:
    """Hourly (beat): uploads whose import never finished are deleted after the retention period."""
    import_uploads_purge()


@shared_task(acks_late=True, ignore_result=True)
def import_jobs_reap_task() -> None:
    """Every 5 minutes (beat): imports whose worker died are marked failed. Not retried: the next
    beat runs it again."""
    import_jobs_reap()
