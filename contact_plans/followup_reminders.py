"""The daily email to each account manager about their overdue tasks: the open follow-ups assigned
to them (contact plans' tasks and those planned by hand: one model) whose due day has passed.

One digest per account manager and run, listing every task that became overdue since the last one
with a link to its customer and to the follow-ups page (docs/contact-plans.md, "For account
managers"). It goes through the outbox as work mail to the employee linked to the login
(``team.Employee.user``: the address and the language live there, as for the one-to-one reminder,
staff_reminders.py); a login with no active employee gets no email, and their tasks stay unreminded
until they have one.

Once per task and due time: claiming a task writes a ``FollowUpReminder`` (unique per follow-up
and due time) in the transaction that queues the digest, so a run repeated, or overlapping with
another, reminds nobody of a task twice; a task moved to a new day and missed again is reminded
again. The digest's source key names its first task and due time, which no other claim can hold.
"""

from __future__ import annotations

import logging
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from customers.selectors import customer_visible_to
from retention_crm.formats import format_date
from team import selectors as team_selectors

from .messaging.outbox import message_enqueue
from .models import Channel, FollowUp, FollowUpReminder, Purpose
from .selectors import day_start

logger = logging.getLogger(__name__)

# Tasks an email lists one by one; the rest are counted, and the follow-ups page lists them all.
# A manager back from holiday may have hundreds: the email stays readable and its size bounded.
LISTED = 30
# Reminder rows written per INSERT (ids and due times only: a few kB per batch).
BATCH = 1000


def followups_overdue_unreminded(*, today: date) -> QuerySet[FollowUp]:
    """Open follow-ups due before ``today`` (local) whose assignee, an active login, was not yet
    reminded of them at their current due time."""
    reminded = FollowUpReminder.objects.filter(followup=OuterRef("pk"), due_at=OuterRef("due_at"))
    return FollowUp.objects.filter(
        state=FollowUp.State.OPEN, due_at__lt=day_start(today), assigned_to__is_active=True
    ).exclude(Exists(reminded))


def followup_reminder_email(*, employee, followups: list[FollowUp], total: int) -> tuple[str, str, str]:
    """(subject, html, text) of the digest in the employee's language: ``followups`` listed (oldest
    first), ``total`` the number of tasks it reminds of."""
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    with translation.override(employee.language or settings.LANGUAGE_CODE):
        rows = [
            {
                "kind": followup.get_kind_display(),
                "customer": followup.customer.name,
                "due": format_date(timezone.localdate(followup.due_at)),
                "plan": followup.plan.display_name if followup.plan_id else "",
                "note": followup.display_note,
                "url": base + followup.customer.get_absolute_url(),
            }
            for followup in followups
        ]
        context = {
            "first_name": employee.first_name,
            "rows": rows,
            "total": total,
            "more": total - len(rows),
            "url": base + reverse("worklist:followups_due"),
            "language": employee.language,
        }
        subject = ngettext("You have %(count)d overdue task", "You have %(count)d overdue tasks", total) % {
            "count": total
        }
        html = render_to_string("contact_plans/email/followups_overdue.html", context)
        text = render_to_string("contact_plans/email/followups_overdue.txt", context)
    return subject, html, text


@transaction.atomic
def followup_reminder_send(*, user, employee, today: date) -> int:
    """Claim ``user``'s overdue tasks not yet reminded, of the customers they may see, and queue one
    digest of them to ``employee``; returns how many tasks it reminds of (0: nothing to send)."""
    claimable = followups_overdue_unreminded(today=today).filter(
        assigned_to=user, customer__in=customer_visible_to(user).order_by().values("pk")
    )
    # Rows a concurrent run is claiming are skipped; one it claimed and committed since this
    # statement's snapshot makes the reminders' INSERT fail on the unique constraint, which undoes
    # this digest, and the caller moves on (that run reminded of them).
    claimed = list(
        claimable.select_for_update(skip_locked=True, of=("self",)).order_by("due_at", "pk").values_list("pk", "due_at")
    )
    if not claimed:
        return 0
    listed = list(
        FollowUp.objects.filter(pk__in=[pk for pk, _due in claimed[:LISTED]])
        .select_related("customer", "plan")
        .order_by("due_at", "pk")
    )
    subject, html, text = followup_reminder_email(employee=employee, followups=listed, total=len(claimed))
    # The first task at its due time is this claim's alone (FollowUpReminder is unique on both).
    first_pk, first_due = claimed[0]
    message = message_enqueue(
        employee=employee,
        channel=Channel.EMAIL,
        purpose=Purpose.TRANSACTIONAL,
        source_key=f"followups-overdue:{user.pk}:{first_pk}:{int(first_due.timestamp())}",
        subject=subject,
        html=html,
        text=text,
        language=employee.language,
        track_links=False,
    )
    # Written last, in the digest's transaction: a conflict here undoes the digest too.
    now = timezone.now()
    FollowUpReminder.objects.bulk_create(
        [FollowUpReminder(followup_id=pk, due_at=due, message=message, created_at=now) for pk, due in claimed],
        batch_size=BATCH,
    )
    return len(claimed)


def followup_reminders_send(*, today: date | None = None) -> int:
    """Queue the digest of every account manager with overdue tasks not yet reminded; returns how
    many digests were queued. One transaction per manager: one failing leaves the others sent."""
    today = today or timezone.localdate()
    overdue = followups_overdue_unreminded(today=today).order_by().values("assigned_to_id")
    users = get_user_model().objects.filter(pk__in=overdue, is_active=True).order_by("pk")
    queued = tasks = without_employee = 0
    for user in users:
        employee = team_selectors.employee_of(user)
        if employee is None:
            without_employee += 1
            continue
        try:
            reminded = followup_reminder_send(user=user, employee=employee, today=today)
        except IntegrityError:
            logger.info("contact_plans.followup_reminders.claimed_elsewhere user_id=%s", user.pk)
            continue
        if reminded:
            queued += 1
            tasks += reminded
    logger.info(
        "contact_plans.followup_reminders queued=%s tasks=%s without_employee=%s", queued, tasks, without_employee
    )
    return queued
