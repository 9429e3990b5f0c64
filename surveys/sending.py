"""Who is asked, and the emails (docs/surveys.md, "Audiences and sending").

1. ``invitations_create``: one statement, ``INSERT … SELECT``, makes the invitations of a send for
   the whole audience (a segment's members, every active employee or a team's, the customers who
   bought N days ago), leaving out whoever was asked any survey within the survey's minimum gap and
   whoever already has an invitation of this wave (so a second call adds nothing).
2. ``invitations_send``: the invitations not yet sent, in chunks, each rendered in the person's
   language with the first question's scale as links and handed to the outbox
   (``message_enqueue``, source key ``survey-invitation:<id>``: a retried task sends nothing twice).
   Customers' invitations are promotional, topic "surveys" (consent, the preference centre, the
   frequency cap and quiet hours apply); employees' are transactional work mail.
3. ``reminders_send``: one reminder to those who have not answered after the survey's N days.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from contact_plans.messaging.outbox import message_enqueue
from contact_plans.messaging.unsubscribe import preferences_url, unsubscribe_url
from contact_plans.models import Channel, Message, Purpose
from customers.models import Customer

from .models import RECURRENCE_DAYS, Audience, Invitation, Survey, Trigger
from .tokens import answer_path

logger = logging.getLogger(__name__)

TOPIC = "surveys"
# Invitations rendered and enqueued per task: a message is a few KB of HTML and bytes, so 500 is
# a couple of MB in the worker, and a chunk commits every few seconds.
CHUNK = 500


def _audience_sql(survey: Survey, *, customer_ids: list[int] | None, purchase_day: date | None) -> tuple[str, list]:
    """SELECT person_id, language of the survey's audience (before the gap and wave exclusions)."""
    if survey.audience == Audience.EMPLOYEES:
        sql = "SELECT e.id AS id, e.language AS language FROM team_employee e WHERE e.left_at IS NULL"
        params: list = []
        if survey.team_id:
            sql += " AND e.team_id = %s"
            params.append(survey.team_id)
        return sql, params
    base = "SELECT c.id AS id, c.language AS language FROM customers_customer c WHERE c.archived_at IS NULL"
    if customer_ids is not None:
        ids = [int(i) for i in customer_ids] or [0]
        return base + " AND c.id IN (" + ", ".join(["%s"] * len(ids)) + ")", ids
    if purchase_day is not None:
        start = timezone.make_aware(datetime.combine(purchase_day, time.min))
        return (
            base + " AND EXISTS (SELECT 1 FROM customers_order o WHERE o.customer_id = c.id AND o.kind = 'purchase'"  # noqa: S608
            " AND o.ordered_at >= %s AND o.ordered_at < %s)",
            [start, start + timedelta(days=1)],
        )
    if survey.segment_id is not None:
        return (
            base + " AND EXISTS (SELECT 1 FROM segmentation_segmentmembership m WHERE m.customer_id = c.id"  # noqa: S608
            " AND m.segment_id = %s AND m.exited_at IS NULL)",
            [survey.segment_id],
        )
    return base + " AND FALSE", []


def invitations_create(
    *,
    survey: Survey,
    wave: str,
    customer_ids: list[int] | None = None,
    purchase_day: date | None = None,
    ignore_gap: bool = False,
    short: bool = False,
    now=None,
) -> int:
    """Create this wave's invitations in one statement; returns how many were created. ``short``:
    the short re-survey (the first question and a comment)."""
    now = now or timezone.now()
    column = "employee_id" if survey.audience == Audience.EMPLOYEES else "customer_id"
    audience, params = _audience_sql(survey, customer_ids=customer_ids, purchase_day=purchase_day)
    languages = [code for code, _name in settings.LANGUAGES]
    # Nobody asked twice within the survey's minimum gap, whatever the survey (the outbox's cap
    # counts every promotional message on top of this).
    gap = (
        ""
        if ignore_gap
        else f" AND NOT EXISTS (SELECT 1 FROM surveys_invitation g WHERE g.{column} = a.id AND g.created_at >= %s)"  # noqa: S608
    )
    marks = ", ".join(["%s"] * len(languages))
    sql = f"""
        INSERT INTO surveys_invitation (survey_id, {column}, wave, language, created_at, answered, delivered, short)
        SELECT %s, a.id, %s, CASE WHEN a.language IN ({marks}) THEN a.language ELSE %s END, %s, FALSE, FALSE, %s
        FROM ({audience}) AS a
        WHERE NOT EXISTS (SELECT 1 FROM surveys_invitation w WHERE w.survey_id = %s AND w.{column} = a.id AND w.wave = %s)
        {gap}
        ON CONFLICT DO NOTHING
    """  # noqa: S608 - the interpolated names are the two column names above, never input
    args = [survey.pk, wave, *languages, survey.fallback_language, now, short, *params, survey.pk, wave]
    if not ignore_gap:
        args.append(now - timedelta(days=survey.min_gap_days))
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        created = cursor.rowcount
    logger.info("surveys.invitations_created survey=%s wave=%s count=%s", survey.pk, wave, created)
    return created


