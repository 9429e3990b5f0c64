"""What other apps' events start in surveys: a survey after a complaint is resolved, and the
short re-survey once a detractor's follow-up task is done (the closed loop)."""

from __future__ import annotations

from customers.models import Customer

from .models import Response, Survey, Trigger
from .sending import invite_one

FOLLOWUP_KEY_PREFIX = "survey-response:"


def complaint_resolved_invite(*, interaction_id: int, customer_id: int) -> int:
    customer = Customer.objects.filter(pk=customer_id, archived_at__isnull=True).first()
    if customer is None:
        return 0
    created = 0
    for survey in Survey.objects.filter(status=Survey.Status.ACTIVE, trigger=Trigger.COMPLAINT_RESOLVED):
        created += invite_one(survey=survey, customer=customer, wave=f"complaint-{interaction_id}")
    return created


def resurvey_after_followup(*, followup_id: int) -> int:
    """The detractor's follow-up is done: a short re-survey, the survey's first question (the same
    scale) and an optional comment (once; the gap does not apply: the customer was just called about
    it). Not after a short re-survey's own follow-up: the loop asks once."""
    response = Response.objects.select_related("survey", "customer").filter(followup_id=followup_id).first()
    if response is None or response.customer is None or response.short:
        return 0
    survey = response.survey
    if not survey.resurvey_after_followup or survey.status != Survey.Status.ACTIVE:
        return 0
    return invite_one(
        survey=survey, customer=response.customer, wave=f"resurvey-{response.pk}", ignore_gap=True, short=True
    )
