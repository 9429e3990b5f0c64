from celery import shared_task

from .imports.services import import_job_run, import_uploads_purge
from .rollups import customer_rollups_drain


@shared_task(bind=True, acks_late=True, ignore_result=True)
def import_job_run_task(self, job_id: str) -> None:
    import_job_run(job_id=job_id)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def customer_rollups_drain_task(self) -> None:
    """After an import: refresh the rollups of the customers it queued (idempotent)."""
    customer_rollups_drain()


@shared_task(bind=True, acks_late=True, ignore_result=True)
def import_uploads_purge_task(self) -> None:
    """Hourly (beat): uploads whose import never finished are deleted after the retention period."""
    import_uploads_purge()