def survey_send(*, survey: Survey, customer_ids: list[int] | None = None, now=None) -> int:
    """A send of ``survey`` now: its invitations, then their emails (a task per chunk)."""
    from .tasks import invitations_send_task

    if survey.status != Survey.Status.ACTIVE:
        raise ValueError("only an active survey is sent")
    now = now or timezone.now()
    wave = (
        timezone.localdate(now).isoformat() if customer_ids is None else f"hand-{timezone.localdate(now).isoformat()}"
    )
    with transaction.atomic():
        created = invitations_create(survey=survey, wave=wave, customer_ids=customer_ids, now=now)
        Survey.objects.filter(pk=survey.pk).update(last_sent_at=now)
        transaction.on_commit(lambda: invitations_send_task.delay(survey.pk))
    return created


def invitations_send(*, survey_id: int, limit: int = CHUNK) -> int:
    """Enqueue the emails of up to ``limit`` unsent invitations; returns how many were handled."""
    with transaction.atomic():
        batch = list(
            Invitation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(survey_id=survey_id, sent_at__isnull=True)
            .select_related("survey", "customer", "employee")
            .order_by("id")[:limit]
        )
        for invitation in batch:
            message = _enqueue(invitation, reminder=False)
            invitation.sent_at = timezone.now()
            invitation.delivered = message.state in (Message.State.QUEUED, Message.State.SENDING, Message.State.SENT)
        Invitation.objects.bulk_update(batch, ["sent_at", "delivered"])
    return len(batch)


def reminders_send(*, now=None) -> int:
    """One reminder to each invitation not answered after its survey's ``reminder_after_days``."""
    now = now or timezone.now()
    count = 0
    surveys = Survey.objects.filter(status=Survey.Status.ACTIVE, reminder_after_days__isnull=False)
    for survey in surveys:
        due = now - timedelta(days=survey.reminder_after_days)
        expires = now - timedelta(days=survey.link_days)
        while True:
            with transaction.atomic():
                batch = list(
                    Invitation.objects.select_for_update(skip_locked=True, of=("self",))
                    .filter(survey=survey, sent_at__lte=due, sent_at__gt=expires, delivered=True)
                    .filter(reminded_at__isnull=True, answered=False)
                    .select_related("survey", "customer", "employee")
                    .order_by("id")[:CHUNK]
                )
                for invitation in batch:
                    _enqueue(invitation, reminder=True)
                    invitation.reminded_at = now
                Invitation.objects.bulk_update(batch, ["reminded_at"])
            count += len(batch)
            if len(batch) < CHUNK:
                break
    return count


def surveys_due(*, now=None) -> list[int]:
    """Active recurring surveys whose next send is due (segment and employee audiences)."""
    now = now or timezone.now()
    due = []
    recurring = Survey.objects.filter(status=Survey.Status.ACTIVE).exclude(recurrence="")
    recurring = recurring.filter(Q(audience=Audience.EMPLOYEES) | Q(trigger=Trigger.SEGMENT))
    for survey in recurring:
        every = timedelta(days=RECURRENCE_DAYS[survey.recurrence])
        if survey.last_sent_at is None or survey.last_sent_at + every <= now:
            due.append(survey.pk)
    return due


