"""contact_plans' reactions to other apps' events (retention_crm.events), connected from
ContactPlansConfig.ready().

- ``order.placed``: the order thank-you (the template ``order-thank-you``, if active) is queued for
  the customer. ``order.placed`` comes from orders recorded one at a time (the API, the browser);
  imports publish ``orders.imported`` and the demo seed ``demo.seeded``, so neither sends thanks
  for a history of orders.
- ``demo.seeded``: the demo's newsletter campaigns (campaigns/demo.py).
"""

from retention_crm import events

# Imported here, from ready(), so that every worker registers the task (Celery's autodiscovery
# reads contact_plans.tasks only).
from .messaging.template_tasks import order_thank_you_send_task


def on_order_placed(*, order_id: int, customer_id: int) -> None:
    order_thank_you_send_task.delay(order_id)


def on_demo_seeded() -> None:
    from .campaigns.demo import campaigns_demo_seed

    campaigns_demo_seed()


def connect() -> None:
    events.subscribe(events.ORDER_PLACED)(on_order_placed)
    # The demo's campaigns: a few thousand customers, set up in the seeding process.
    events.subscribe(events.DEMO_SEEDED)(on_demo_seeded)
