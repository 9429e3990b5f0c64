"""Emails to the team about their own work: the lead of a one-to-one is reminded once of each
overdue meeting (docs/team.md, "Overdue").

The team app keeps the one-to-ones and imports none of the customer-side apps, so it cannot reach
the outbox. contact_plans owns the outbox and may read the team's selectors (the arrow runs from
contact_plans to team, as surveys' does): a daily beat task (``one_to_one_reminders_task``) reads
``team.selectors.overdue_meetings_to_remind`` and hands one email per meeting to the outbox as
work mail (``message_enqueue(employee=…)``: transactional, so no consent, topic or cap; only a
bounced or complained address stops it), in the lead's language.

Once per meeting and planned day: the source key is ``one-to-one-overdue:<meeting>:<planned day>``,
so a task run twice (or every day while the meeting stays overdue) sends nothing more, and a
meeting moved to a new date and missed again is reminded again.

Account managers' overdue tasks (follow-ups) are emailed the same way, as one daily digest per
manager: followup_reminders.py.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from retention_crm.formats import format_datetime
from team import selectors as team_selectors

from .messaging.outbox import message_enqueue
from .models import Channel, Message, Purpose

logger = logging.getLogger(__name__)

# Meetings read and rendered per round: a round asks the outbox once which were already reminded.
CHUNK = 500


def one_to_one_reminder_key(meeting) -> str:
    planned = timezone.localdate(meeting.scheduled_at)
    return f"one-to-one-overdue:{meeting.pk}:{planned.isoformat()}"


def one_to_one_reminder_email(meeting) -> tuple[str, str, str]:
    """(subject, html, text) of the reminder, in the lead's language."""
    series = meeting.one_to_one
    lead, person = series.lead, series.person
    with translation.override(lead.language or settings.LANGUAGE_CODE):
        context = {
            "first_name": lead.first_name,
            "person_name": person.name,
            "planned": format_datetime(meeting.scheduled_at),
            "url": settings.PUBLIC_BASE_URL.rstrip("/") + reverse("team:one_to_one", args=[series.pk]),
            "language": lead.language,
        }
        subject = _("Overdue one-to-one with %(name)s") % {"name": person.name}
        html = render_to_string("contact_plans/email/one_to_one_overdue.html", context)
        text = render_to_string("contact_plans/email/one_to_one_overdue.txt", context)
    return subject, html, text


def one_to_one_reminders_send() -> int:
    """Queue the reminder of every overdue meeting not yet reminded; returns how many were queued."""
    queued = 0
    last_pk = 0
    meetings = team_selectors.overdue_meetings_to_remind()
    while True:
        chunk = list(meetings.filter(pk__gt=last_pk)[:CHUNK])
        if not chunk:
            break
        last_pk = chunk[-1].pk
        keys = {one_to_one_reminder_key(meeting): meeting for meeting in chunk}
        reminded = set(Message.objects.filter(source_key__in=list(keys)).values_list("source_key", flat=True))
        for key, meeting in keys.items():
            if key in reminded:
                continue
            subject, html, text = one_to_one_reminder_email(meeting)
            message_enqueue(
                employee=meeting.one_to_one.lead,
                channel=Channel.EMAIL,
                purpose=Purpose.TRANSACTIONAL,
                source_key=key,
                subject=subject,
                html=html,
                text=text,
                language=meeting.one_to_one.lead.language,
                track_links=False,
            )
            queued += 1
    logger.info("team.one_to_one_reminders queued=%s", queued)
    return queued
