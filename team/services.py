"""Every write of the team app: employees, teams, one-to-ones and their meetings."""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import ActionItem, AgendaItem, Employee, Meeting, OneToOne, PrivateNote, Team

EMPLOYEE_FIELDS = ("name", "email", "language", "team", "user", "joined_at", "left_at")


def employee_save(*, employee: Employee | None = None, **data) -> Employee:
    """Create (employee None) or change an employee; the email is kept lower-case."""
    employee = employee or Employee()
    for field in EMPLOYEE_FIELDS:
        if field in data:
            setattr(employee, field, data[field])
    employee.email = (employee.email or "").strip().lower()
    employee.full_clean()
    employee.save()
    return employee


def team_save(*, team: Team | None = None, name: str, lead: Employee | None) -> Team:
    team = team or Team()
    team.name = name.strip()
    team.lead = lead
    team.full_clean()
    team.save()
    return team


# --- One-to-ones ----------------------------------------------------------------------------------


def _check_participant(meeting_or_series, employee: Employee) -> OneToOne:
    series = meeting_or_series if isinstance(meeting_or_series, OneToOne) else meeting_or_series.one_to_one
    if employee.pk not in (series.lead_id, series.person_id):
        raise ValidationError(_("Only the two people of a one-to-one change it."))
    return series


@transaction.atomic
def one_to_one_start(*, lead: Employee, person: Employee, every_weeks: int, first_at: datetime) -> OneToOne:
    """A lead's one-to-one with a person of a team they lead, its first meeting at ``first_at``."""
    if person.team_id is None or person.team.lead_id != lead.pk:
        raise ValidationError({"person": _("Choose a person of a team you lead.")})
    if person.left_at is not None:
        raise ValidationError({"person": _("This person has left.")})
    if OneToOne.objects.active().filter(lead=lead, person=person).exists():
        raise ValidationError({"person": _("You already have a one-to-one with this person.")})
    if every_weeks not in OneToOne.Every.values:
        raise ValidationError({"every_weeks": _("Choose every 1, 2 or 4 weeks.")})
    series = OneToOne.objects.create(lead=lead, person=person, every_weeks=every_weeks)
    Meeting.objects.create(one_to_one=series, scheduled_at=first_at)
    return series


def one_to_one_end(*, one_to_one: OneToOne, by: Employee) -> OneToOne:
    if by.pk != one_to_one.lead_id:
        raise ValidationError(_("Only the lead ends a one-to-one."))
    if one_to_one.ended_at is None:
        one_to_one.ended_at = timezone.now()
        one_to_one.save(update_fields=["ended_at"])
        one_to_one.meetings.filter(held_at__isnull=True).delete()
    return one_to_one


def next_meeting_time(*, scheduled_at: datetime, every_weeks: int, now: datetime | None = None) -> datetime:
    """The next meeting on the schedule after ``scheduled_at``: its cadence kept (same weekday and
    time), and never in the past (a meeting held late does not leave the next one overdue already)."""
    now = now or timezone.now()
    step = timedelta(weeks=every_weeks)
    upcoming = scheduled_at + step
    while upcoming < now:
        upcoming += step
    return upcoming


@transaction.atomic
def meeting_hold(*, meeting: Meeting, by: Employee, at: datetime | None = None) -> Meeting:
    """Mark a meeting held and plan the next from the schedule; returns the next meeting.
    Open action items stay on the series, so the next meeting shows them."""
    series = _check_participant(meeting, by)
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.held_at is not None:
        raise ValidationError(_("This meeting is already marked as held."))
    if series.ended_at is not None:
        raise ValidationError(_("This one-to-one has ended."))
    meeting.held_at = at or timezone.now()
    meeting.save(update_fields=["held_at"])
    return Meeting.objects.create(
        one_to_one=series,
        scheduled_at=next_meeting_time(scheduled_at=meeting.scheduled_at, every_weeks=series.every_weeks),
    )


def meeting_reschedule(*, meeting: Meeting, by: Employee, scheduled_at: datetime) -> Meeting:
    _check_participant(meeting, by)
    if meeting.held_at is not None:
        raise ValidationError(_("A meeting that was held keeps its date."))
    meeting.scheduled_at = scheduled_at
    meeting.save(update_fields=["scheduled_at"])
    return meeting


def agenda_add(*, meeting: Meeting, author: Employee, text: str) -> AgendaItem:
    _check_participant(meeting, author)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the topic.")})
    return AgendaItem.objects.create(meeting=meeting, author=author, text=text[:500])


def agenda_remove(*, item: AgendaItem, by: Employee) -> None:
    if item.author_id != by.pk:
        raise ValidationError(_("Only who added a topic removes it."))
    item.delete()


def shared_notes_save(*, meeting: Meeting, by: Employee, text: str) -> Meeting:
    _check_participant(meeting, by)
    meeting.shared_notes = text or ""
    meeting.save(update_fields=["shared_notes"])
    return meeting


def private_note_save(*, meeting: Meeting, author: Employee, text: str) -> PrivateNote:
    """``author``'s own note of the meeting (one per author and meeting), replaced."""
    _check_participant(meeting, author)
    note, _created = PrivateNote.objects.update_or_create(meeting=meeting, author=author, defaults={"text": text or ""})
    return note


def action_add(*, meeting: Meeting, by: Employee, owner: Employee, text: str) -> ActionItem:
    series = _check_participant(meeting, by)
    if owner.pk not in (series.lead_id, series.person_id):
        raise ValidationError({"owner": _("An action is for one of the two people of the one-to-one.")})
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the action.")})
    return ActionItem.objects.create(one_to_one=series, raised_in=meeting, owner=owner, text=text[:500])


def action_set_done(*, action: ActionItem, by: Employee, done: bool = True) -> ActionItem:
    _check_participant(action.one_to_one, by)
    action.done_at = timezone.now() if done else None
    action.save(update_fields=["done_at"])
    return action
