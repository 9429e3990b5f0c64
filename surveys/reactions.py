"""surveys' reactions to other apps' events (connected from SurveysConfig.ready())."""

from retention_crm import events

from .tasks import complaint_resolved_invite_task, resurvey_task


def on_interaction_resolved(*, interaction_id: int, customer_id: int) -> None:
    complaint_resolved_invite_task.delay(interaction_id, customer_id)


def on_followup_completed(*, followup_id: int, customer_id: int) -> None:
    resurvey_task.delay(followup_id)


def on_demo_seeded() -> None:
    from .demo import surveys_demo_seed

    # A few hundred answers, in bulk: small enough for the seeding process itself.
    surveys_demo_seed()


def connect() -> None:
    events.subscribe(events.INTERACTION_RESOLVED)(on_interaction_resolved)
    events.subscribe(events.FOLLOWUP_COMPLETED)(on_followup_completed)
    events.subscribe(events.DEMO_SEEDED)(on_demo_seeded)
