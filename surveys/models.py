"""Surveys (NPS, CSAT, CES, eNPS, pulse, or built from scratch), their questions, the invitations
sent to customers or employees, and the responses (docs/surveys.md).

Anonymity (employee surveys marked anonymous) is held by the rows themselves: an anonymous
``Response`` has no invitation, customer, employee or time of day (the database refuses one that
has), its id is random (a UUID, so neither ids nor their order say who answered first), and its
date is the day only. The invitation is marked answered with a flag alone. What lets a person
change their own anonymous answer is ``Response.anon_key``: a keyed hash (HMAC with the site's
secret) of the invitation, which no page, export, API or admin shows, and which cannot be turned
back into the invitation without the secret.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Kind(models.TextChoices):
    NPS = "nps", _("NPS")
    CSAT = "csat", _("CSAT")
    CES = "ces", _("CES")
    ENPS = "enps", _("eNPS")
    PULSE = "pulse", _("Pulse")
    CUSTOM = "custom", _("Custom")


class Audience(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    EMPLOYEES = "employees", _("Employees")


class Trigger(models.TextChoices):
    MANUAL = "manual", _("By hand")
    SEGMENT = "segment", _("A segment")
    AFTER_PURCHASE = "after_purchase", _("Days after a purchase")
    COMPLAINT_RESOLVED = "complaint_resolved", _("After a complaint is resolved")


class Recurrence(models.TextChoices):
    NONE = "", _("Once")
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")


RECURRENCE_DAYS = {"weekly": 7, "monthly": 30, "quarterly": 91}


class Survey(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", pgettext_lazy("survey status", "Active")
        CLOSED = "closed", _("Closed")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    audience = models.CharField(_("audience"), max_length=10, choices=Audience.choices, default=Audience.CUSTOMERS)
    anonymous = models.BooleanField(
        _("anonymous"), default=False, help_text=_("Employee surveys only: answers are never linked to a person.")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    fallback_language = models.CharField(_("fallback language"), max_length=8, default="en")
    trigger = models.CharField(_("sent"), max_length=20, choices=Trigger.choices, default=Trigger.MANUAL)
    trigger_days = models.PositiveSmallIntegerField(_("days after the purchase"), default=14)
    # The segment whose members are asked (segmentation.Segment), kept as an id as the outbox keeps
    # its template: a deleted segment leaves the survey and its results as they were.
    segment_id = models.BigIntegerField(_("segment"), null=True, blank=True)
    team = models.ForeignKey(
        "team.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Employee surveys: only this team (empty: every active employee)."),
    )
    recurrence = models.CharField(_("recurrence"), max_length=10, choices=Recurrence.choices, blank=True, default="")
    min_gap_days = models.PositiveSmallIntegerField(_("minimum days between two surveys to one person"), default=30)
    reminder_after_days = models.PositiveSmallIntegerField(
        _("reminder after (days)"), null=True, blank=True, help_text=_("Empty: no reminder.")
    )
    link_days = models.PositiveSmallIntegerField(_("links work for (days)"), default=30)
    resurvey_after_followup = models.BooleanField(
        _("re-survey when the follow-up is done"),
        default=True,
        help_text=_("Ask a short question again once a detractor's follow-up task is completed."),
    )
    last_sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Raised by a database trigger on every insert, update or delete of the survey's questions
    # (migration 0002), whoever makes it (builder, admin, SQL): the answer page caches the questions
    # per process under (survey, version), so a changed question is never validated against a stale copy.
    questions_version = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="survey_kind_valid"),
            models.CheckConstraint(condition=Q(audience__in=Audience.values), name="survey_audience_valid"),
            models.CheckConstraint(condition=Q(status__in=["draft", "active", "closed"]), name="survey_status_valid"),
            models.CheckConstraint(condition=Q(trigger__in=Trigger.values), name="survey_trigger_valid"),
            models.CheckConstraint(condition=Q(recurrence__in=Recurrence.values), name="survey_recurrence_valid"),
            models.CheckConstraint(
                condition=Q(anonymous=False) | Q(audience="employees"), name="survey_anonymous_only_employees"
            ),
            models.CheckConstraint(
                condition=Q(audience="customers") | Q(kind__in=["enps", "pulse", "custom"]),
                name="survey_employee_kinds",
            ),
            models.CheckConstraint(condition=Q(link_days__gte=1), name="survey_link_days_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("surveys:detail", args=[self.pk])

    @property
    def for_employees(self) -> bool:
        return self.audience == Audience.EMPLOYEES


class Question(models.Model):
    class Kind(models.TextChoices):
        SCALE_0_10 = "scale_0_10", _("Scale 0-10")
        SCALE_1_5 = "scale_1_5", _("Scale 1-5")
        SCALE_1_7 = "scale_1_7", _("Scale 1-7")
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        TEXT = "text", _("Free text")

    SCALES = {"scale_0_10": (0, 10), "scale_1_5": (1, 5), "scale_1_7": (1, 7)}

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    # {"en": "How likely…", "id": "…"}: the text in each language it is written in.
    texts = models.JSONField(_("text per language"), default=dict)
    # Choice questions: [{"value": "price", "labels": {"en": "Price", …}}, …]
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    # A follow-up shown only when the first question's answer is within [show_min, show_max].
    show_min = models.SmallIntegerField(_("show when the first answer is at least"), null=True, blank=True)
    show_max = models.SmallIntegerField(_("show when the first answer is at most"), null=True, blank=True)

    class Meta:
        ordering = ["survey", "position"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            models.UniqueConstraint(fields=["survey", "position"], name="survey_question_position_unique"),
            models.CheckConstraint(
                condition=Q(kind__in=["scale_0_10", "scale_1_5", "scale_1_7", "single", "multiple", "text"]),
                name="survey_question_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(show_min__isnull=True) | Q(show_max__isnull=True) | Q(show_min__lte=models.F("show_max")),
                name="survey_question_condition_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"Question {self.position} of survey {self.survey_id}"

    @property
    def scale(self) -> tuple[int, int] | None:
        return self.SCALES.get(self.kind)

    def text_in(self, language: str, fallback: str = "en") -> str:
        return self.texts.get(language) or self.texts.get(fallback) or next(iter(self.texts.values()), "")

    def choice_labels(self, language: str, fallback: str = "en") -> list[tuple[str, str]]:
        return [
            (c["value"], c["labels"].get(language) or c["labels"].get(fallback) or c["value"]) for c in self.choices
        ]

    def shown_for(self, score: int | None) -> bool:
        if self.show_min is None and self.show_max is None:
            return True
        if score is None:
            return False
        return (self.show_min is None or score >= self.show_min) and (self.show_max is None or score <= self.show_max)


class Invitation(models.Model):
    """One person asked one survey once (``wave``: the send it belongs to, e.g. "2026-12-06" or
    "resurvey-<response>"); its link answers for this invitation only."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="survey_invitations"
    )
    employee = models.ForeignKey(
        "team.Employee", null=True, blank=True, on_delete=models.CASCADE, related_name="survey_invitations"
    )
    wave = models.CharField(_("wave"), max_length=60)
    language = models.CharField(_("language"), max_length=8)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    # Set when answered; for anonymous surveys it is the only trace of the answer (no time).
    answered = models.BooleanField(_("answered"), default=False)
    # Set when the invitation was counted as delivered (its message sent or queued to be sent).
    delivered = models.BooleanField(_("delivered"), default=False)
    # The short re-survey after a detractor's follow-up is done: the first question only (the same
    # scale) and an optional comment. Its answers count for recovery, not in the survey's figures.
    short = models.BooleanField(_("short re-survey"), default=False, db_default=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        indexes = [
            models.Index(fields=["survey", "sent_at"], name="survey_invitation_sent"),
            models.Index(fields=["customer", "created_at"], name="survey_invitation_customer"),
            models.Index(fields=["employee", "created_at"], name="survey_invitation_employee"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(customer__isnull=False) & Q(employee__isnull=True))
                | (Q(customer__isnull=True) & Q(employee__isnull=False)),
                name="survey_invitation_one_person",
            ),
            models.UniqueConstraint(
                fields=["survey", "customer", "wave"], condition=Q(customer__isnull=False), name="survey_inv_cust_wave"
            ),
            models.UniqueConstraint(
                fields=["survey", "employee", "wave"], condition=Q(employee__isnull=False), name="survey_inv_emp_wave"
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation {self.pk} to survey {self.survey_id}"


def _random_id() -> uuid.UUID:
    return uuid.uuid4()


class Response(models.Model):
    class Source(models.TextChoices):
        LINK = "link", _("Survey link")
        API = "api", _("API")

    id = models.UUIDField(primary_key=True, default=_random_id, editable=False)
    # The foreign keys' own indexes: those of survey and customer are the leading columns of
    # survey_response_day and survey_response_customer; those of employee and team are partial
    # (a customer's answer has neither), so that an answer writes no index entry it does not need.
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses", db_index=False)
    anonymous = models.BooleanField(_("anonymous"), default=False)
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="response"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="survey_responses",
        db_index=False,
    )
    employee = models.ForeignKey(
        "team.Employee",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
        db_index=False,
    )
    # The group an employee answer counts in (results per team, groups of at least five).
    team = models.ForeignKey(
        "team.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    language = models.CharField(_("language"), max_length=8)
    score = models.SmallIntegerField(_("score"), null=True, blank=True)
    answers = models.JSONField(_("answers"), default=dict)
    comment = models.TextField(_("comment"), blank=True)
    is_detractor = models.BooleanField(_("detractor"), default=False)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.LINK)
    answered_on = models.DateField(_("answered on"))
    # The instant, for named answers only (anonymous ones keep the day).
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    # Unique by a constraint (survey_response_anon_key_unique), not unique=True: the key is only ever
    # looked up whole, so it needs no second, pattern-matching index.
    anon_key = models.CharField(max_length=64, null=True, blank=True, editable=False)
    followup_id = models.BigIntegerField(_("follow-up"), null=True, blank=True)
    # The answer of a short re-survey (its invitation's ``short``): kept out of the survey's figures
    # (results.responses_for), counted by the recovery rate.
    short = models.BooleanField(_("short re-survey"), default=False, db_default=False, editable=False)
    # The customer's timeline has this answer (written once, by the closed loop).
    timeline_logged = models.BooleanField(default=False, editable=False)
    # A customer's answer (new or changed) that the closed loop has not yet processed: set by the
    # answer's own statement, cleared by the beat's ``survey_answers_process`` (answers.py), which
    # finds the few pending rows through a partial index. The answer page queues nothing.
    loop_pending = models.BooleanField(default=False, db_default=False, editable=False)

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        indexes = [
            models.Index(fields=["survey", "answered_on"], name="survey_response_day"),
            models.Index(fields=["customer", "answered_on"], name="survey_response_customer"),
            models.Index(fields=["id"], condition=Q(loop_pending=True), name="survey_response_loop_pending"),
            models.Index(fields=["employee"], condition=Q(employee__isnull=False), name="survey_response_employee"),
            models.Index(fields=["team"], condition=Q(team__isnull=False), name="survey_response_team"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["anon_key"], name="survey_response_anon_key_unique"),
            models.CheckConstraint(
                condition=Q(anonymous=False)
                | (
                    Q(invitation__isnull=True)
                    & Q(customer__isnull=True)
                    & Q(employee__isnull=True)
                    & Q(answered_at__isnull=True)
                    & Q(followup_id__isnull=True)
                ),
                name="survey_response_anonymous_unlinked",
            ),
            models.CheckConstraint(
                condition=Q(anonymous=True) | Q(anon_key__isnull=True), name="survey_response_anon_key_only_anon"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=10)),
                name="survey_response_score_range",
            ),
            # Only a customer's answer has a closed loop to run (employees' publish nothing).
            models.CheckConstraint(
                condition=Q(loop_pending=False) | Q(customer__isnull=False), name="survey_response_loop_only_customers"
            ),
        ]

    def __str__(self) -> str:
        return f"Response to survey {self.survey_id}"
