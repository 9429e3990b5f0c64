"""Import jobs: created from the browser, the API or the command line, run by a worker.

An uploaded file is personal data: it is kept in ``IMPORT_UPLOAD_DIR`` (never under a URL), as
``<job id>.upload``, only until its import ends, successful or not. A file whose import never
ends (the worker was down, or died in the middle) is deleted by ``import_uploads_purge`` once it
is ``IMPORT_UPLOAD_RETENTION_HOURS`` old. A command-line import reads its file in place and
leaves it alone.
"""

import csv
import io
import logging
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from retention_crm import heartbeat

from ..models import ImportJob, ImportRowError

logger = logging.getLogger(__name__)


UPLOAD_SUFFIX = ".upload"


def _upload_dir() -> Path:
    path = Path(settings.IMPORT_UPLOAD_DIR)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _uploaded_copy(job: ImportJob) -> Path | None:
    """The job's own copy of an upload; None for a command-line import, whose file is the user's."""
    path = Path(job.path)
    return path if path.name == f"{job.pk}{UPLOAD_SUFFIX}" else None


def import_job_create(*, user, uploaded_file, format: str, run_async: bool = True) -> ImportJob:  # noqa: A002
    """Store the uploaded file and queue its import. Refuses files over the size limit."""
    if format not in ImportJob.Format.values:
        raise ValidationError(
            {
                "format": _("Unknown format %(format)s; choose one of: %(choices)s.")
                % {"format": format, "choices": ", ".join(ImportJob.Format.values)}
            }
        )
    size = getattr(uploaded_file, "size", None) or 0
    if size > settings.IMPORT_MAX_UPLOAD_BYTES:
        raise ValidationError(
            {
                "file": _("The file is %(size)s MB; the limit for an upload is %(limit)s MB.")
                % {"size": round(size / 1_048_576, 1), "limit": settings.IMPORT_MAX_UPLOAD_BYTES // 1_048_576}
            }
        )
    if size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    job_id = uuid.uuid4()
    target = _upload_dir() / f"{job_id}{UPLOAD_SUFFIX}"
    with target.open("wb") as out:
        for chunk in uploaded_file.chunks():
            out.write(chunk)
    job = ImportJob.objects.create(
        id=job_id,
        format=format,
        original_name=Path(uploaded_file.name or "upload").name[:255],
        path=str(target),
        created_by=user,
        total_bytes=size,
        language=translation.get_language() or "",
    )
    if run_async:
        from ..tasks import import_job_run_task

        transaction.on_commit(lambda: import_job_run_task.delay(str(job.id)))
    logger.info("imports.job_created job=%s format=%s bytes=%d", job.id, format, size)
    return job


def import_job_create_from_path(*, user, path: str | Path, format: str) -> ImportJob:  # noqa: A002
    """For the command line: import a file in place, without copying it."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError({"file": _("No such file: %(path)s") % {"path": path}})
    return ImportJob.objects.create(
        format=format,
        original_name=path.name,
        path=str(path.resolve()),
        created_by=user,
        total_bytes=path.stat().st_size,
    )


def import_job_run(*, job_id) -> ImportJob:
    """Run a queued job once. A second delivery of the same job finds it claimed and stops."""
    from .runner import run

    now = timezone.now()
    claimed = ImportJob.objects.filter(id=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=now, heartbeat_at=now
    )
    job = ImportJob.objects.get(id=job_id)
    if claimed != 1:
        logger.info("imports.job_already_claimed job=%s status=%s", job_id, job.status)
        return job
    try:
        with heartbeat.beating(ImportJob, job.pk):
            return run(job)
    finally:
        import_upload_delete(job=job)


def import_jobs_reap() -> int:
    """Mark failed the running imports whose worker died (no heartbeat for
    JOB_HEARTBEAT_TIMEOUT_MINUTES) and delete their uploads; returns how many. The merge is one
    transaction, so an interrupted import wrote nothing. Idempotent: the UPDATE is conditional on
    the status and the last beat, so a job reaped once, or alive after all, is left alone."""
    cutoff = heartbeat.stale_before()
    stale = ImportJob.objects.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff),
        status=ImportJob.Status.RUNNING,
    )
    ids = list(stale.values_list("pk", flat=True))
    reaped = stale.filter(pk__in=ids).update(
        status=ImportJob.Status.FAILED,
        finished_at=timezone.now(),
        message=_("%(reason)s Nothing was written; upload the file again.") % {"reason": heartbeat.INTERRUPTED},
    )
    for job in ImportJob.objects.filter(pk__in=ids, status=ImportJob.Status.FAILED).only("id", "path"):
        import_upload_delete(job=job)
    if reaped:
        logger.warning("imports.jobs_reaped count=%d", reaped)
    return reaped


def import_upload_delete(*, job: ImportJob) -> bool:
    """Delete the uploaded copy of a job's file, if it has one and it is still there."""
    path = _uploaded_copy(job)
    if path is None or not path.exists():
        return False
    path.unlink(missing_ok=True)
    logger.info("imports.upload_deleted job=%s", job.pk)
    return True


def import_uploads_purge() -> int:
    """Delete the uploads kept longer than IMPORT_UPLOAD_RETENTION_HOURS; returns how many.

    Those are the files of jobs that never finished, wherever an earlier version kept them, and
    files in the upload folder without a job. A job still queued is marked refused, saying why,
    so that its page stops waiting.
    """
    cutoff = timezone.now() - timedelta(hours=settings.IMPORT_UPLOAD_RETENTION_HOURS)
    deleted = 0
    for job in ImportJob.objects.filter(created_at__lt=cutoff).only("id", "path").iterator():
        deleted += import_upload_delete(job=job)
    expired = ImportJob.objects.filter(created_at__lt=cutoff, status=ImportJob.Status.QUEUED)
    expired.update(
        status=ImportJob.Status.FAILED,
        finished_at=timezone.now(),
        message=_("The file waited %(hours)d hours without being imported and was deleted; upload it again.")
        % {"hours": settings.IMPORT_UPLOAD_RETENTION_HOURS},
    )
    for path in _upload_dir().glob(f"*{UPLOAD_SUFFIX}"):
        if path.stat().st_mtime < cutoff.timestamp():
            path.unlink(missing_ok=True)
            deleted += 1
    logger.info("imports.uploads_purged count=%d", deleted)
    return deleted


SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
# The sample file of each format, small and importing cleanly; the orders sample is about the
# customers of the customers sample, so it goes in after that one.
SAMPLE_FILES = {
    ImportJob.Format.CUSTOMERS_CSV: "customers.csv",
    ImportJob.Format.ORDERS_CSV: "orders.csv",
    ImportJob.Format.ONLINE_RETAIL: "online-retail.csv",
    ImportJob.Format.CDNOW: "cdnow.txt",
}


def import_sample(*, format: str) -> tuple[str, bytes]:  # noqa: A002
    """The sample file of a format: its download name and content. KeyError for an unknown format."""
    name = SAMPLE_FILES[format]
    return f"sample-{name}", (SAMPLES_DIR / name).read_bytes()


REPORT_COLUMNS = ("line", "column", "reason")


def import_report_csv(*, job: ImportJob) -> str:
    """The downloadable report: one row per bad line, after a summary of the counts."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REPORT_COLUMNS)
    for error in ImportRowError.objects.filter(job=job).order_by("line", "id").values_list(*REPORT_COLUMNS).iterator():
        writer.writerow(error)
    return buffer.getvalue()
