"""retention_crm.heartbeat: a running job's heartbeat is touched from a thread while its task runs,
on a connection of its own (so it shows through the task's long transactions), and no longer after."""

import time

import pytest
from django.db import transaction
from django.utils import timezone

from metrics.models import RecomputeRun
from retention_crm import heartbeat

pytestmark = pytest.mark.django_db(transaction=True)


# A second connection writing while this one's transaction is open: PostgreSQL's row locks allow it;
# SQLite has one writer at a time (its transactions take the write lock at BEGIN, settings), so the
# beat waits for the block's end there.
@pytest.mark.postgres
def test_beating_touches_the_heartbeat_while_the_block_runs_even_inside_a_transaction(monkeypatch):
    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", 0.05)
    run = RecomputeRun.objects.create(as_of=timezone.localdate(), status="running", started_at=timezone.now())

    with transaction.atomic(), heartbeat.beating(RecomputeRun, run.pk):
        time.sleep(0.3)
        seen_inside = RecomputeRun.objects.values_list("heartbeat_at", flat=True).get(pk=run.pk)
    after_block = RecomputeRun.objects.values_list("heartbeat_at", flat=True).get(pk=run.pk)
    time.sleep(0.2)

    assert seen_inside is not None
    assert RecomputeRun.objects.values_list("heartbeat_at", flat=True).get(pk=run.pk) == after_block


def test_a_finished_job_is_not_beaten_back_to_life(monkeypatch):
    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", 0.05)
    run = RecomputeRun.objects.create(as_of=timezone.localdate(), status="failed")

    with heartbeat.beating(RecomputeRun, run.pk):
        time.sleep(0.2)

    assert RecomputeRun.objects.values_list("heartbeat_at", flat=True).get(pk=run.pk) is None
