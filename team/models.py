"""The people who serve the customers: employees, their teams and team leads.

Employees are kept apart from the users who log in: most employees answer eNPS and pulse surveys
by email and never log in; a team lead who runs one-to-ones in the browser has a user linked.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    lead = models.ForeignKey(
        "Employee",
        verbose_name=_("team lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="teams_led",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class EmployeeQuerySet(models.QuerySet):
    def active(self):
        return self.filter(left_at__isnull=True)


class Employee(models.Model):
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"))
    language = models.CharField(_("preferred language"), max_length=8, choices=settings.LANGUAGES, default="en")
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="employee",
        help_text=_("The user account of an employee who works in the CRM (a team lead runs one-to-ones here)."),
    )
    joined_at = models.DateField(_("joined"), null=True, blank=True)
    left_at = models.DateField(_("left"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = EmployeeQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("employee")
        verbose_name_plural = _("employees")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="team_employee_email_unique_ci"),
            models.CheckConstraint(
                condition=Q(left_at__isnull=True) | Q(joined_at__isnull=True) | Q(left_at__gte=models.F("joined_at")),
                name="team_employee_left_after_joined",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else ""


class OneToOneQuerySet(models.QuerySet):
    def active(self):
        return self.filter(ended_at__isnull=True)


class OneToOne(models.Model):
    """A lead's regular one-to-one with one person of their team, every 1, 2 or 4 weeks.

    Its meetings (Meeting) are planned one at a time from the schedule: the next one is created when
    the current one is held. Action items belong to the series, so that one not done is carried to
    every next meeting until it is."""

    class Every(models.IntegerChoices):
        WEEK = 1, _("Every week")
        TWO_WEEKS = 2, _("Every two weeks")
        FOUR_WEEKS = 4, _("Every four weeks")

    lead = models.ForeignKey(Employee, verbose_name=_("lead"), on_delete=models.CASCADE, related_name="one_to_ones_led")
    person = models.ForeignKey(Employee, verbose_name=_("person"), on_delete=models.CASCADE, related_name="one_to_ones")
    every_weeks = models.PositiveSmallIntegerField(_("how often"), choices=Every.choices, default=Every.TWO_WEEKS)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    objects = OneToOneQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "person"]
        verbose_name = _("one-to-one")
        verbose_name_plural = _("one-to-ones")
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "person"],
                condition=Q(ended_at__isnull=True),
                name="team_one_active_one_to_one_per_pair",
            ),
            models.CheckConstraint(condition=~Q(lead=models.F("person")), name="team_one_to_one_not_with_oneself"),
            models.CheckConstraint(condition=Q(every_weeks__in=[1, 2, 4]), name="team_one_to_one_every_1_2_or_4_weeks"),
        ]

    def __str__(self) -> str:
        return f"{self.lead} / {self.person}"


class Meeting(models.Model):
    """One meeting of a one-to-one: its shared agenda and notes; held_at once it took place."""

    one_to_one = models.ForeignKey(OneToOne, on_delete=models.CASCADE, related_name="meetings")
    scheduled_at = models.DateTimeField(_("planned for"))
    held_at = models.DateTimeField(_("held"), null=True, blank=True)
    shared_notes = models.TextField(_("shared notes"), blank=True)

    class Meta:
        ordering = ["one_to_one", "scheduled_at"]
        verbose_name = _("one-to-one meeting")
        verbose_name_plural = _("one-to-one meetings")
        indexes = [
            # The overdue ones (planned in the past, not held) of every lead: a small partial index.
            models.Index(fields=["scheduled_at"], condition=Q(held_at__isnull=True), name="team_meeting_pending")
        ]
        constraints = [
            # One meeting waits at a time: holding it plans the next.
            models.UniqueConstraint(
                fields=["one_to_one"], condition=Q(held_at__isnull=True), name="team_one_pending_meeting_per_series"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.one_to_one} @ {self.scheduled_at:%Y-%m-%d}"


class AgendaItem(models.Model):
    """A topic either of the two adds to a meeting's shared agenda."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    author = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(_("topic"), max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meeting", "created_at", "id"]
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="team_agenda_item_not_empty")]

    def __str__(self) -> str:
        return self.text


class PrivateNote(models.Model):
    """What one of the two writes for themselves about a meeting. Read by its author only: no page,
    export or admin listing of anyone else shows it (team.selectors reads it by author; the Django
    admin does not register it)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(_("private notes"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("private note")
        verbose_name_plural = _("private notes")
        constraints = [models.UniqueConstraint(fields=["meeting", "author"], name="team_one_private_note_per_author")]

    def __str__(self) -> str:
        return f"{self.meeting_id}/{self.author_id}"


class ActionItem(models.Model):
    """Something one of the two will do; shown at every meeting of the series until it is done."""

    one_to_one = models.ForeignKey(OneToOne, on_delete=models.CASCADE, related_name="action_items")
    raised_in = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="actions_raised")
    owner = models.ForeignKey(Employee, verbose_name=_("who"), on_delete=models.CASCADE, related_name="+")
    text = models.CharField(_("action"), max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    class Meta:
        ordering = ["one_to_one", "created_at", "id"]
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="team_action_item_not_empty")]

    def __str__(self) -> str:
        return self.text
