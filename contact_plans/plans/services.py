"""Every write of contact plans: a plan and its steps, enrolments by hand (one customer or a whole
segment), ending them, and what a plan's task and an unsubscribe do to them.

Errors are ``ValidationError``s with a message naming what is wrong (the builder shows them next to
the field, the API under the field's name): never a 500, and nothing half-written (each service is
one transaction).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, Interaction
from customers.services import interaction_log
from segmentation.models import Segment, SegmentMembership

from ..models import ContactPlan, Enrolment, EnrolmentStep, FollowUp, PlanStep
from . import triggers
from .runner import enrolment_after_task
from .validation import StepData, plan_clean, plan_problems

logger = logging.getLogger(__name__)

PLAN_FIELDS = (
    "name",
    "description",
    "purpose",
    "trigger",
    "trigger_days",
    "trigger_segment",
    "goal",
    "reenrol",
    "reenrol_days",
    "control_percent",
    "is_active",
)


# --- Plans ----------------------------------------------------------------------------------------


def _name_taken(name: str, exclude_id: int | None) -> bool:
    plans = ContactPlan.objects.filter(name__iexact=name)
    if exclude_id:
        plans = plans.exclude(pk=exclude_id)
    return plans.exists()


@transaction.atomic
def plan_save(*, data: dict, steps: list[StepData], plan: ContactPlan | None = None, user=None) -> ContactPlan:
    """Create a plan (``plan`` None) or change one, with its steps, checked as a whole.

    Steps are matched by position: a step keeps its id (and its results) while it stays; a step
    that has already run for someone cannot be removed (end the plan and build a new one instead),
    so that no history disappears."""
    fields, cleaned_steps = plan_clean(data, steps)
    if _name_taken(fields["name"], getattr(plan, "pk", None)):
        raise ValidationError({"name": [_("Another plan is called “%(name)s”.") % {"name": fields["name"]}]})
    creating = plan is None
    if creating:
        plan = ContactPlan(created_by=user, triggers_checked_at=timezone.now(), key=data.get("key", ""))
    elif (plan.trigger, plan.trigger_days, plan.trigger_segment_id) != (
        fields["trigger"],
        fields["trigger_days"],
        getattr(fields["trigger_segment"], "pk", None),
    ):
        # A changed trigger looks from now on: what happened before the change enrols no one.
        plan.triggers_checked_at = timezone.now()
    for name in PLAN_FIELDS:
        if name in fields:
            setattr(plan, name, fields[name])
    plan.description = (data.get("description") or "").strip()
    plan.is_active = bool(data.get("is_active", True))
    plan.save()
    existing = {step.position: step for step in plan.steps.all()}
    removed = [position for position in existing if position > len(cleaned_steps)]
    if removed and EnrolmentStep.objects.filter(step__plan=plan, step__position__in=removed).exists():
        raise ValidationError(
            {"steps": [_("A step that has already run cannot be removed; end the plan and build a new one.")]}
        )
    PlanStep.objects.filter(plan=plan, position__in=removed).delete()
    for values in cleaned_steps:
        step = existing.get(values["position"]) or PlanStep(plan=plan, position=values["position"])
        for name, value in values.items():
            setattr(step, name, value)
        step.save()
    logger.info("plans.saved plan=%s created=%s", plan.pk, creating)
    return plan


def plan_set_active(*, plan: ContactPlan, is_active: bool) -> ContactPlan:
    """Pause or resume a plan. A resumed plan's triggers look from now on: what happened while it was
    paused enrols nobody."""
    if is_active and plan_problems(plan):
        raise ValidationError(plan_problems(plan))
    updates = {"is_active": is_active}
    if is_active and not plan.is_active:
        updates["triggers_checked_at"] = timezone.now()
    ContactPlan.objects.filter(pk=plan.pk).update(**updates)
    plan.refresh_from_db()
    return plan


# --- Enrolment by hand ----------------------------------------------------------------------------


def _usable(plan: ContactPlan) -> None:
    if not plan.is_active:
        raise ValidationError(_("The plan “%(name)s” is paused; resume it first.") % {"name": plan.name})
    problems = plan_problems(plan)
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def enrolment_create(*, plan: ContactPlan, customer: Customer, user=None, now: datetime | None = None) -> Enrolment:
    """Enrol one customer by hand (never held out as control: someone chose them). Refused, saying
    why, when the customer is already in the plan, has no marketing consent for a promotional plan,
    is archived, or the re-enrolment rule keeps them out."""
    now = now or timezone.now()
    _usable(plan)
    current = Enrolment.objects.filter(plan=plan, customer=customer).exclude(state=Enrolment.State.ENDED).first()
    if current is not None:
        raise ValidationError({"customer_id": [_("%(name)s is already in this plan.") % {"name": customer.name}]})
    if customer.archived_at is not None:
        raise ValidationError({"customer_id": [_("%(name)s is archived.") % {"name": customer.name}]})
    if plan.is_promotional and not customer.marketing_consent:
        raise ValidationError(
            {
                "customer_id": [
                    _("%(name)s has not given marketing consent, and this plan is promotional.")
                    % {"name": customer.name}
                ]
            }
        )
    enrolled, _control = triggers.enrol_insert(
        plan,
        Customer.objects.filter(pk=customer.pk),
        source=Enrolment.Source.BY_HAND,
        now=now,
        user=user,
        with_control=False,
    )
    if not enrolled:
        if plan.reenrol == ContactPlan.Reenrol.NEVER:
            message = _("%(name)s was in this plan before, and it enrols nobody twice.") % {"name": customer.name}
        else:
            message = _("%(name)s was in this plan less than %(days)d days ago.") % {
                "name": customer.name,
                "days": plan.reenrol_days,
            }
        raise ValidationError({"customer_id": [message]})
    return Enrolment.objects.get(plan=plan, customer=customer, state=Enrolment.State.ACTIVE)


@transaction.atomic
def segment_enrol(*, plan: ContactPlan, segment: Segment, user=None, now: datetime | None = None) -> dict[str, int]:
    """Enrol a whole segment's current members, in one statement; the control group is drawn as for a
    trigger. Returns the counts: enrolled, control, and members left out (no consent for a
    promotional plan, already in the plan, the re-enrolment rule)."""
    now = now or timezone.now()
    _usable(plan)
    members = Customer.objects.filter(
        pk__in=SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True).values("customer_id")
    )
    total = members.count()
    if not total:
        raise ValidationError(
            {"segment_id": [_("The segment “%(name)s” has no members.") % {"name": segment.display_name}]}
        )
    enrolled, control = triggers.enrol_insert(plan, members, source=Enrolment.Source.SEGMENT, now=now, user=user)
    return {"members": total, "enrolled": enrolled, "control": control, "left_out": total - enrolled}


def enrolment_end(
    *, enrolment: Enrolment, reason: str = Enrolment.EndReason.BY_HAND, now: datetime | None = None
) -> bool:
    """End an open enrolment (by hand: its open task, if any, is cancelled too). Ending an ended one
    changes nothing and returns False."""
    from ..services import followup_cancel

    now = now or timezone.now()
    with transaction.atomic():
        changed = (
            Enrolment.objects.filter(pk=enrolment.pk)
            .exclude(state=Enrolment.State.ENDED)
            .update(state=Enrolment.State.ENDED, end_reason=reason, ended_at=now, next_position=None, next_due_at=None)
        )
        enrolment.refresh_from_db()
        if changed and reason == Enrolment.EndReason.BY_HAND:
            for task in FollowUp.objects.filter(enrolment=enrolment, state=FollowUp.State.OPEN):
                followup_cancel(followup=task, at=now)
    return bool(changed)


def enrolments_end_on_unsubscribe(*, customer_id: int, now: datetime | None = None) -> int:
    """A customer declined a channel: their promotional plans end (service plans go on)."""
    now = now or timezone.now()
    return (
        Enrolment.objects.filter(customer_id=customer_id, plan__purpose=ContactPlan.Purpose.PROMOTIONAL)
        .exclude(state=Enrolment.State.ENDED)
        .update(
            state=Enrolment.State.ENDED,
            end_reason=Enrolment.EndReason.UNSUBSCRIBED,
            ended_at=now,
            next_position=None,
            next_due_at=None,
        )
    )


# --- A plan's task is done ------------------------------------------------------------------------

# FollowUp kinds as the timeline's interactions, and outcomes as the interaction's (an order won is
# a conversation that reached the customer).
_INTERACTION_KIND = {
    FollowUp.Kind.CALL: (Interaction.Kind.CALL, Interaction.Channel.PHONE),
    FollowUp.Kind.MEETING: (Interaction.Kind.MEETING, Interaction.Channel.OTHER),
    FollowUp.Kind.VISIT: (Interaction.Kind.MEETING, Interaction.Channel.IN_PERSON),
    FollowUp.Kind.GIFT: (Interaction.Kind.NOTE, Interaction.Channel.OTHER),
}
_INTERACTION_OUTCOME = {
    FollowUp.Outcome.REACHED: Interaction.Outcome.REACHED,
    FollowUp.Outcome.NO_ANSWER: Interaction.Outcome.NO_ANSWER,
    FollowUp.Outcome.MEETING_BOOKED: Interaction.Outcome.MEETING_BOOKED,
    FollowUp.Outcome.ORDER_WON: Interaction.Outcome.REACHED,
    FollowUp.Outcome.NOT_INTERESTED: Interaction.Outcome.NOT_INTERESTED,
}


def plan_task_closed(*, followup_id: int) -> None:
    """After a plan's task is done (or cancelled): write a done one to the customer's timeline, with
    its outcome, and move the enrolment on (runner.enrolment_after_task). Called on
    ``followup.completed`` / ``followup.cancelled`` (reactions), once per change."""
    followup = (
        FollowUp.objects.filter(pk=followup_id, plan__isnull=False)
        .select_related("customer", "plan", "assigned_to")
        .first()
    )
    if followup is None:
        return
    if followup.state == FollowUp.State.DONE:
        kind, channel = _INTERACTION_KIND[followup.kind]
        subject = _("%(task)s (plan “%(plan)s”)") % {
            "task": FollowUp.Kind(followup.kind).label,
            "plan": followup.plan.display_name,
        }
        if followup.outcome:
            subject = f"{subject}: {FollowUp.Outcome(followup.outcome).label}"
        interaction_log(
            customer=followup.customer,
            kind=kind,
            channel=channel,
            subject=subject[:200],
            body=followup.note,
            author=followup.assigned_to,
            occurred_at=followup.done_at,
            outcome=_INTERACTION_OUTCOME.get(followup.outcome, "") if kind != Interaction.Kind.NOTE else "",
        )
    enrolment_after_task(followup_id=followup.pk)


def plan_delete(*, plan: ContactPlan) -> None:
    """Delete a plan that never enrolled anyone (a draft); one with history is paused instead, so that
    its results and the customers' timelines keep it."""
    if plan.enrolments.exists():
        raise ValidationError(
            {"plan": [_("This plan has enrolled customers; pause it instead, so that its results stay.")]}
        )
    plan.delete()
