"""A recompute whose worker was killed mid-run: reaped by its heartbeat, which frees the one running
place so that the next run starts; the recompute card says why."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from metrics.models import RecomputeRun
from metrics.services import metrics_recompute, recompute_runs_reap
from retention_crm import heartbeat

pytestmark = pytest.mark.django_db

AS_OF = date(2024, 6, 30)


def running_run(*, last_beat_minutes_ago: float) -> RecomputeRun:
    beat = timezone.now() - timedelta(minutes=last_beat_minutes_ago)
    return RecomputeRun.objects.create(
        as_of=AS_OF, status=RecomputeRun.Status.RUNNING, started_at=beat, heartbeat_at=beat, chunks_total=4
    )


def test_a_run_silent_past_the_timeout_is_failed_with_the_reason_the_card_shows(marta, client):
    dead = running_run(last_beat_minutes_ago=11)

    assert recompute_runs_reap() == 1

    dead.refresh_from_db()
    assert dead.status == RecomputeRun.Status.FAILED and dead.finished_at is not None
    assert dead.message.startswith(str(heartbeat.INTERRUPTED))
    client.force_login(marta)
    assert "Interrupted: the worker stopped" in client.get(reverse("metrics:recompute_progress")).content.decode()


def test_reaping_frees_the_running_place_and_starts_the_waiting_run(db, django_capture_on_commit_callbacks):
    running_run(last_beat_minutes_ago=11)
    waiting = RecomputeRun.objects.create(as_of=AS_OF)

    with django_capture_on_commit_callbacks(execute=True):
        recompute_runs_reap()

    waiting.refresh_from_db()
    assert waiting.status == RecomputeRun.Status.SUCCEEDED


def test_a_claim_reaps_first(db):
    running_run(last_beat_minutes_ago=11)
    waiting = RecomputeRun.objects.create(as_of=AS_OF)

    assert metrics_recompute(run_id=waiting.pk).status == RecomputeRun.Status.SUCCEEDED


def test_reaping_twice_is_reaping_once_and_a_beating_run_is_left_alone(db):
    dead, alive = running_run(last_beat_minutes_ago=60), None
    recompute_runs_reap()
    dead.refresh_from_db()
    first = (dead.status, dead.finished_at, dead.message)
    alive = running_run(last_beat_minutes_ago=2)

    assert recompute_runs_reap() == 0

    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, dead.finished_at, dead.message) == first
    assert alive.status == RecomputeRun.Status.RUNNING


def test_the_reaper_runs_every_five_minutes(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["metrics-recompute-runs-reap"]

    assert entry["task"] == "metrics.tasks.recompute_runs_reap_task"
