"""Every write to follow-ups and worklist snoozes, and the moves of customers between books.

Events published (see retention_crm.events): ``followup.scheduled``, ``followup.completed``,
``followup.cancelled`` with ``followup_id`` and ``customer_id``. Each service called twice with the
same input has the effect of one call: completing a done follow-up or cancelling a cancelled one
changes nothing, a keyed follow-up is scheduled once, and re-snoozing with the same date and reason
keeps the open snooze.
"""

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.services import customer_reassign
from retention_crm import dates, events

from .models import FollowUp, WorklistSnooze


def followup_schedule(
    *,
    customer: Customer,
    assigned_to,
    due_at: datetime,
    note: str = "",
    created_by=None,
    key: str = "",
    kind: str = FollowUp.Kind.CALL,
    plan=None,
    plan_step=None,
    enrolment=None,
) -> FollowUp:
    """Plan a contact with ``customer`` by ``due_at``. With a ``key``, the second call returns the first
    follow-up (a redelivered event schedules nothing twice). ``plan``, ``plan_step`` and
    ``enrolment``: the contact plan step that asks for it (contact_plans.plans.runner)."""
    if key:
        existing = FollowUp.objects.filter(key=key).first()
        if existing is not None:
            return existing
    followup = FollowUp(
        customer=customer,
        assigned_to=assigned_to,
        due_at=due_at,
        note=note.strip(),
        created_by=created_by,
        key=key,
        kind=kind,
        plan=plan,
        plan_step=plan_step,
        enrolment=enrolment,
    )
    # The key's uniqueness is the database's to check (below), race included.
    followup.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            followup.save()
    except IntegrityError:
        # A concurrent call with the same key won the race.
        if key:
            return FollowUp.objects.get(key=key)
        raise
    events.publish(events.FOLLOWUP_SCHEDULED, followup_id=followup.pk, customer_id=customer.pk)
    return followup


def _close(followup: FollowUp, *, state: str, stamp_field: str, at: datetime | None, outcome: str = "") -> FollowUp:
    # Conditional update: of two concurrent clicks, one updates the row and the other finds it closed.
    at = at or timezone.now()
    extra = {"outcome": outcome} if outcome else {}
    changed = FollowUp.objects.filter(pk=followup.pk, state=FollowUp.State.OPEN).update(
        state=state, **{stamp_field: at}, **extra
    )
    followup.refresh_from_db()
    if changed:
        event = events.FOLLOWUP_COMPLETED if state == FollowUp.State.DONE else events.FOLLOWUP_CANCELLED
        events.publish(event, followup_id=followup.pk, customer_id=followup.customer_id)
        return followup
    if followup.state != state:
        if followup.state == FollowUp.State.DONE:
            raise ValidationError(_("This follow-up is already done; it cannot be cancelled."))
        raise ValidationError(_("This follow-up was cancelled; it cannot be completed."))
    return followup


def followup_complete(*, followup: FollowUp, at: datetime | None = None, outcome: str = "") -> FollowUp:
    """Mark an open follow-up done, with how it went (``outcome``, FollowUp.Outcome: a contact plan
    may end or branch on it); a done one is left as it is. A cancelled one cannot be completed."""
    if outcome and outcome not in FollowUp.Outcome.values:
        raise ValidationError({"outcome": _("Choose how it went from the list.")})
    return _close(followup, state=FollowUp.State.DONE, stamp_field="done_at", at=at, outcome=outcome)


def followup_cancel(*, followup: FollowUp, at: datetime | None = None) -> FollowUp:
    """Cancel an open follow-up; a cancelled one is left as it is. A done one cannot be cancelled."""
    return _close(followup, state=FollowUp.State.CANCELLED, stamp_field="cancelled_at", at=at)


def followup_reschedule(*, followup: FollowUp, due_at: datetime) -> FollowUp:
    """Move an open follow-up to ``due_at``; moving it to the day it already has changes nothing. A
    done or cancelled follow-up cannot be moved (it is history)."""
    if timezone.localtime(due_at).date() < timezone.localdate():
        raise ValidationError({"due_on": _("Choose today or a later day.")})
    # The model field's window (retention_crm.dates), which the conditional update below skips.
    dates.planned("due_on")(due_at)
    # Conditional update: a follow-up closed meanwhile (another tab, a colleague) is not reopened.
    changed = FollowUp.objects.filter(pk=followup.pk, state=FollowUp.State.OPEN).update(due_at=due_at)
    followup.refresh_from_db()
    if not changed:
        raise ValidationError(_("This follow-up is closed; it cannot be moved."))
    return followup


@transaction.atomic
def worklist_snooze(*, customer: Customer, user, until: date, reason: str, created_by=None) -> WorklistSnooze:
    """Hide ``customer`` from ``user``'s worklist until ``until`` (a day after today), replacing any
    open snooze; the same date and reason again keep the open one."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why, so that the list makes sense when the customer comes back.")})
    if until <= timezone.localdate():
        raise ValidationError({"until": _("Choose a day after today.")})
    WorklistSnooze(until=until).clean_fields(exclude=["customer", "user", "reason", "created_by", "ended_at"])
    open_snoozes = WorklistSnooze.objects.select_for_update().filter(
        customer=customer, user=user, ended_at__isnull=True
    )
    current = open_snoozes.first()
    if current is not None and current.until == until and current.reason == reason:
        return current
    open_snoozes.update(ended_at=timezone.now())
    return WorklistSnooze.objects.create(
        customer=customer, user=user, until=until, reason=reason[:200], created_by=created_by
    )


def worklist_unsnooze(*, customer: Customer, user) -> int:
    """Put ``customer`` back on ``user``'s worklist now; returns how many snoozes were ended (0 or 1)."""
    return WorklistSnooze.objects.filter(customer=customer, user=user, ended_at__isnull=True).update(
        ended_at=timezone.now()
    )


# Customers moved by one reassignment: a whole book of 5,000 is about 15,000 small writes (a few
# seconds) in one transaction; more than that is a migration, not a form.
REASSIGN_LIMIT = 5_000


@transaction.atomic
def book_reassign(*, customer_ids: list[int], from_manager, to_manager, at: datetime | None = None) -> int:
    """Move the customers (still in ``from_manager``'s book) to ``to_manager`` through
    customers.services.customer_reassign, which closes each assignment and opens the next, so
    history is kept. Rows are locked in primary-key order, as every bulk writer does, to avoid
    deadlocks. Returns how many moved; customers that left the book meanwhile are skipped."""
    if len(customer_ids) > REASSIGN_LIMIT:
        raise ValueError(f"at most {REASSIGN_LIMIT} customers per reassignment")
    at = at or timezone.now()
    customers = (
        Customer.objects.select_for_update().filter(pk__in=customer_ids, account_manager=from_manager).order_by("pk")
    )
    moved = 0
    for customer in customers:
        customer_reassign(customer=customer, manager=to_manager, at=at)
        moved += 1
    return moved
