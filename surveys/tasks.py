"""Thin Celery entry points of surveys: each takes ids, calls one service, and is safe to run twice
(invitations are made once per wave and person; a message once per source key)."""

from celery import shared_task

from . import answers, loop, sending


@shared_task(acks_late=True, ignore_result=True)
def invitations_send_task(survey_id: int) -> None:
    # One chunk per task; a full chunk queues the next, so a big send never holds one task for long.
    if sending.invitations_send(survey_id=survey_id) == sending.CHUNK:
        invitations_send_task.delay(survey_id)


@shared_task(acks_late=True, ignore_result=True)
def surveys_send_due_task() -> None:
    """Beat (hourly): recurring sends that are due, and the after-purchase surveys of the day."""
    from .models import Survey

    for survey_id in sending.surveys_due():
        sending.survey_send(survey=Survey.objects.get(pk=survey_id))
    sending.after_purchase_send()


@shared_task(acks_late=True, ignore_result=True)
def reminders_send_task() -> None:
    sending.reminders_send()


@shared_task(acks_late=True, ignore_result=True)
def complaint_resolved_invite_task(interaction_id: int, customer_id: int) -> None:
    loop.complaint_resolved_invite(interaction_id=interaction_id, customer_id=customer_id)


@shared_task(acks_late=True, ignore_result=True)
def resurvey_task(followup_id: int) -> None:
    loop.resurvey_after_followup(followup_id=followup_id)


@shared_task(acks_late=True, ignore_result=True)
def survey_answers_process_task() -> None:
    """Beat (every minute): the closed loop of the answers recorded since (timeline, follow-up, event)."""
    answers.survey_answers_process()


@shared_task(acks_late=True, ignore_result=True)
def survey_closed_loop_task(response_id: str) -> None:
    # Queued by the answer page before the beat took the closed loop over: the messages still in the
    # broker at that deploy run here (their responses are also marked pending: idempotent).
    answers.survey_closed_loop(response_id=response_id)
