"""Imports whose worker was killed mid-run: reaped by their heartbeat, their upload deleted, the page
says why."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from customers.imports.services import import_job_create, import_jobs_reap
from customers.models import ImportJob
from retention_crm import heartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    return settings.IMPORT_UPLOAD_DIR


def running_job(user, *, last_beat_minutes_ago: float) -> ImportJob:
    """A job claimed by a worker that then stopped beating: what a killed worker leaves behind."""
    job = import_job_create(
        user=user, uploaded_file=SimpleUploadedFile("c.csv", b"external_id,name\nC-1,Ana\n"), format="customers",
        run_async=False,
    )  # fmt: skip
    beat = timezone.now() - timedelta(minutes=last_beat_minutes_ago)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, started_at=beat, heartbeat_at=beat)
    return job


def test_a_job_silent_past_the_timeout_is_failed_with_the_reason_and_its_upload_deleted(ada, client):
    job = running_job(ada, last_beat_minutes_ago=11)
    assert (upload := job.path) and Path(upload).exists()

    reaped = import_jobs_reap()

    job.refresh_from_db()
    assert reaped == 1
    assert job.status == ImportJob.Status.FAILED and job.finished_at is not None
    assert job.message.startswith(str(heartbeat.INTERRUPTED))
    assert not Path(upload).exists()
    client.force_login(ada)
    page = client.get(reverse("customers:import_detail", args=[job.pk])).content.decode()
    assert "Interrupted: the worker stopped" in page


def test_reaping_twice_is_reaping_once(ada):
    job = running_job(ada, last_beat_minutes_ago=30)
    import_jobs_reap()
    job.refresh_from_db()
    first = (job.status, job.finished_at, job.message)

    assert import_jobs_reap() == 0

    job.refresh_from_db()
    assert (job.status, job.finished_at, job.message) == first


def test_a_job_that_beats_is_left_running(ada):
    job = running_job(ada, last_beat_minutes_ago=1)

    assert import_jobs_reap() == 0

    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING


def test_the_timeout_is_a_setting(ada, settings):
    settings.JOB_HEARTBEAT_TIMEOUT_MINUTES = 60
    job = running_job(ada, last_beat_minutes_ago=30)

    assert import_jobs_reap() == 0

    settings.JOB_HEARTBEAT_TIMEOUT_MINUTES = 20
    assert import_jobs_reap() == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED


def test_the_reaper_runs_every_five_minutes(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["customers-import-jobs-reap"]

    assert entry["task"] == "customers.tasks.import_jobs_reap_task"
    assert entry["schedule"].minute == set(range(0, 60, heartbeat.REAP_EVERY_MINUTES))
