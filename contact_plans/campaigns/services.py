"""Writes of campaigns: build, change, schedule, cancel; start a run and write its messages.

A run starts (``campaign_run_start``) a little before the first recipients' local send time comes
round anywhere (UTC+14): one ``INSERT ... SELECT`` writes its recipients from the segment's members,
draws the control group at random in the same statement (an exact share, ``row_number()`` over
``random()``), and computes each recipient's send time in their own time zone. Then one Celery task
per chunk of ``CAMPAIGN_CHUNK_SIZE`` recipients writes their outbox messages (``bulk.chunk_write``);
a chunk run twice adds nothing (one message per ``campaign:<run>:<customer>`` source key).
"""

from __future__ import annotations

import calendar
import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from contact_plans import dialect
from contact_plans.models import Campaign, CampaignRecipient, CampaignRun, MessageTemplate
from customers.models import Customer
from segmentation.models import Segment, SegmentMembership

logger = logging.getLogger(__name__)

# The first time zone to reach a local hour is UTC+14 (Kiribati): a run starts this long before its
# date and time there, so that every recipient's message is in the outbox before it is due.
EARLIEST_OFFSET = timedelta(hours=14)
START_LEAD = timedelta(minutes=15)

FIELDS = ("name", "kind", "template", "segment", "recurrence", "send_on", "send_time", "control_percent", "track_links")


