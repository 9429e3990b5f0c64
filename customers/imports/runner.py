"""Runs one claimed import job: read the file chunk by chunk, check, merge, report."""

import logging
import time
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from retention_crm import events

from .. import roles
from ..models import ImportJob
from .formats import ByteCounter, FileRefused, chunks_for, open_text
from .writer import Staging

logger = logging.getLogger(__name__)

# The progress bar is refreshed at most this often: one UPDATE per second costs nothing, one per
# chunk of a fast file would be noise.
PROGRESS_EVERY_SECONDS = 0.5
ORDER_FORMATS = {"orders", "online-retail", "cdnow"}
CUSTOMER_FORMATS = {"customers", "online-retail", "cdnow"}


def _importer_manager_id(job: ImportJob) -> int | None:
    user = job.created_by
    if user is None or roles.is_administrator(user):
        return None
    return user.pk


def _progress(job: ImportJob, **fields) -> None:
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now(), **fields)


def run(job: ImportJob) -> ImportJob:
    language = job.language or settings.LANGUAGE_CODE
    started = time.monotonic()
    with override(language):
        try:
            _run(job)
        except FileRefused as exc:
            _finish(job, ImportJob.Status.FAILED, message=str(exc))
        except DatabaseError:
            logger.exception("imports.job_database_error job=%s", job.pk)
            _finish(
                job, ImportJob.Status.FAILED, message=_("The import failed on a database error; nothing was written.")
            )
        except Exception:
            # Never leave a job "running" for ever: its page would poll for good. The merge is one
            # transaction, so a failure here has written nothing.
            logger.exception("imports.job_crashed job=%s", job.pk)
            _finish(job, ImportJob.Status.FAILED, message=_("The import failed unexpectedly; nothing was written."))
    job.refresh_from_db()
    logger.info(
        "imports.job_finished job=%s status=%s rows=%d errors=%d seconds=%.1f",
        job.pk, job.status, job.rows_read, job.error_count, time.monotonic() - started,
    )  # fmt: skip
    return job


def _finish(job: ImportJob, status: str, **fields) -> None:
    _progress(job, status=status, finished_at=timezone.now(), **fields)


def _run(job: ImportJob) -> None:
    staging = Staging(job, importer_manager_id=_importer_manager_id(job))
    counter = ByteCounter(None)
    path = Path(job.path)
    if not path.is_file():
        raise FileRefused(_("The uploaded file is no longer there; upload it again."))
    rows_read = rows_skipped = 0
    skipped_reason = ""
    last_update = 0.0
    staging.create()
    try:
        with open_text(path, counter) as text:
            for chunk in chunks_for(job.format, text, time_zone=settings.TIME_ZONE):
                if chunk.customers is not None:
                    staging.load_customers(chunk.customers)
                if chunk.lines is not None:
                    staging.load_lines(chunk.lines)
                    staging.add_bad_orders(chunk.bad_orders)
                staging.record_errors(chunk.errors)
                rows_read += chunk.rows_read
                rows_skipped += chunk.rows_skipped
                skipped_reason = skipped_reason or chunk.skipped_reason
                if time.monotonic() - last_update > PROGRESS_EVERY_SECONDS:
                    last_update = time.monotonic()
                    # A file that grew since the job was created must not pass its size (a constraint).
                    processed = min(counter.count, job.total_bytes)
                    _progress(job, processed_bytes=processed, rows_read=rows_read, error_count=staging.error_count)
        staging.analyze()
        with transaction.atomic():
            staging.constraints_immediate()
            counts = _merge(job, staging)
        message = ""
        if rows_skipped:
            message = _("%(count)d lines were skipped: %(reason)s.") % {"count": rows_skipped, "reason": skipped_reason}
        if counts.customers_created:
            message = (
                message + " " + _("%(count)d new customers were created.") % {"count": counts.customers_created}
            ).strip()
        _finish(
            job,
            ImportJob.Status.SUCCEEDED,
            processed_bytes=job.total_bytes,
            rows_read=rows_read,
            rows_skipped=rows_skipped,
            error_count=staging.error_count,
            created_count=counts.created,
            updated_count=counts.updated,
            unchanged_count=counts.unchanged,
            message=message,
        )
    finally:
        staging.close()
    if job.format in ORDER_FORMATS:
        from ..tasks import customer_rollups_drain_task

        transaction.on_commit(customer_rollups_drain_task.delay)
        events.publish(events.ORDERS_IMPORTED, job_id=str(job.pk))
    if job.format in CUSTOMER_FORMATS:
        events.publish(events.CUSTOMERS_IMPORTED, job_id=str(job.pk))


def _merge(job: ImportJob, staging: Staging):
    if job.format == "customers":
        staging.check_customers()
        return staging.merge_customers()
    from_file = job.format in CUSTOMER_FORMATS
    staging.check_lines(customers_from_file=from_file)
    return staging.merge_orders(customers_from_file=from_file)


def connection_vendor() -> str:
    return connection.vendor
