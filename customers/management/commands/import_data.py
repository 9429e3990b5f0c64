"""manage.py import_data --format FORMAT FILE: the same import the browser and the API run."""

import sys
import threading

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from customers.imports.services import import_job_create_from_path, import_job_run
from customers.models import ImportJob


class Command(BaseCommand):
    help = "Import customers or orders from a file (customers, orders, online-retail or cdnow format)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="The file (plain or .gz).")
        parser.add_argument("--format", required=True, choices=ImportJob.Format.values)
        parser.add_argument("--user", help="Username the import runs as (default: an administrator's rights).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw the progress bar.")

    def handle(self, *args, path, format, user=None, no_progress=False, **options):  # noqa: A002
        owner = None
        if user:
            owner = get_user_model().objects.filter(username=user).first()
            if owner is None:
                raise CommandError(f"No user named {user!r}.")
        try:
            job = import_job_create_from_path(user=owner, path=path, format=format)
        except ValidationError as exc:
            raise CommandError("; ".join(m for ms in exc.message_dict.values() for m in ms)) from None
        done = threading.Event()
        if not no_progress and sys.stderr.isatty():
            threading.Thread(target=self._draw_progress, args=(job.pk, done), daemon=True).start()
        try:
            job = import_job_run(job_id=job.pk)
        finally:
            done.set()
        self._report(job)
        if job.status == ImportJob.Status.FAILED:
            raise CommandError(job.message)

    def _draw_progress(self, job_id, done: threading.Event) -> None:
        # A separate thread has its own database connection, so it sees the committed progress.
        from django.db import connection

        try:
            while not done.wait(0.5):
                job = ImportJob.objects.get(pk=job_id)
                width = 40
                filled = int(width * job.progress_percent / 100)
                sys.stderr.write(
                    f"\r[{'#' * filled}{'.' * (width - filled)}] {job.progress_percent:3d}%  {job.rows_read:,} rows"
                )
                sys.stderr.flush()
        finally:
            sys.stderr.write("\n")
            connection.close()

    def _report(self, job: ImportJob) -> None:
        self.stdout.write(
            f"{job.outcome_label}: {job.rows_read:,} rows read, {job.created_count:,} created, "
            f"{job.updated_count:,} updated, {job.unchanged_count:,} unchanged, {job.rows_skipped:,} skipped, "
            f"{job.error_count:,} errors."
        )
        if job.message:
            self.stdout.write(job.message)
        for error in job.row_errors.order_by("line")[:20]:
            self.stdout.write(f"  line {error.line}, {error.column}: {error.reason}")
        if job.error_count > 20:
            self.stdout.write(f"  ... and {job.error_count - 20:,} more (see the report in the browser or the API).")
