"""Celery entry points of contact_plans: the outbox's beat dispatcher and its batches.

Neither retries through Celery: a message's retries live in its row (state, due_at, attempts),
and a task lost with its worker is handed out again by the next beat once its lease has passed.
"""

from celery import shared_task

from .messaging.dispatch import messages_dispatch, messages_send_batch


@shared_task(acks_late=True, ignore_result=True)
def messages_dispatch_task() -> None:
    messages_dispatch()


@shared_task(acks_late=True, ignore_result=True)
def messages_send_batch_task(message_ids: list[int]) -> None:
    messages_send_batch(message_ids=message_ids)


@shared_task(acks_late=True, ignore_result=True)
def one_to_one_reminders_task() -> None:
    """Beat (daily): each overdue one-to-one's lead gets one email (staff_reminders.py)."""
    from .staff_reminders import one_to_one_reminders_send

    one_to_one_reminders_send()


@shared_task(acks_late=True, ignore_result=True)
def followup_reminders_task() -> None:
    """Beat (daily): each account manager gets one email listing their newly overdue tasks
    (followup_reminders.py); a second run the same day finds nothing more to remind."""
    from .followup_reminders import followup_reminders_send

    followup_reminders_send()


# Campaigns keep their tasks in their own package; imported here so that the worker registers them.
from .campaigns.tasks import campaign_chunk_write_task, campaigns_start_due_task  # noqa: E402, F401

# Contact plans' tasks live with their code; imported here so that the worker's autodiscovery of
# contact_plans.tasks registers them.
from .plans.tasks import (  # noqa: E402, F401
    plan_steps_run_task,
    plan_triggers_run_task,
    plans_steps_dispatch_task,
    plans_triggers_dispatch_task,
)
