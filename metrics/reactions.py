"""How metrics reacts to other apps' events (connected in MetricsConfig.ready).

Handlers run after the publisher's transaction commits, in its process (retention_crm.events runs
them on commit): they queue work and return.
"""

from __future__ import annotations

from retention_crm import events

from .services.runs import recompute_run_create


def on_order_saved(*, order_id: int, customer_id: int) -> None:
    """order.placed / order.changed: refresh that customer's row in a worker."""
    from .tasks import metrics_refresh_customer_task

    metrics_refresh_customer_task.delay(customer_id)


def on_data_replaced(**payload: object) -> None:
    """orders.imported / customers.imported / demo.seeded: a full recompute, debounced (a run already
    waiting in the queue will see this data too)."""
    recompute_run_create(queue=True)


def on_recomputed(*, run_id: int) -> None:
    """metrics.recomputed: in workers, the book-performance sums of the picker's periods, the
    dashboard's segment figures of every scope and the products bought together."""
    from .tasks import book_sums_refresh_task, metrics_segment_summaries_warm_task, product_pairs_recompute_task

    book_sums_refresh_task.delay()
    metrics_segment_summaries_warm_task.delay(run_id)
    product_pairs_recompute_task.delay(run_id)


def connect() -> None:
    # A new or changed order moves one customer's figures; an import or the demo seed moves all.
    events.subscribe(events.ORDER_PLACED)(on_order_saved)
    events.subscribe(events.ORDER_CHANGED)(on_order_saved)
    for event in (events.ORDERS_IMPORTED, events.CUSTOMERS_IMPORTED, events.DEMO_SEEDED):
        events.subscribe(event)(on_data_replaced)
    # Book performance reads the sums the last run left; the dashboard, the warmed segment figures.
    events.subscribe(events.METRICS_RECOMPUTED)(on_recomputed)
