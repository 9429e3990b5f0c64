"""How segmentation reacts to other apps' events (connected in SegmentationConfig.ready).

Handlers run after the publisher's transaction commits, in its process: they only queue work.
"""

from __future__ import annotations

from retention_crm import events

from .tasks import segment_refresh_customer_task, segments_refresh_all_task


def on_metrics_recomputed(*, run_id: int) -> None:
    """After a full metrics recompute every figure may have moved: refresh all segments in a worker."""
    segments_refresh_all_task.delay()


def on_customer_metrics_refreshed(*, customer_id: int) -> None:
    """One customer's scores moved: re-evaluate that customer's memberships."""
    segment_refresh_customer_task.delay(customer_id)


def connect() -> None:
    events.subscribe(events.METRICS_RECOMPUTED)(on_metrics_recomputed)
    events.subscribe(events.METRICS_CUSTOMER_REFRESHED)(on_customer_metrics_refreshed)
