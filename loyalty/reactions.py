"""How loyalty reacts to other apps' events (connected in LoyaltyConfig.ready).

Handlers run after the publisher's transaction commits, in its process: each queues a task that
takes ids, so a slow ledger never slows down recording an order.
"""

from __future__ import annotations

from retention_crm import events


def on_order_placed(*, order_id: int, customer_id: int) -> None:
    from .tasks import order_points_earn_task

    order_points_earn_task.delay(order_id)


def on_order_changed(*, order_id: int, customer_id: int) -> None:
    from .tasks import order_points_reverse_task

    order_points_reverse_task.delay(order_id)


def on_orders_imported(*, job_id) -> None:
    from .tasks import import_points_earn_task

    import_points_earn_task.delay(str(job_id))


def on_survey_answered(*, response_id, customer_id: int, answered_at: str) -> None:
    """An entry in the contests "one per survey answered" running when they answered: the time of
    the answer (the event's, which surveys publishes up to a minute later) goes with the task, so a
    late event or task never enters a contest that was running when they answered nor one that ended before."""
    from .tasks import contest_survey_entry_task

    contest_survey_entry_task.delay(str(response_id), customer_id, answered_at)


def on_demo_seeded() -> None:
    from .demo import loyalty_demo_seed

    loyalty_demo_seed()


def connect() -> None:
    events.subscribe(events.ORDER_PLACED)(on_order_placed)
    events.subscribe(events.ORDER_CHANGED)(on_order_changed)
    events.subscribe(events.ORDERS_IMPORTED)(on_orders_imported)
    events.subscribe(events.SURVEY_ANSWERED)(on_survey_answered)
    # The demo's programme: small enough (a few thousand orders) to set up in the seeding process.
    events.subscribe(events.DEMO_SEEDED)(on_demo_seeded)
