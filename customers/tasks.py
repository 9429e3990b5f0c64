from celery import shared_task

from .imports.services import import_job_run


@shared_task(bind=True, acks_late=True, ignore_result=True)
def import_job_run_task(self, job_id: str) -> None:
    import_job_run(job_id=job_id)
