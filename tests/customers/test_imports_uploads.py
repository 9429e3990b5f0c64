"""Uploaded import files are personal data: never served, deleted when the import ends or expires."""

import importlib
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import clear_url_caches
from django.utils import timezone

from customers.imports.services import (
    import_job_create,
    import_job_create_from_path,
    import_job_run,
    import_uploads_purge,
)
from customers.models import ImportJob
from tests.clients import client_for

pytestmark = pytest.mark.django_db

CSV = b"external_id,name\nC-1,Ana\n"


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    return settings.IMPORT_UPLOAD_DIR


def upload(user, content: bytes = CSV) -> ImportJob:
    return import_job_create(
        user=user, uploaded_file=SimpleUploadedFile("c.csv", content), format="customers", run_async=False
    )


@pytest.fixture
def debug_urls(settings):
    """The URLconf as `make dev` builds it, with DEBUG on."""
    import retention_crm.urls

    settings.DEBUG = True
    importlib.reload(retention_crm.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(retention_crm.urls)
    clear_url_caches()


def test_an_uploaded_file_is_kept_outside_any_served_folder(ada, settings, upload_dir):
    job = upload(ada)

    path = Path(job.path)
    assert path.parent == upload_dir
    assert path.read_bytes() == CSV
    for served in (settings.STATIC_ROOT, *settings.STATICFILES_DIRS):
        assert not path.is_relative_to(served)


@pytest.mark.usefixtures("debug_urls")
def test_an_uploaded_file_is_not_served_even_in_development(ada):
    job = upload(ada)

    for client in (Client(), client_for(ada)):
        for url in (f"/media/imports/{job.pk}.upload", f"/media/{job.pk}.upload", f"/uploads/{job.pk}.upload"):
            assert client.get(url).status_code == 404


def test_the_upload_is_deleted_when_its_import_succeeds(ada):
    job = upload(ada)

    job = import_job_run(job_id=job.pk)

    assert job.status == ImportJob.Status.SUCCEEDED
    assert not Path(job.path).exists()


def test_the_upload_is_deleted_when_its_import_is_refused(ada):
    job = upload(ada, b"not,the,columns\n1,2,3\n")

    job = import_job_run(job_id=job.pk)

    assert job.status == ImportJob.Status.FAILED
    assert not Path(job.path).exists()


def test_a_command_line_import_leaves_the_users_file_in_place(ada, tmp_path):
    source = tmp_path / "customers.csv"
    source.write_bytes(CSV)

    job = import_job_run(job_id=import_job_create_from_path(user=ada, path=source, format="customers").pk)

    assert job.status == ImportJob.Status.SUCCEEDED
    assert source.read_bytes() == CSV


def _age(job: ImportJob, hours: int) -> None:
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=hours))
    past = time.time() - hours * 3600
    os.utime(job.path, (past, past))


def test_the_purge_deletes_uploads_older_than_the_retention_and_refuses_their_jobs(ada, settings, upload_dir):
    settings.IMPORT_UPLOAD_RETENTION_HOURS = 24
    stale, fresh = upload(ada), upload(ada)
    _age(stale, 25)
    _age(fresh, 23)
    orphan = upload_dir / "0a1b2c3d-0000-0000-0000-000000000000.upload"
    orphan.write_bytes(CSV)
    os.utime(orphan, (time.time() - 25 * 3600,) * 2)

    deleted = import_uploads_purge()

    assert deleted == 2
    assert not Path(stale.path).exists() and not orphan.exists()
    assert Path(fresh.path).read_bytes() == CSV
    stale.refresh_from_db()
    assert stale.status == ImportJob.Status.FAILED
    assert "upload it again" in stale.message
    assert ImportJob.objects.get(pk=fresh.pk).status == ImportJob.Status.QUEUED


def test_the_purge_also_removes_a_file_an_earlier_version_kept_elsewhere(ada, tmp_path):
    legacy = tmp_path / "media" / "imports"
    legacy.mkdir(parents=True)
    job = ImportJob.objects.create(format="customers", original_name="c.csv", path="", created_by=ada)
    ImportJob.objects.filter(pk=job.pk).update(path=str(legacy / f"{job.pk}.upload"), status="succeeded")
    (legacy / f"{job.pk}.upload").write_bytes(CSV)
    _age(ImportJob.objects.get(pk=job.pk), 48)

    assert import_uploads_purge() == 1

    assert not (legacy / f"{job.pk}.upload").exists()


def test_the_purge_runs_every_hour(settings):
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert "customers.tasks.import_uploads_purge_task" in schedule
    assert schedule["customers.tasks.import_uploads_purge_task"].minute == {15}
