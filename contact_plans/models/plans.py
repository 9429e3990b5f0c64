"""Contact plans (docs/contact-plans.md): a sequence of steps a customer goes through after a trigger.

- ``ContactPlan``: what enrols a customer (the trigger), the goal that ends an enrolment, the
  re-enrolment rule, the share held out as a control group, and whether the plan is promotional
  (enrols only customers with marketing consent);
- ``PlanStep``: one step, in order: an email or SMS from a message template, a task for the account
  manager (a FollowUp on their worklist), or a wait; each after a delay, with optional conditions
  from the segment-condition registry;
- ``Enrolment``: one customer's way through a plan, or their row in the control group (never
  contacted); at most one open enrolment per plan and customer, by the database;
- ``EnrolmentStep``: what each step did for one enrolment (the message, the task, or why it was
  skipped): the runner's idempotence and the per-step results.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# A delay longer than this is a typing mistake, not a plan (two years).
MAX_DELAY_DAYS = 730
MAX_STEPS = 30
MAX_CONTROL_PERCENT = 50


class ContactPlan(models.Model):
    class Trigger(models.TextChoices):
        MANUAL = "manual", _("By hand only")
        FIRST_PURCHASE = "first_purchase", _("First purchase")
        EVERY_PURCHASE = "every_purchase", _("Every purchase")
        DAYS_AFTER_PURCHASE = "days_after_purchase", _("Days after a purchase")
        REPURCHASE_DUE = "repurchase_due", _("Expected repurchase date passed")
        SEGMENT_ENTERED = "segment_entered", _("Entered a segment")
        SEGMENT_EXITED = "segment_exited", _("Left a segment")

    class Goal(models.TextChoices):
        NONE = "", _("None: the plan runs to its last step")
        PURCHASE = "purchase", _("The customer purchases")

    class Reenrol(models.TextChoices):
        NEVER = "never", _("Never again")
        AFTER_DAYS = "after_days", _("Again after a number of days")

    class Purpose(models.TextChoices):
        TRANSACTIONAL = "transactional", _("Service (no consent needed)")
        PROMOTIONAL = "promotional", _("Promotional (marketing consent needed)")

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    # Ready-made plans have a key (ready_made.py); marketers' plans none.
    key = models.SlugField(_("key"), max_length=64, blank=True, default="")
    purpose = models.CharField(_("purpose"), max_length=15, choices=Purpose.choices, default=Purpose.PROMOTIONAL)
    trigger = models.CharField(_("trigger"), max_length=25, choices=Trigger.choices, default=Trigger.MANUAL)
    trigger_days = models.PositiveIntegerField(
        _("days after the purchase"), null=True, blank=True, help_text=_("For the trigger 'Days after a purchase'.")
    )
    # SET_NULL, not CASCADE: a plan whose segment was deleted is refused when it is next run or
    # saved, with a message, instead of disappearing with its history.
    trigger_segment = models.ForeignKey(
        "segmentation.Segment",
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    goal = models.CharField(_("goal"), max_length=10, choices=Goal.choices, blank=True, default=Goal.NONE)
    reenrol = models.CharField(_("re-enrolment"), max_length=10, choices=Reenrol.choices, default=Reenrol.NEVER)
    reenrol_days = models.PositiveIntegerField(_("re-enrol after (days)"), null=True, blank=True)
    control_percent = models.PositiveSmallIntegerField(
        _("control group (%)"),
        default=10,
        help_text=_("The share of enrolled customers held out at random and never contacted, to measure the plan."),
    )
    is_active = models.BooleanField(_("active"), default=True, help_text=_("An inactive plan enrols no one."))
    # The triggers have looked at what happened up to this instant; the next run looks after it.
    triggers_checked_at = models.DateTimeField(_("triggers checked up to"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("contact plan")
        verbose_name_plural = _("contact plans")
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=~Q(key=""), name="contactplan_key_unique"),
            models.CheckConstraint(
                condition=Q(control_percent__lte=MAX_CONTROL_PERCENT), name="contactplan_control_percent_range"
            ),
            models.CheckConstraint(
                condition=Q(
                    trigger__in=[
                        "manual",
                        "first_purchase",
                        "every_purchase",
                        "days_after_purchase",
                        "repurchase_due",
                        "segment_entered",
                        "segment_exited",
                    ]
                ),
                name="contactplan_trigger_valid",
            ),
            models.CheckConstraint(
                condition=~Q(trigger="days_after_purchase") | Q(trigger_days__gte=1, trigger_days__lte=MAX_DELAY_DAYS),
                name="contactplan_trigger_days_set",
            ),
            models.CheckConstraint(
                condition=~Q(reenrol="after_days") | Q(reenrol_days__gte=1, reenrol_days__lte=3650),
                name="contactplan_reenrol_days_set",
            ),
            models.CheckConstraint(condition=Q(goal__in=["", "purchase"]), name="contactplan_goal_valid"),
            models.CheckConstraint(
                condition=Q(purpose__in=["transactional", "promotional"]), name="contactplan_purpose_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("plans:detail", args=[self.pk])

    @property
    def display_name(self) -> str:
        """A ready-made plan's name in the reader's language while unchanged (the database holds the
        English one; a name a marketer gave has no translation and shows as written)."""
        return gettext(self.name) if self.key and self.name else self.name

    @property
    def display_description(self) -> str:
        return gettext(self.description) if self.key and self.description else self.description

    @property
    def is_promotional(self) -> bool:
        return self.purpose == self.Purpose.PROMOTIONAL

    @property
    def uses_segment(self) -> bool:
        return self.trigger in (self.Trigger.SEGMENT_ENTERED, self.Trigger.SEGMENT_EXITED)


class PlanStep(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")
        TASK = "task", _("Task for the account manager")
        WAIT = "wait", _("Wait")

    class TaskKind(models.TextChoices):
        CALL = "call", _("Call")
        MEETING = "meeting", _("Meeting")
        VISIT = "visit", _("Visit")
        GIFT = "gift", _("Send a gift")

    plan = models.ForeignKey(ContactPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    delay_days = models.PositiveSmallIntegerField(
        _("delay (days)"), default=0, help_text=_("Days after the previous step (after enrolment for the first).")
    )
    # SET_NULL: a step whose template was deleted stays, and the plan says what is wrong with it.
    template = models.ForeignKey(
        "contact_plans.MessageTemplate",
        verbose_name=_("template"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    task_kind = models.CharField(_("task"), max_length=10, choices=TaskKind.choices, blank=True)
    task_note = models.CharField(_("what to do"), max_length=500, blank=True)
    task_due_days = models.PositiveSmallIntegerField(
        _("days to do it"), default=3, help_text=_("The task is due this many days after it is created.")
    )
    # A definition of the segment builder ({"op": "and", "rules": [...]}, segmentation.conditions),
    # so every condition of the registry can be used; empty: no condition. It must hold when the
    # step is due, else the step is skipped for that customer.
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    # The one condition that is about the plan itself, not the customer alone.
    unless_purchased = models.BooleanField(
        _("only if no purchase since enrolment"),
        default=False,
        help_text=_("Skip this step for customers who bought something after they were enrolled."),
    )
    # What a task's outcome does: {"not_interested": "end", "meeting_booked": 4} (a later position);
    # an outcome not listed goes on to the next step.
    branches = models.JSONField(_("outcome branches"), default=dict, blank=True)

    class Meta:
        ordering = ["plan_id", "position"]
        verbose_name = _("plan step")
        verbose_name_plural = _("plan steps")
        constraints = [
            models.UniqueConstraint(fields=["plan", "position"], name="planstep_position_unique"),
            models.CheckConstraint(condition=Q(kind__in=["email", "sms", "task", "wait"]), name="planstep_kind_valid"),
            models.CheckConstraint(condition=Q(delay_days__lte=MAX_DELAY_DAYS), name="planstep_delay_range"),
            models.CheckConstraint(
                condition=~Q(kind="task") | Q(task_kind__in=["call", "meeting", "visit", "gift"]),
                name="planstep_task_has_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} step {self.position} ({self.kind})"

    @property
    def sends_message(self) -> bool:
        return self.kind in (self.Kind.EMAIL, self.Kind.SMS)


class Enrolment(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        WAITING = "waiting", _("Waiting for a task")
        CONTROL = "control", _("Control group")
        ENDED = "ended", _("Ended")

    class EndReason(models.TextChoices):
        COMPLETED = "completed", _("Went through every step")
        GOAL_MET = "goal_met", _("Goal met")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        TASK_OUTCOME = "task_outcome", _("Ended by a task's outcome")
        BY_HAND = "by_hand", _("Ended by hand")
        CONTROL_OVER = "control_over", _("Control period over")
        PLAN_BROKEN = "plan_broken", _("The plan's step can no longer run")

    class Source(models.TextChoices):
        TRIGGER = "trigger", _("Trigger")
        BY_HAND = "by_hand", _("By hand")
        SEGMENT = "segment", _("By hand, a whole segment")

    # No index of their own: the plan's and the customer's are the first columns of enrolment_plan_id
    # and enrolment_customer_plan (every index is written again when the runner advances a row).
    plan = models.ForeignKey(
        ContactPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="enrolments", db_index=False
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="plan_enrolments",
        db_index=False,
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    is_control = models.BooleanField(_("in the control group"), default=False)
    source = models.CharField(_("enrolled by"), max_length=10, choices=Source.choices, default=Source.TRIGGER)
    enrolled_at = models.DateTimeField(_("enrolled at"))
    # The next step to run (its position) and when; null when waiting for a task or ended.
    next_position = models.PositiveSmallIntegerField(_("next step"), null=True, blank=True)
    next_due_at = models.DateTimeField(_("next step due"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(_("end reason"), max_length=15, choices=EndReason.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["-enrolled_at", "-id"]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        indexes = [
            # The runner: due active enrolments, soonest first.
            models.Index(
                fields=["next_due_at", "id"], condition=Q(state__in=["active", "control"]), name="enrolment_due"
            ),
            # The re-enrolment rule and a customer's plans.
            models.Index(fields=["customer", "plan", "-enrolled_at"], name="enrolment_customer_plan"),
            # A plan's enrolments (results, lists), newest first.
            models.Index(fields=["plan", "-id"], name="enrolment_plan_id"),
            # A deleted user's enrolments (SET_NULL): the few enrolled by hand, not every row.
            models.Index(fields=["created_by"], condition=Q(created_by__isnull=False), name="enrolment_created_by"),
        ]
        constraints = [
            # A customer is in a plan at most once at a time (the control group counts as in it):
            # two triggers at the same moment insert one row (ON CONFLICT DO NOTHING).
            models.UniqueConstraint(
                fields=["plan", "customer"],
                condition=Q(state__in=["active", "waiting", "control"]),
                name="enrolment_one_open_per_plan_customer",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["active", "waiting", "control", "ended"]), name="enrolment_state_valid"
            ),
            models.CheckConstraint(
                condition=(Q(state="ended") & Q(ended_at__isnull=False) & ~Q(end_reason=""))
                | (~Q(state="ended") & Q(ended_at__isnull=True) & Q(end_reason="")),
                name="enrolment_ended_iff_reason",
            ),
            models.CheckConstraint(
                condition=~Q(state="control") | Q(is_control=True), name="enrolment_control_state_is_control"
            ),
            models.CheckConstraint(
                condition=~Q(is_control=True) | Q(state__in=["control", "ended"]),
                name="enrolment_control_not_contacted",
            ),
        ]

    def __str__(self) -> str:
        return f"Customer {self.customer_id} in plan {self.plan_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state != self.State.ENDED


class EnrolmentStep(models.Model):
    """What one step did for one enrolment; one row per enrolment and step, so that a step runs once."""

    class Outcome(models.TextChoices):
        MESSAGE = "message", _("Message queued")
        TASK = "task", _("Task created")
        WAITED = "waited", _("Waited")
        SKIPPED_CONDITIONS = "skipped_conditions", _("Skipped: conditions not met")
        SKIPPED_NO_MANAGER = "skipped_no_manager", _("Skipped: no account manager")
        FAILED = "failed", _("Failed")

    # Indexed by enrolmentstep_once and enrolmentstep_step_outcome (their first columns); the message
    # and the task only where there is one (a step run has one or neither): a chunk writes a row per
    # enrolment, and each index is an entry more per row.
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="steps_done", db_index=False)
    step = models.ForeignKey(PlanStep, on_delete=models.CASCADE, related_name="runs", db_index=False)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    message = models.ForeignKey(
        "contact_plans.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    followup = models.ForeignKey(
        "contact_plans.FollowUp", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["enrolment_id", "at", "id"]
        verbose_name = _("step run")
        verbose_name_plural = _("step runs")
        indexes = [
            models.Index(fields=["step", "outcome"], name="enrolmentstep_step_outcome"),
            models.Index(fields=["message"], condition=Q(message__isnull=False), name="enrolmentstep_message"),
            models.Index(fields=["followup"], condition=Q(followup__isnull=False), name="enrolmentstep_followup"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "step"], name="enrolmentstep_once"),
            models.CheckConstraint(
                condition=Q(
                    outcome__in=["message", "task", "waited", "skipped_conditions", "skipped_no_manager", "failed"]
                ),
                name="enrolmentstep_outcome_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Enrolment {self.enrolment_id} step {self.step_id}: {self.outcome}"
