"""Reads of the team app, scoped by who asks.

Who may do what (docs/team.md):

- Employees and teams are managed by those holding the ``team.change_employee`` permission:
  administrators (who hold every permission) and anyone an administrator gives it to in the Django
  admin. The team app imports none of the customer-side apps, so it asks Django's permissions, not
  the CRM's role groups.
- One-to-ones are for the two people in them: a user linked to an active employee (Employee.user)
  sees the one-to-ones where that employee is the lead or the person, and nothing else; nobody
  else sees them, administrators included. A private note is read by its author only.
"""

from datetime import datetime, time

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from .models import ActionItem, Employee, Meeting, OneToOne, PrivateNote, Team

MANAGE_PERMISSION = "team.change_employee"


def may_manage_team(user) -> bool:
    return user.is_authenticated and user.has_perm(MANAGE_PERMISSION)


def employee_of(user) -> Employee | None:
    """The active employee linked to this login, or None."""
    if not user.is_authenticated:
        return None
    cached = getattr(user, "_team_employee", False)
    if cached is False:
        cached = Employee.objects.active().filter(user=user).select_related("team").first()
        user._team_employee = cached
    return cached


def employee_list(*, search: str = "", team_id: int | None = None, include_left: bool = False) -> QuerySet[Employee]:
    employees = Employee.objects.select_related("team", "user")
    if not include_left:
        employees = employees.active()
    if search:
        employees = employees.filter(Q(name__icontains=search) | Q(email__icontains=search))
    if team_id:
        employees = employees.filter(team_id=team_id)
    return employees.order_by("name", "pk")


def team_list() -> QuerySet[Team]:
    return (
        Team.objects.select_related("lead")
        .annotate(size=Count("members", filter=Q(members__left_at__isnull=True)))
        .order_by("name")
    )


def team_members_led_by(employee: Employee) -> QuerySet[Employee]:
    """The active people of the teams ``employee`` leads (not themselves)."""
    return Employee.objects.active().filter(team__lead=employee).exclude(pk=employee.pk).order_by("name", "pk")


def one_to_ones_of(employee: Employee) -> QuerySet[OneToOne]:
    """The running one-to-ones ``employee`` takes part in, as lead or person."""
    return (
        OneToOne.objects.active()
        .filter(Q(lead=employee) | Q(person=employee))
        .select_related("lead", "person")
        .order_by("person__name", "pk")
    )


def one_to_one_get(*, employee: Employee | None, pk: int) -> OneToOne:
    """One of ``employee``'s one-to-ones (OneToOne.DoesNotExist otherwise: a 404 for everyone else)."""
    if employee is None:
        raise OneToOne.DoesNotExist
    return OneToOne.objects.filter(Q(lead=employee) | Q(person=employee)).select_related("lead", "person").get(pk=pk)


def meeting_pending(one_to_one: OneToOne) -> Meeting | None:
    return one_to_one.meetings.filter(held_at__isnull=True).first()


def meetings_held(one_to_one: OneToOne, *, limit: int = 20) -> list[Meeting]:
    return list(
        one_to_one.meetings.filter(held_at__isnull=False).prefetch_related("agenda").order_by("-scheduled_at")[:limit]
    )


def private_notes_of(*, author: Employee, meetings) -> dict[int, str]:
    """``author``'s own private notes of these meetings, by meeting id (never anyone else's)."""
    notes = PrivateNote.objects.filter(author=author, meeting__in=[m.pk for m in meetings if m is not None])
    return {note.meeting_id: note.text for note in notes}


def action_items_open(one_to_one: OneToOne) -> QuerySet[ActionItem]:
    return one_to_one.action_items.filter(done_at__isnull=True).select_related("owner", "raised_in")


def action_items_done_recently(one_to_one: OneToOne, *, limit: int = 10) -> list[ActionItem]:
    return list(
        one_to_one.action_items.filter(done_at__isnull=False).select_related("owner").order_by("-done_at")[:limit]
    )


def overdue_cutoff() -> datetime:
    """A meeting planned before today (local) and not marked held is overdue."""
    return timezone.make_aware(datetime.combine(timezone.localdate(), time.min))


def overdue_meetings() -> QuerySet[Meeting]:
    """Every overdue meeting of a running one-to-one: planned before today, not marked held."""
    return Meeting.objects.filter(
        held_at__isnull=True, scheduled_at__lt=overdue_cutoff(), one_to_one__ended_at__isnull=True
    )


def overdue_meetings_for_lead(employee: Employee | None) -> QuerySet[Meeting]:
    if employee is None:
        return Meeting.objects.none()
    return overdue_meetings().filter(one_to_one__lead=employee).select_related("one_to_one__person")


def overdue_meetings_to_remind() -> QuerySet[Meeting]:
    """The overdue meetings whose lead is still here, in id order, with the lead and the person: the
    ones the daily reminder emails their lead about (contact_plans/staff_reminders.py)."""
    return (
        overdue_meetings()
        .filter(one_to_one__lead__left_at__isnull=True)
        .select_related("one_to_one__lead", "one_to_one__person")
        .order_by("pk")
    )
