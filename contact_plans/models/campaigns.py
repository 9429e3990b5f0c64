"""Campaigns: one-off or recurring sends of a message template to a segment (docs/campaigns.md).

- ``Campaign``: what a marketer builds: the template, the segment, when (a date and a local time,
  in each recipient's own time zone; once, weekly or monthly), the held-out control group's share
  and whether links are tracked;
- ``CampaignRun``: one send of a campaign (a one-off has one; a recurring campaign one per date):
  its recipients are chosen when it starts, set-based, and its messages are written to the outbox
  in chunks that the workers share;
- ``CampaignRecipient``: one customer of a run: in the control group (chosen at random, recorded,
  never sent) or not, their local send time, the outbox's reason if they were left out, and their
  message. The results are counted from these rows.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# A control group larger than half the audience would leave too few to send to; 0 is no control.
MAX_CONTROL_PERCENT = 50


class Campaign(models.Model):
    class Kind(models.TextChoices):
        NEWSLETTER = "newsletter", _("Newsletter")
        OFFER = "offer", _("Offer")
        NEWS = "news", _("News")
        EVENT = "event", _("Event invitation")

    class Recurrence(models.TextChoices):
        ONCE = "once", _("Once")
        WEEKLY = "weekly", _("Every week")
        MONTHLY = "monthly", _("Every month")

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        STARTED = "started", _("Sent to the outbox")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.NEWSLETTER)
    # A deleted template or segment leaves the campaign in place (and its results), and scheduling
    # it again says what is missing.
    template = models.ForeignKey(
        "contact_plans.MessageTemplate",
        verbose_name=_("message template"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaigns",
    )
    segment = models.ForeignKey(
        "segmentation.Segment",
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaigns",
    )
    recurrence = models.CharField(_("repeat"), max_length=10, choices=Recurrence.choices, default=Recurrence.ONCE)
    send_on = models.DateField(_("send on"), help_text=_("The date of the (first) send."))
    send_time = models.TimeField(
        _("local time"), help_text=_("Each customer receives it at this time in their own time zone.")
    )
    control_percent = models.PositiveSmallIntegerField(
        _("control group (%)"),
        default=10,
        validators=[MaxValueValidator(MAX_CONTROL_PERCENT)],
        help_text=_("This share of the audience, chosen at random, receives nothing, to measure the campaign against."),
    )
    track_links = models.BooleanField(
        _("track link clicks"),
        default=True,
        help_text=_("Links in the email go through a redirect that records the click."),
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    # The date of the next send while scheduled (a recurring campaign moves it on at each start).
    next_send_on = models.DateField(_("next send"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        indexes = [
            # The beat's "what is due": scheduled campaigns by their next date.
            models.Index(fields=["next_send_on"], condition=Q(state="scheduled"), name="campaign_scheduled_next"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["newsletter", "offer", "news", "event"]), name="campaign_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(recurrence__in=["once", "weekly", "monthly"]), name="campaign_recurrence_valid"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["draft", "scheduled", "started", "cancelled"]), name="campaign_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(control_percent__gte=0, control_percent__lte=MAX_CONTROL_PERCENT),
                name="campaign_control_percent_range",
            ),
            # Only a scheduled campaign has a next send, and it always has one.
            models.CheckConstraint(
                condition=(Q(state="scheduled") & Q(next_send_on__isnull=False))
                | (~Q(state="scheduled") & Q(next_send_on__isnull=True)),
                name="campaign_next_send_iff_scheduled",
            ),
            models.CheckConstraint(
                condition=(Q(state="cancelled") & Q(cancelled_at__isnull=False))
                | (~Q(state="cancelled") & Q(cancelled_at__isnull=True)),
                name="campaign_cancelled_at_iff_cancelled",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_editable(self) -> bool:
        return self.state in (self.State.DRAFT, self.State.SCHEDULED)

    @property
    def control_share(self) -> float:
        return self.control_percent / 100

    @property
    def is_cancellable(self) -> bool:
        """Before sending, or while some of its messages still wait in the outbox."""
        return self.state in (self.State.SCHEDULED, self.State.STARTED)


class CampaignRun(models.Model):
    """One send of a campaign, on one date."""

    class State(models.TextChoices):
        PREPARING = "preparing", _("Writing messages")
        QUEUED = "queued", _("In the outbox")
        CANCELLED = "cancelled", _("Cancelled")

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="runs")
    send_on = models.DateField(_("send on"))
    send_time = models.TimeField(_("local time"))
    # The template and segment as they were when the run started (ids: a deletion later keeps them).
    template_id = models.BigIntegerField(_("template"))
    segment_id = models.BigIntegerField(_("segment"))
    control_percent = models.PositiveSmallIntegerField(_("control group (%)"))
    track_links = models.BooleanField(_("track link clicks"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PREPARING)
    audience = models.PositiveIntegerField(_("audience"), default=0)
    in_control = models.PositiveIntegerField(_("in the control group"), default=0)
    chunks = models.PositiveIntegerField(_("chunks"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks written"), default=0)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        ordering = ["-send_on", "-id"]
        verbose_name = _("campaign run")
        verbose_name_plural = _("campaign runs")
        constraints = [
            # Two beats, or a beat and a retried task, start one run per date.
            models.UniqueConstraint(fields=["campaign", "send_on"], name="campaign_run_one_per_date"),
            models.CheckConstraint(
                condition=Q(state__in=["preparing", "queued", "cancelled"]), name="campaign_run_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(in_control__lte=models.F("audience")), name="campaign_run_control_within_audience"
            ),
            models.CheckConstraint(
                condition=Q(chunks_done__lte=models.F("chunks")), name="campaign_run_chunks_within_total"
            ),
        ]

    def __str__(self) -> str:
        return f"Campaign {self.campaign_id} on {self.send_on}"


class CampaignRecipient(models.Model):
    run = models.ForeignKey(CampaignRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="recipients")
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="campaign_recipients"
    )
    in_control = models.BooleanField(_("in the control group"))
    # The moment of the send in the customer's time zone (the control group's too: their 30 days of
    # purchases are counted from it).
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    # The outbox's reason when the customer was left out at enqueue (recorded for the control group
    # as well: it is compared with those of the others who could be reached).
    reason = models.CharField(_("left out because"), max_length=20, blank=True)
    message = models.ForeignKey(
        "contact_plans.Message",
        verbose_name=_("message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Set by the chunk that handled this recipient (their message written, or their reason): a chunk
    # run again finds nothing left to do.
    written = models.BooleanField(_("written"), default=False)
    # Set when the campaign was cancelled before this customer's message left: it was withdrawn.
    withdrawn = models.BooleanField(_("withdrawn"), default=False)

    class Meta:
        ordering = ["run_id", "id"]
        verbose_name = _("campaign recipient")
        verbose_name_plural = _("campaign recipients")
        indexes = [models.Index(fields=["customer"], name="campaign_recipient_customer")]
        constraints = [
            models.UniqueConstraint(fields=["run", "customer"], name="campaign_recipient_once_per_run"),
            models.CheckConstraint(
                condition=Q(in_control=False) | Q(message__isnull=True), name="campaign_control_never_sent"
            ),
        ]

    def __str__(self) -> str:
        return f"Customer {self.customer_id} in run {self.run_id}"
