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