def after_purchase_send(*, now=None) -> int:
    """The surveys sent N days after a purchase: today's invitations to those who bought that day."""
    from .tasks import invitations_send_task

    now = now or timezone.now()
    total = 0
    for survey in Survey.objects.filter(status=Survey.Status.ACTIVE, trigger=Trigger.AFTER_PURCHASE):
        day = timezone.localdate(now) - timedelta(days=survey.trigger_days)
        with transaction.atomic():
            created = invitations_create(survey=survey, wave=f"purchase-{day.isoformat()}", purchase_day=day, now=now)
            if created:
                Survey.objects.filter(pk=survey.pk).update(last_sent_at=now)
                transaction.on_commit(lambda pk=survey.pk: invitations_send_task.delay(pk))
        total += created
    return total


def invite_one(*, survey: Survey, customer: Customer, wave: str, ignore_gap: bool = False, short: bool = False) -> int:
    """One customer asked (a complaint resolved, a short re-survey after a follow-up, by hand)."""
    from .tasks import invitations_send_task

    with transaction.atomic():
        created = invitations_create(
            survey=survey, wave=wave, customer_ids=[customer.pk], ignore_gap=ignore_gap, short=short
        )
        if created:
            transaction.on_commit(lambda: invitations_send_task.delay(survey.pk))
    return created


# --- The email ------------------------------------------------------------------------------------


def scale_links(invitation: Invitation) -> list[dict]:
    first = invitation.survey.questions.order_by("position").first()
    low, high = first.scale
    base = settings.PUBLIC_BASE_URL
    return [{"score": s, "url": base + answer_path(invitation.pk, s)} for s in range(low, high + 1)]


def scale_ends(kind: str) -> tuple[str, str]:
    """The words at the two ends of the first question's scale, in the active language."""
    if kind == "scale_0_10":
        return _("Not at all likely"), _("Extremely likely")
    if kind == "scale_1_7":
        return _("Strongly disagree"), _("Strongly agree")
    return _("Very dissatisfied"), _("Very satisfied")


def invitation_email(invitation: Invitation, *, reminder: bool) -> tuple[str, str, str]:
    """(subject, html, text) in the invitation's language."""
    survey = invitation.survey
    person = invitation.customer or invitation.employee
    first = survey.questions.order_by("position").first()
    with translation.override(invitation.language):
        low_label, high_label = scale_ends(first.kind)
        context = {
            "first_name": (person.name or "").split()[0] if (person.name or "").split() else "",
            "question": first.text_in(invitation.language, survey.fallback_language),
            "links": scale_links(invitation),
            "open_url": settings.PUBLIC_BASE_URL + answer_path(invitation.pk),
            "low_label": low_label,
            "high_label": high_label,
            "reminder": reminder,
            "anonymous": survey.anonymous,
            "link_days": survey.link_days,
            "language": invitation.language,
        }
        if invitation.customer_id:
            # A customer's invitation is promotional: the footer with the unsubscribe link and the
            # preference centre, as the templates side adds it (the outbox adds List-Unsubscribe).
            context["unsubscribe_url"] = unsubscribe_url(invitation.customer_id, channel=Channel.EMAIL)
            context["preferences_url"] = preferences_url(invitation.customer_id)
        subject = _("A reminder: one quick question") if reminder else _("One quick question")
        html = render_to_string("surveys/email/invitation.html", context)
        text = render_to_string("surveys/email/invitation.txt", context)
    return str(subject), html, text


def _enqueue(invitation: Invitation, *, reminder: bool) -> Message:
    subject, html, text = invitation_email(invitation, reminder=reminder)
    key = f"survey-{'reminder' if reminder else 'invitation'}:{invitation.pk}"
    common = {
        "channel": Channel.EMAIL,
        "source_key": key,
        "subject": subject,
        "html": html,
        "text": text,
        "language": invitation.language,
        # Never through the click-recording redirect: each answer link carries its score, so a
        # recorded click would tie an answer to a person (and an anonymous survey's to an employee).
        "track_links": False,
    }
    if invitation.employee_id:
        return message_enqueue(employee=invitation.employee, purpose=Purpose.TRANSACTIONAL, **common)
    return message_enqueue(customer=invitation.customer, purpose=Purpose.PROMOTIONAL, topic=TOPIC, **common)
