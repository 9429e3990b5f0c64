"""A campaign run's chunks written by a real Celery worker (Redis broker, its own thread): every
chunk task is taken and written once, a duplicated delivery of the same chunk adds nothing, and the
run ends "in the outbox" with one message per recipient outside the control group."""

import time

import pytest

from contact_plans.campaigns import services
from contact_plans.campaigns.tasks import campaign_chunk_write_task
from contact_plans.models import CampaignRecipient, CampaignRun, Message

from .campaign_helpers import campaign_for, newsletter_template, segment_of
from .factories import consenting_customer

pytestmark = pytest.mark.worker


def _wait_for(run_id: int, state: str, seconds: float = 60) -> CampaignRun:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = CampaignRun.objects.get(pk=run_id)
        if run.state == state:
            return run
        time.sleep(0.2)
    return run


def test_a_real_worker_writes_every_chunk_once(settings, celery_worker):
    settings.CAMPAIGN_CHUNK_SIZE = 5
    customers = [consenting_customer(time_zone=zone) for zone in ["Asia/Jakarta", "Europe/Madrid"] * 12]
    campaign = campaign_for(segment_of(*customers), newsletter_template(), control_percent=25)

    run = services.campaign_run_start(
        campaign_id=campaign.pk, now=services.run_starts_at(campaign.next_send_on, campaign.send_time)
    )
    ids = list(CampaignRecipient.objects.filter(run=run).order_by("id").values_list("id", flat=True))
    campaign_chunk_write_task.delay(run.pk, ids[0], ids[4])  # a chunk delivered twice
    run = _wait_for(run.pk, CampaignRun.State.QUEUED)

    assert run.state == "queued" and (run.chunks, run.chunks_done) == (5, 5)
    assert (run.audience, run.in_control) == (24, 6)
    assert Message.objects.count() == 18
    assert CampaignRecipient.objects.filter(run=run, in_control=False, message__isnull=True).count() == 0
    assert not Message.objects.filter(
        customer_id__in=CampaignRecipient.objects.filter(run=run, in_control=True).values("customer_id")
    ).exists()
    hours = {(m.customer.time_zone, m.due_at.hour) for m in Message.objects.select_related("customer")}
    assert hours == {("Asia/Jakarta", 3), ("Europe/Madrid", 9)} or hours == {("Asia/Jakarta", 3), ("Europe/Madrid", 8)}
