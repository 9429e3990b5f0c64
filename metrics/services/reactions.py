"""How metrics reacts to other apps' events (subscribed in metrics.apps.MetricsConfig.ready).

Handlers run after the publisher's transaction commits and in its process, so they only queue work.
"""

from __future__ import annotations

from django.db import transaction

from .recompute import recompute_run_create


def on_order_saved(*, customer_id: int, **payload) -> None:
    """order.placed / order.changed: refresh that customer's row in a worker."""
    from metrics.tasks import metrics_refresh_customer_task

    transaction.on_commit(lambda: metrics_refresh_customer_task.delay(customer_id))


def on_data_replaced(**payload) -> None:
    """orders.imported / customers.imported / demo.seeded: a full recompute, debounced (a run already
    waiting in the queue will see this data too)."""
    recompute_run_create(queue=True)
