"""That an account manager was reminded of an overdue follow-up (contact_plans/followup_reminders.py)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class FollowUpReminder(models.Model):
    """One follow-up (a plan's task or one planned by hand) reminded to its assignee for one due
    time. The unique constraint is the reminder's idempotency: a follow-up is reminded once for
    the due time it was missed at, and again only after it is moved to a new one and missed again."""

    followup = models.ForeignKey(
        "contact_plans.FollowUp", verbose_name=_("follow-up"), on_delete=models.CASCADE, related_name="reminders"
    )
    # The due time the reminder was about (the follow-up's due_at when it was reminded).
    due_at = models.DateTimeField(_("due"))
    # The digest that listed it. SET_NULL: purging old messages keeps the record that it was reminded.
    message = models.ForeignKey(
        "contact_plans.Message",
        verbose_name=_("message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("follow-up reminder")
        verbose_name_plural = _("follow-up reminders")
        constraints = [
            models.UniqueConstraint(fields=["followup", "due_at"], name="followup_reminder_once_per_due"),
        ]

    def __str__(self) -> str:
        return f"Reminder of follow-up {self.followup_id} due {self.due_at:%Y-%m-%d}"