def _errors_of(campaign: Campaign, *, scheduling: bool, now: datetime | None = None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if not (campaign.name or "").strip():
        add("name", _("Give the campaign a name."))
    if campaign.kind not in Campaign.Kind.values:
        add("kind", _("Choose what kind of campaign this is."))
    if campaign.recurrence not in Campaign.Recurrence.values:
        add("recurrence", _("Choose once, every week or every month."))
    if not 0 <= (campaign.control_percent if campaign.control_percent is not None else -1) <= 50:
        add("control_percent", _("The control group is between 0 and 50 percent of the audience."))
    template = MessageTemplate.objects.filter(pk=campaign.template_id).first() if campaign.template_id else None
    if template is None:
        add("template", _("Choose a message template (a deleted one has to be replaced)."))
    elif template.channel != MessageTemplate.Channel.EMAIL:
        add(
            "template",
            _("Campaigns send email templates; “%(name)s” is an SMS template.") % {"name": template.display_name},
        )
    elif scheduling and not template.is_active:
        add(
            "template",
            _("The template “%(name)s” is inactive: activate it to send with it.") % {"name": template.display_name},
        )
    segment = Segment.objects.filter(pk=campaign.segment_id).first() if campaign.segment_id else None
    if segment is None:
        add("segment", _("Choose the segment to send to (a deleted one has to be replaced)."))
    elif (
        scheduling
        and not SegmentMembership.objects.filter(
            segment=segment, exited_at__isnull=True, customer__archived_at__isnull=True
        ).exists()
    ):
        add(
            "segment",
            _("The segment “%(name)s” has no customers: there would be nobody to send to.")
            % {"name": segment.display_name},
        )
    if campaign.send_on is None:
        add("send_on", _("Choose the date of the send."))
    if campaign.send_time is None:
        add("send_time", _("Choose the local time of the send."))
    if (
        scheduling
        and campaign.send_on
        and campaign.send_time
        and send_moment(campaign.send_on, campaign.send_time) <= (now or timezone.now())
    ):
        add("send_on", _("That date and time have passed: choose a moment in the future."))
    return errors


def send_moment(day: date, at, zone: str | None = None) -> datetime:
    """``day`` at ``at`` in the zone (default: the workspace's), as an aware datetime."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone or settings.TIME_ZONE))


def run_starts_at(day: date, at) -> datetime:
    """When a run of ``day`` at ``at`` local time starts: before the first time zone reaches it."""
    return datetime.combine(day, at, tzinfo=UTC) - (EARLIEST_OFFSET + START_LEAD)


def _check(campaign: Campaign, *, scheduling: bool) -> None:
    errors = _errors_of(campaign, scheduling=scheduling)
    if errors:
        raise ValidationError(errors)


def campaign_create(*, created_by=None, schedule: bool = False, **fields) -> Campaign:
    """A new campaign, a draft (or scheduled at once with ``schedule``); ValidationError naming each
    field that is wrong, and nothing saved."""
    campaign = Campaign(created_by=created_by, **{k: v for k, v in fields.items() if k in FIELDS})
    _check(campaign, scheduling=schedule)
    if schedule:
        campaign.state, campaign.next_send_on = Campaign.State.SCHEDULED, campaign.send_on
    campaign.save()
    logger.info("campaigns.created campaign=%s scheduled=%s", campaign.pk, schedule)
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, **fields) -> tuple[Campaign, bool]:
    """Change a draft or a scheduled campaign (a scheduled one is checked as when it was
    scheduled); returns (campaign, whether anything changed)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if not campaign.is_editable:
        raise ValidationError({"state": [_("A campaign that has started or was cancelled can no longer be changed.")]})
    changed = False
    for name, value in fields.items():
        if name in FIELDS and getattr(campaign, name) != value:
            setattr(campaign, name, value)
            changed = True
    if not changed:
        return campaign, False
    scheduled = campaign.state == Campaign.State.SCHEDULED
    _check(campaign, scheduling=scheduled)
    if scheduled:
        campaign.next_send_on = campaign.send_on
    campaign.save()
    return campaign, True


@transaction.atomic
def campaign_schedule(*, campaign: Campaign) -> Campaign:
    """Schedule a draft: every check of a send (a template that exists, is email and active; a
    segment with customers; a moment in the future)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state != Campaign.State.DRAFT:
        raise ValidationError(
            {
                "state": [
                    _("Only a draft can be scheduled; this campaign is “%(state)s”.")
                    % {"state": campaign.get_state_display()}
                ]
            }
        )
    _check(campaign, scheduling=True)
    campaign.state, campaign.next_send_on = Campaign.State.SCHEDULED, campaign.send_on
    campaign.save(update_fields=["state", "next_send_on", "updated_at"])
    logger.info("campaigns.scheduled campaign=%s", campaign.pk)
    return campaign


@transaction.atomic
def campaign_unschedule(*, campaign: Campaign) -> Campaign:
    """Back to a draft before its first send."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state != Campaign.State.SCHEDULED or campaign.runs.exists():
        raise ValidationError({"state": [_("Only a scheduled campaign that has not sent yet goes back to a draft.")]})
    campaign.state, campaign.next_send_on = Campaign.State.DRAFT, None
    campaign.save(update_fields=["state", "next_send_on", "updated_at"])
    return campaign


def campaign_delete(*, campaign: Campaign) -> None:
    if campaign.state != Campaign.State.DRAFT:
        raise ValidationError({"state": [_("Only a draft can be deleted; cancel a scheduled campaign instead.")]})
    campaign.delete()


_WITHDRAW_SQL = """
    WITH waiting AS (
        SELECT m.id FROM contact_plans_message m
        JOIN contact_plans_campaignrecipient r ON r.message_id = m.id
        WHERE r.run_id = ANY(%(runs)s) AND m.state = 'queued'
        FOR UPDATE OF m
    ), unlinked AS (
        UPDATE contact_plans_campaignrecipient SET message_id = NULL, withdrawn = TRUE
        WHERE message_id IN (SELECT id FROM waiting)
    )
    DELETE FROM contact_plans_message WHERE id IN (SELECT id FROM waiting)"""

# SQLite has no UPDATE inside WITH and no row locks; its write lock, taken at BEGIN, keeps every other
# writer (a dispatcher claiming a message) out of the whole transaction, so three statements in a
# row see and change the same messages: mark their recipients, delete them, then unlink.
_WITHDRAW_SQLITE = (
    """UPDATE contact_plans_campaignrecipient SET withdrawn = TRUE
    WHERE run_id IN ({runs}) AND message_id IN (SELECT id FROM contact_plans_message WHERE state = 'queued')""",
    """DELETE FROM contact_plans_message WHERE state = 'queued' AND id IN (
        SELECT message_id FROM contact_plans_campaignrecipient WHERE run_id IN ({runs}) AND withdrawn)""",
    """UPDATE contact_plans_campaignrecipient SET message_id = NULL
    WHERE run_id IN ({runs}) AND withdrawn AND message_id IS NOT NULL""",
)


def _withdraw(runs: list[int]) -> int:
    """Delete the runs' messages still queued and mark their recipients withdrawn; how many."""
    with connection.cursor() as cursor:
        if dialect.is_postgresql():
            cursor.execute(_WITHDRAW_SQL, {"runs": runs})
            return cursor.rowcount
        marks = ", ".join(["%s"] * len(runs))
        mark, delete, unlink = (sql.format(runs=marks) for sql in _WITHDRAW_SQLITE)
        cursor.execute(mark, runs)
        cursor.execute(delete, runs)
        withdrawn = cursor.rowcount
        cursor.execute(unlink, runs)
        return withdrawn


@transaction.atomic
def campaign_cancel(*, campaign: Campaign) -> int:
    """Cancel a scheduled or started campaign: no further run starts, chunks not yet written write
    nothing, and the messages still queued in the outbox are withdrawn (deleted; their recipients
    marked withdrawn). A message a worker is already handing over is not recalled. Returns how many
    were withdrawn."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if not campaign.is_cancellable:
        raise ValidationError(
            {
                "state": [
                    _("This campaign is “%(state)s”: there is nothing to cancel.")
                    % {"state": campaign.get_state_display()}
                ]
            }
        )
    # The run rows' lock waits for a chunk being written (it holds them FOR SHARE) and keeps the next
    # ones out: they find the run cancelled.
    runs = list(
        CampaignRun.objects.select_for_update()
        .filter(campaign=campaign, state__in=[CampaignRun.State.PREPARING, CampaignRun.State.QUEUED])
        .values_list("pk", flat=True)
    )
    withdrawn = 0
    if runs:
        withdrawn = _withdraw(runs)
        CampaignRecipient.objects.filter(
            run_id__in=runs, in_control=False, message__isnull=True, withdrawn=False, reason=""
        ).update(withdrawn=True)
        CampaignRun.objects.filter(pk__in=runs).update(state=CampaignRun.State.CANCELLED, cancelled_at=timezone.now())
    campaign.state, campaign.next_send_on, campaign.cancelled_at = Campaign.State.CANCELLED, None, timezone.now()
    campaign.save(update_fields=["state", "next_send_on", "cancelled_at", "updated_at"])
    logger.info("campaigns.cancelled campaign=%s withdrawn=%s", campaign.pk, withdrawn)
    return withdrawn


def next_date(day: date, recurrence: str, first: date) -> date | None:
    """The send after ``day``: a week later, or the same day of the next month as the first send
    (the month's last day when it is shorter: 31 January, 28 February, 31 March)."""
    if recurrence == Campaign.Recurrence.WEEKLY:
        return day + timedelta(days=7)
    if recurrence == Campaign.Recurrence.MONTHLY:
        year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
        return date(year, month, min(first.day, calendar.monthrange(year, month)[1]))
    return None


def local_moment_sql(day: date, at, zones, *, column: str, not_before: datetime | None = None) -> tuple[str, dict]:
    """A SQL expression (with its parameters): ``day`` at ``at`` local time in the zone named by
    ``column``, as an instant (UTC where the name is not a known time zone), and not before
    ``not_before``. The instants are computed here, once per zone of ``zones`` (the distinct zones of
    the rows at hand), and the statement only picks one per row: the same on every database."""

    def moment(zone: str) -> datetime:
        instant = send_moment(day, at, zone).astimezone(UTC)
        return max(instant, not_before) if not_before is not None else instant

    utc = moment("UTC")
    params: dict = {"tz_else": dialect.db_datetime(utc)}
    arms = []
    for i, zone in enumerate(sorted({z for z in zones if z})):
        try:
            instant = moment(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue  # not a time zone: UTC, as for no zone at all
        if instant != utc:
            arms.append(f"WHEN %(tz{i})s THEN %(tz{i}_at)s")
            params[f"tz{i}"], params[f"tz{i}_at"] = zone, dialect.db_datetime(instant)
    if not arms:
        return "%(tz_else)s", params
    return f"CASE {column} {' '.join(arms)} ELSE %(tz_else)s END", params


# The control group is an exact share of the audience, in random order (``row_number()`` over
# ``random()``: both databases' window functions). ``WHERE true``: SQLite would read the ON CONFLICT
# that follows ``FROM audience`` as a join's ON.
_RECIPIENTS_SQL = """
    INSERT INTO contact_plans_campaignrecipient (run_id, customer_id, in_control, due_at, reason, withdrawn, written)
    SELECT %(run)s, customer_id, position <= round(total * %(percent)s / 100.0), due_at, '', FALSE, FALSE
    FROM (
        SELECT m.customer_id,
               row_number() OVER (ORDER BY random()) AS position,
               count(*) OVER () AS total,
               {due_at} AS due_at
        FROM segmentation_segmentmembership m
        JOIN customers_customer c ON c.id = m.customer_id
        WHERE m.segment_id = %(segment)s AND m.exited_at IS NULL AND c.archived_at IS NULL
    ) audience
    WHERE true
    ON CONFLICT (run_id, customer_id) DO NOTHING"""


def _recipients_insert(run: CampaignRun, *, now: datetime) -> None:
    """The run's recipients, control group and send times, in one statement: each is due at the run's
    local time in their own zone, or now when that has passed."""
    zones = (
        Customer.objects.filter(
            segment_memberships__segment_id=run.segment_id,
            segment_memberships__exited_at__isnull=True,
            archived_at__isnull=True,
        )
        .order_by()
        .values_list("time_zone", flat=True)
        .distinct()
    )
    due_at, params = local_moment_sql(run.send_on, run.send_time, zones, column="c.time_zone", not_before=now)
    with connection.cursor() as cursor:
        cursor.execute(
            _RECIPIENTS_SQL.format(due_at=due_at),
            {"run": run.pk, "percent": run.control_percent, "segment": run.segment_id, **params},
        )


def campaign_run_start(*, campaign_id: int, now: datetime | None = None) -> CampaignRun | None:
    """Start the due run of a scheduled campaign: its recipients and control group, then one task
    per chunk (queued after the commit). None when it is not due, already started, or cannot be
    sent (a deleted template or segment: the campaign page says so and the beat tries again)."""
    from .tasks import campaign_chunk_write_task

    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id, state=Campaign.State.SCHEDULED).first()
        if campaign is None or run_starts_at(campaign.next_send_on, campaign.send_time) > now:
            return None
        problems = _errors_of(campaign, scheduling=False)
        if problems:
            logger.warning("campaigns.cannot_start campaign=%s fields=%s", campaign.pk, ",".join(sorted(problems)))
            return None
        try:
            with transaction.atomic():
                run = CampaignRun.objects.create(
                    campaign=campaign,
                    send_on=campaign.next_send_on,
                    send_time=campaign.send_time,
                    template_id=campaign.template_id,
                    segment_id=campaign.segment_id,
                    control_percent=campaign.control_percent,
                    track_links=campaign.track_links,
                )
        except IntegrityError:
            return None  # started by another beat meanwhile
        _recipients_insert(run, now=now)
        figures = CampaignRecipient.objects.filter(run=run).aggregate(
            audience=Count("pk"),
            in_control=Count("pk", filter=Q(in_control=True)),
            first_id=Min("pk"),
            last_id=Max("pk"),
        )
        audience, in_control, first_id, last_id = (
            figures[k] for k in ("audience", "in_control", "first_id", "last_id")
        )
        size = settings.CAMPAIGN_CHUNK_SIZE
        chunks = [(lo, min(lo + size - 1, last_id)) for lo in range(first_id, last_id + 1, size)] if audience else []
        run.audience, run.in_control, run.chunks = audience, in_control, len(chunks)
        if not chunks:
            run.state = CampaignRun.State.QUEUED
        run.save(update_fields=["audience", "in_control", "chunks", "state"])
        following = next_date(campaign.next_send_on, campaign.recurrence, campaign.send_on)
        if following is None:
            campaign.state, campaign.next_send_on = Campaign.State.STARTED, None
        else:
            campaign.next_send_on = following
        campaign.save(update_fields=["state", "next_send_on", "updated_at"])
        for lo, hi in chunks:
            transaction.on_commit(lambda lo=lo, hi=hi: campaign_chunk_write_task.delay(run.pk, lo, hi))
    logger.info(
        "campaigns.run_started campaign=%s run=%s audience=%s control=%s chunks=%s",
        campaign.pk,
        run.pk,
        audience,
        in_control,
        len(chunks),
    )
    return run


def campaigns_start_due(*, now: datetime | None = None) -> int:
    """The beat's minute: start every scheduled campaign whose run is due; returns how many started."""
    now = now or timezone.now()
    horizon = (now + EARLIEST_OFFSET + START_LEAD).date()
    ids = list(
        Campaign.objects.filter(state=Campaign.State.SCHEDULED, next_send_on__lte=horizon).values_list("pk", flat=True)
    )
    return sum(1 for pk in ids if campaign_run_start(campaign_id=pk, now=now) is not None)
