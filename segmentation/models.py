"""Segments: named sets of customers defined by rules, materialised as memberships.

A ``Segment`` holds a rule definition (see segmentation.conditions): the built-in ones (value x
risk, Pareto, RFM, influencers, hidden potential) have a ``key`` and cannot be edited; marketers
write the others. A refresh (segmentation.services.segment_refresh) compares the definition's
customers with the open memberships, set-based, and records:

- ``SegmentMembership``: one row per stay of a customer in a segment (entered_at, exited_at); at
  most one open row per segment and customer. Other apps act on entries by ``entered_at``.
- ``SegmentEvent``: one row per entry and per exit, with its time, for timelines and the API.
- ``SegmentSizeHistory``: the size after the last refresh of each day.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class Segment(models.Model):
    class Kind(models.TextChoices):
        BUILTIN = "builtin", _("Built-in")
        RULE = "rule", _("Rule")

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.RULE)
    key = models.CharField(_("key"), max_length=64, blank=True, help_text=_("Stable name of a built-in segment."))
    definition = models.JSONField(_("definition"), default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive segments are not refreshed; their members stay as they were.")
    )
    member_count = models.PositiveIntegerField(_("members"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)
    refresh_error = models.TextField(_("refresh error"), blank=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=~Q(key=""), name="segment_builtin_key_unique"),
            models.CheckConstraint(
                condition=(Q(kind="builtin") & ~Q(key="")) | (Q(kind="rule") & Q(key="")),
                name="segment_key_only_for_builtins",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        return reverse("segments:detail", args=[self.pk])

    @property
    def is_builtin(self) -> bool:
        return self.kind == self.Kind.BUILTIN

    @property
    def display_name(self) -> str:
        """Built-in names in the user's language; the stored name is English."""
        if self.is_builtin:
            from .builtins import builtin_label

            return str(builtin_label(self.key) or self.name)
        return self.name

    @property
    def display_description(self) -> str:
        if self.is_builtin:
            from .builtins import builtin_description

            return str(builtin_description(self.key) or self.description)
        return self.description


class SegmentMembership(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="segment_memberships")
    entered_at = models.DateTimeField(_("entered at"))
    exited_at = models.DateTimeField(_("exited at"), null=True, blank=True)

    class Meta:
        ordering = ["segment_id", "-entered_at", "-id"]
        verbose_name = _("segment membership")
        verbose_name_plural = _("segment memberships")
        indexes = [
            models.Index(fields=["segment", "entered_at"], name="segmembership_entered"),
            # The members list (API), newest membership first.
            models.Index(fields=["segment", "id"], condition=Q(exited_at__isnull=True), name="segmembership_open_id"),
            # An account manager's member counts (the segments list), from the index alone.
            models.Index(
                fields=["customer", "segment"], condition=Q(exited_at__isnull=True), name="segmembership_open_customer"
            ),
        ]
        constraints = [
            # Also the index that the refresh's anti-joins and the members list use.
            models.UniqueConstraint(
                fields=["segment", "customer"], condition=Q(exited_at__isnull=True), name="one_open_membership"
            ),
            models.CheckConstraint(
                condition=Q(exited_at__isnull=True) | Q(exited_at__gte=F("entered_at")),
                name="membership_exits_after_entry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id} from {self.entered_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.exited_at is None


class SegmentEvent(models.Model):
    class Kind(models.TextChoices):
        ENTERED = "entered", _("Entered")
        EXITED = "exited", _("Left")

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="events")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="segment_events")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("segment event")
        verbose_name_plural = _("segment events")
        indexes = [
            models.Index(fields=["segment", "at"], name="segevent_segment_at"),
            # The events list, newest first: a refresh gives all its events the same time.
            models.Index(fields=["segment", "at", "id"], include=("customer_id",), name="segevent_segment_at_id"),
        ]
        constraints = [
            # Entries and exits are counted by kind; another value would be neither. (Meta cannot see
            # Kind: the values are spelled out.)
            models.CheckConstraint(condition=Q(kind__in=["entered", "exited"]), name="segmentevent_kind_valid")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.segment_id} at {self.at:%Y-%m-%d %H:%M}"


class SegmentSizeHistory(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="size_history")
    at = models.DateField(_("date"))
    size = models.PositiveIntegerField(_("members"))

    class Meta:
        ordering = ["segment_id", "at"]
        verbose_name = _("segment size")
        verbose_name_plural = _("segment sizes")
        constraints = [models.UniqueConstraint(fields=["segment", "at"], name="one_size_per_segment_and_day")]

    def __str__(self) -> str:
        return f"{self.segment_id} on {self.at}: {self.size}"
