"""Planned contacts with customers: follow-ups (a call or meeting due on a date, for one person)
and worklist snoozes (an account manager's "not now, until then" on a row of their worklist)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from retention_crm import dates


class FollowUp(models.Model):
    """One contact to make with a customer by ``due_at``, assigned to one user."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        MEETING = "meeting", _("Meeting")
        VISIT = "visit", _("Visit")
        GIFT = "gift", _("Send a gift")

    class Outcome(models.TextChoices):
        """How a task went: a contact plan may end or branch on it (PlanStep.branches)."""

        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        MEETING_BOOKED = "meeting_booked", _("Meeting booked")
        ORDER_WON = "order_won", _("Order won")
        NOT_INTERESTED = "not_interested", _("Not interested")

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="followups"
    )
    # PROTECT as for account assignments: people leave by being deactivated, so their history stays.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assigned to"), on_delete=models.PROTECT, related_name="followups"
    )
    due_at = models.DateTimeField(_("due"), validators=[dates.planned("due_at")])
    note = models.TextField(_("note"), blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    # Set by automatic sources ("survey-response:42"), so that a second delivery of the same event
    # schedules nothing twice. Blank for follow-ups scheduled by hand.
    key = models.CharField(_("source key"), max_length=100, blank=True, default="")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CALL)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True, default="")
    # The contact plan step that created it (contact_plans.models.plans); null for follow-ups
    # scheduled by hand. SET_NULL: deleting a plan leaves the account manager's history.
    plan = models.ForeignKey(
        "contact_plans.ContactPlan",
        verbose_name=_("plan"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    plan_step = models.ForeignKey(
        "contact_plans.PlanStep", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enrolment = models.ForeignKey(
        "contact_plans.Enrolment", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [
            # "My open follow-ups, soonest first".
            models.Index(fields=["assigned_to", "state", "due_at"], name="followup_assignee_state_due"),
            # The worklist's "next planned contact" of each customer: one index probe per row shown.
            models.Index(fields=["customer", "due_at"], condition=Q(state="open"), name="followup_open_by_customer"),
            # The follow-ups list (API), soonest first.
            models.Index(fields=["due_at", "id"], name="followup_due_id"),
            # A plan's tasks (results: done on time).
            models.Index(fields=["plan", "state"], condition=Q(plan__isnull=False), name="followup_plan_state"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=["open", "done", "cancelled"]), name="followup_state_valid"),
            models.CheckConstraint(
                condition=(Q(state="done") & Q(done_at__isnull=False)) | (~Q(state="done") & Q(done_at__isnull=True)),
                name="followup_done_at_iff_done",
            ),
            models.CheckConstraint(
                condition=(Q(state="cancelled") & Q(cancelled_at__isnull=False))
                | (~Q(state="cancelled") & Q(cancelled_at__isnull=True)),
                name="followup_cancelled_at_iff_cancelled",
            ),
            models.UniqueConstraint(fields=["key"], condition=~Q(key=""), name="followup_key_unique"),
            models.CheckConstraint(
                condition=Q(kind__in=["call", "meeting", "visit", "gift"]), name="followup_kind_valid"
            ),
            # An outcome is how a done task went: never on an open or cancelled one.
            models.CheckConstraint(
                condition=Q(outcome="")
                | Q(
                    state="done",
                    outcome__in=["reached", "no_answer", "meeting_booked", "order_won", "not_interested"],
                ),
                name="followup_outcome_only_when_done",
            ),
            # The fixed bounds of retention_crm.dates, whatever writes the row.
            models.CheckConstraint(
                condition=dates.stored_range("due_at", instant=True), name="followup_due_at_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"Follow-up {self.pk} of customer {self.customer_id} due {self.due_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN

    @property
    def display_note(self) -> str:
        """A ready-made plan's task note in the reader's language (the database holds the English)."""
        if self.note and self.plan_id and self.plan.key:
            return gettext(self.note)
        return self.note

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at < timezone.now()


class WorklistSnooze(models.Model):
    """Hides a customer from one account manager's worklist until a date.

    ``user`` is whose worklist it is (the book's manager), ``created_by`` who snoozed (the manager,
    or an administrator working their list). A snooze is active while ``ended_at`` is null and
    ``until`` is after today; a new snooze, or waking the row up, ends the open one, so history stays.
    """

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="worklist_snoozes"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("worklist of"), on_delete=models.CASCADE, related_name="+"
    )
    until = models.DateField(
        _("snoozed until"),
        help_text=_("The customer is back on the worklist on this day."),
        validators=[dates.planned("until")],
    )
    reason = models.CharField(_("reason"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("snoozed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("worklist snooze")
        verbose_name_plural = _("worklist snoozes")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "customer"],
                condition=Q(ended_at__isnull=True),
                name="one_open_snooze_per_user_customer",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="snooze_reason_not_empty"),
            models.CheckConstraint(condition=dates.stored_range("until", instant=False), name="snooze_until_in_range"),
        ]

    def __str__(self) -> str:
        return f"Customer {self.customer_id} snoozed for user {self.user_id} until {self.until}"
