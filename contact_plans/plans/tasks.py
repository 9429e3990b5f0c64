"""Celery entry points of contact plans: thin, ids in, one service each, safe to run twice.

The beat runs ``plans_triggers_dispatch_task`` (every 5 minutes: one task per plan with a trigger)
and ``plans_steps_dispatch_task`` (every minute: ends what is over, then one task per chunk of due
enrolments). None retries through Celery: what is due stays due in the database, and the next beat
hands it out again.
"""

from celery import shared_task

from . import runner, triggers


@shared_task(acks_late=True, ignore_result=True)
def plans_triggers_dispatch_task() -> None:
    for plan_id in triggers.plans_with_triggers():
        plan_triggers_run_task.delay(plan_id)


@shared_task(acks_late=True, ignore_result=True)
def plan_triggers_run_task(plan_id: int) -> None:
    enrolled = triggers.plan_triggers_run(plan_id=plan_id)
    if enrolled and enrolled[0]:
        # First steps due now go out without waiting for the next minute's beat.
        runner.plans_steps_dispatch()


@shared_task(acks_late=True, ignore_result=True)
def plans_demo_run_task() -> None:
    """The demo: the ready-made plans switched on and run over the seeded data (reactions)."""
    from .ready_made import ready_made_plans_demo

    ready_made_plans_demo()


@shared_task(acks_late=True, ignore_result=True)
def plans_steps_dispatch_task() -> None:
    runner.plans_steps_dispatch()


@shared_task(acks_late=True, ignore_result=True)
def plan_steps_run_task(enrolment_ids: list[int]) -> None:
    runner.plan_steps_run(enrolment_ids=enrolment_ids)
