"""contact_plans' reactions to other apps' events (retention_crm.events), connected from
ContactPlansConfig.ready().

- ``order.placed``: the order thank-you (the template ``order-thank-you``, if active) is queued for
  the customer. ``order.placed`` comes from orders recorded one at a time (the API, the browser);
  imports publish ``orders.imported`` and the demo seed ``demo.seeded``, so neither sends thanks
  for a history of orders. The plans triggered by a purchase run at once too.
- ``followup.completed`` / ``followup.cancelled``: a contact plan's task written to the timeline with
  its outcome, and its enrolment moved on, ended or branched (contact_plans.plans.services).
- ``customer.unsubscribed``: the customer's promotional plans end.
- ``segment.refreshed``: the plans triggered by that segment's entries or exits run at once;
  ``metrics.recomputed``: every plan's trigger runs (the expected repurchase dates changed).
- ``demo.seeded``: the ready-made plans are switched on and run over the demo data, and the demo's
  newsletter campaigns are written (campaigns/demo.py).
"""

from retention_crm import events

# Imported here, from ready(), so that every worker registers the task (Celery's autodiscovery
# reads contact_plans.tasks only).
from .messaging.template_tasks import order_thank_you_send_task


def on_order_placed(*, order_id: int, customer_id: int) -> None:
    order_thank_you_send_task.delay(order_id)
    # Plans triggered by purchases enrol now rather than at the next beat (one query per plan).
    from .plans.tasks import plan_triggers_run_task
    from .plans.triggers import plans_on_purchase

    for plan_id in plans_on_purchase():
        plan_triggers_run_task.delay(plan_id)


def on_followup_closed(*, followup_id: int, customer_id: int) -> None:
    from .plans.services import plan_task_closed

    plan_task_closed(followup_id=followup_id)


def on_customer_unsubscribed(*, customer_id: int, channel: str, topic: str) -> None:
    from .plans.services import enrolments_end_on_unsubscribe

    if not topic:
        enrolments_end_on_unsubscribe(customer_id=customer_id)


def on_segment_refreshed(*, segment_id: int, entered_count: int, exited_count: int, refreshed_at) -> None:
    from .plans.tasks import plan_triggers_run_task
    from .plans.triggers import plans_on_segment

    if entered_count or exited_count:
        for plan_id in plans_on_segment(segment_id):
            plan_triggers_run_task.delay(plan_id)


def on_metrics_recomputed(*, run_id) -> None:
    from .plans.tasks import plans_triggers_dispatch_task

    plans_triggers_dispatch_task.delay()


def on_demo_seeded_plans() -> None:
    from .plans.tasks import plans_demo_run_task

    # The ready-made plans are switched on and run in a worker.
    plans_demo_run_task.delay()


def on_demo_seeded_campaigns() -> None:
    from .campaigns.demo import campaigns_demo_seed

    # The demo's campaigns: a few thousand customers, set up in the seeding process, on PostgreSQL
    # and on SQLite alike (campaigns/demo.py).
    campaigns_demo_seed()


def connect() -> None:
    events.subscribe(events.ORDER_PLACED)(on_order_placed)
    events.subscribe(events.FOLLOWUP_COMPLETED)(on_followup_closed)
    events.subscribe(events.FOLLOWUP_CANCELLED)(on_followup_closed)
    events.subscribe(events.CUSTOMER_UNSUBSCRIBED)(on_customer_unsubscribed)
    events.subscribe(events.SEGMENT_REFRESHED)(on_segment_refreshed)
    events.subscribe(events.METRICS_RECOMPUTED)(on_metrics_recomputed)
    # Two handlers: one failing does not stop the other (retention_crm/events.py).
    events.subscribe(events.DEMO_SEEDED)(on_demo_seeded_plans)
    events.subscribe(events.DEMO_SEEDED)(on_demo_seeded_campaigns)
