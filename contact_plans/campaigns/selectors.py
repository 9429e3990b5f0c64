"""Reads of campaigns: who may do what, the list, the audience preview and the results.

Marketers and administrators build, schedule and cancel campaigns; account managers read them;
anyone else sees none (a 404). The campaign itself is the workspace's, but what a reader sees of its
customers starts from the visibility rule (customer_visible_to): the audience preview and the
results of an account manager count the customers of their own book.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contact_plans.messaging import policy
from contact_plans.messaging.rendering import RenderError, render_message
from contact_plans.models import Campaign, CampaignRecipient, ContactPreference, LinkClick, Message, MessageTemplate
from customers import roles
from customers.models import Customer, Order
from customers.selectors import customer_visible_to, customers_visible_filter
from metrics.analytics.uplift import Uplift, uplift

from .bulk import RENDER_FAILED

# Purchases counted after a send: the "within 30 days".
PURCHASE_WINDOW = timedelta(days=30)
# Customers listed per reason in the preview: enough to recognise, not a directory.
PREVIEW_EXAMPLES = 5

REASON_LABELS = {
    **dict(Message.Reason.choices),
    RENDER_FAILED: _("The message could not be rendered"),
}


def campaign_can_read(user) -> bool:
    return roles.has_any_role(user)


def campaign_can_manage(user) -> bool:
    return roles.is_administrator(user) or roles.is_marketer(user)


def campaign_list(*, user) -> QuerySet[Campaign]:
    if not campaign_can_read(user):
        return Campaign.objects.none()
    return Campaign.objects.select_related("template", "segment").order_by("-id")


def campaign_get(*, user, campaign_id: int) -> Campaign:
    """Campaign.DoesNotExist when the user may not read it (a 404)."""
    return campaign_list(user=user).get(pk=campaign_id)


def campaign_problems(campaign: Campaign) -> list[str]:
    """What keeps a scheduled campaign from sending (a template or segment deleted since)."""
    from .services import _errors_of

    if campaign.state != Campaign.State.SCHEDULED:
        return []
    errors = _errors_of(campaign, scheduling=False)
    return [message for field in ("template", "segment") for message in errors.get(field, [])]


def template_choices() -> QuerySet[MessageTemplate]:
    return MessageTemplate.objects.filter(channel=MessageTemplate.Channel.EMAIL).order_by("name", "id")


# --- The audience preview -------------------------------------------------------------------------


@dataclass(frozen=True)
class LeftOut:
    reason: str
    label: str
    count: int
    examples: list


@dataclass(frozen=True)
class AudiencePreview:
    members: int  # in the segment, not archived (visible to the reader)
    control: int  # about this many held out (the share of those who would be sent)
    sendable: int  # would be queued now
    left_out: list[LeftOut]

    @property
    def to_send(self) -> int:
        return self.sendable - self.control


def audience_preview(*, user, campaign: Campaign, now=None) -> AudiencePreview | None:
    """Who the campaign would reach if it started now, among the customers ``user`` may see: the
    segment's members, and who is left out and why, with the outbox's own reasons (no address,
    bounced, no consent, unsubscribed, and the frequency cap as it stands now). None without a
    template or segment."""
    template = campaign.template
    if template is None or campaign.segment_id is None:
        return None
    members = _members(user, campaign)
    reason = policy.suppression_reason_expression(purpose=template.purpose, topic=template.topic)
    annotated = members.annotate(why=reason)
    counts = dict(annotated.order_by().values_list("why").annotate(n=Count("pk")).values_list("why", "n"))
    capped = 0
    if template.purpose == MessageTemplate.Purpose.PROMOTIONAL:
        capped = (
            annotated.filter(why="")
            .annotate(recent=policy.frequency_capped_expression(now=now))
            .filter(recent__gte=settings.MESSAGING_FREQUENCY_CAP)
            .count()
        )
    total = sum(counts.values())
    sendable = counts.get("", 0) - capped
    left_out = []
    for code, n in sorted(((k, v) for k, v in counts.items() if k), key=lambda kv: -kv[1]):
        examples = list(annotated.filter(why=code).order_by("name", "pk")[:PREVIEW_EXAMPLES])
        left_out.append(LeftOut(code, str(REASON_LABELS.get(code, code)), n, examples))
    if capped:
        examples = list(
            annotated.filter(why="")
            .annotate(recent=policy.frequency_capped_expression(now=now))
            .filter(recent__gte=settings.MESSAGING_FREQUENCY_CAP)
            .order_by("name", "pk")[:PREVIEW_EXAMPLES]
        )
        left_out.append(
            LeftOut(Message.Reason.FREQUENCY_CAP, str(REASON_LABELS[Message.Reason.FREQUENCY_CAP]), capped, examples)
        )
    control = round(total * campaign.control_percent / 100) if total else 0
    control = min(control, max(sendable, 0))
    return AudiencePreview(members=total, control=control, sendable=max(sendable, 0), left_out=left_out)


@dataclass(frozen=True)
class LanguagePreview:
    language: str
    customers: int
    customer: Customer | None
    subject: str = ""
    html: str = ""
    text: str = ""
    error: str = ""


def _members(user, campaign: Campaign):
    return customer_visible_to(user).filter(
        archived_at__isnull=True,
        segment_memberships__segment_id=campaign.segment_id,
        segment_memberships__exited_at__isnull=True,
    )


def message_previews(*, user, campaign: Campaign, language: str | None = None) -> list[LanguagePreview]:
    """The message per language of the audience (or in ``language`` only): the template rendered for
    one member of each language (the first by name the reader may see), with how many members
    speak it."""
    template = campaign.template
    if template is None or campaign.segment_id is None:
        return []
    members = _members(user, campaign)
    if language is not None:
        members = members.filter(language=language)
    by_language = dict(members.order_by().values_list("language").annotate(n=Count("pk")).values_list("language", "n"))
    # One member per language, in one query (PostgreSQL's DISTINCT ON; elsewhere one query each).
    if connection.vendor == "postgresql":
        shown = {c.language: c for c in members.order_by("language", "name", "pk").distinct("language")}
    else:
        shown = {code: members.filter(language=code).order_by("name", "pk").first() for code in by_language}
    previews = []
    for code, _name in settings.LANGUAGES:
        customer = shown.get(code)
        if not by_language.get(code) or customer is None:
            continue
        try:
            rendered = render_message(template, customer)
        except RenderError as exc:
            previews.append(LanguagePreview(code, by_language[code], customer, error=str(exc)))
            continue
        previews.append(
            LanguagePreview(code, by_language[code], customer, rendered.subject, rendered.html, rendered.text)
        )
    return previews


# --- Results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Results:
    audience: int
    in_control: int
    sent: int
    queued: int
    suppressed: int
    suppressed_by_reason: list[tuple[str, str, int]]
    failed: int
    withdrawn: int
    unsubscribed: int
    clicked: int
    clicks: int
    uplift: Uplift
    window_complete: bool  # 30 days have passed since the last send counted

    @property
    def rows(self) -> list[tuple[str, int]]:
        """The figures as (label, value), in the page's and the CSV's order."""
        rows = [
            (_("Audience"), self.audience),
            (_("In the control group"), self.in_control),
            (_("Sent"), self.sent),
            (_("Waiting in the outbox"), self.queued),
            (_("Suppressed"), self.suppressed),
            *[(label, n) for _code, label, n in self.suppressed_by_reason],
            (_("Failed"), self.failed),
            (_("Withdrawn (cancelled)"), self.withdrawn),
            (_("Unsubscribed after the send"), self.unsubscribed),
            (_("Clicked a link"), self.clicked),
        ]
        return [(str(label), value) for label, value in rows]


def campaign_results(*, user, campaign: Campaign, now=None) -> Results:
    """The campaign's figures over all its runs, for the customers ``user`` may see.

    Purchased within 30 days: the recipients whose message was sent (from its send) against the
    control group's members the outbox would have sent to at enqueue (from their local send time),
    with the difference and its 95 % interval (metrics.analytics.uplift)."""
    now = now or timezone.now()
    recipients = CampaignRecipient.objects.filter(run__campaign=campaign).filter(customers_visible_filter(user))
    figures = recipients.aggregate(
        n_audience=Count("pk"),
        n_in_control=Count("pk", filter=Q(in_control=True)),
        n_withdrawn=Count("pk", filter=Q(withdrawn=True)),
        n_render_failed=Count("pk", filter=Q(reason=RENDER_FAILED, in_control=False)),
    )
    figures = {key[2:]: value for key, value in figures.items()}
    messages = Message.objects.filter(pk__in=recipients.filter(message__isnull=False).values("message_id"))
    states = dict(messages.order_by().values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    reasons = dict(
        messages.filter(state=Message.State.SUPPRESSED)
        .order_by()
        .values_list("reason")
        .annotate(n=Count("pk"))
        .values_list("reason", "n")
    )
    by_reason = [
        (code, str(REASON_LABELS.get(code, code)), n) for code, n in sorted(reasons.items(), key=lambda kv: -kv[1])
    ]
    sent = messages.filter(state=Message.State.SENT)
    declined = ContactPreference.objects.filter(
        customer_id=OuterRef("customer_id"), channel="email", subscribed=False, updated_at__gte=OuterRef("sent_at")
    ).filter(Q(topic="") | Q(topic=OuterRef("topic")))
    unsubscribed = sent.filter(Exists(declined)).values("customer_id").distinct().count()
    clicks = LinkClick.objects.filter(message__in=messages)
    bought_after_send = Order.objects.filter(
        customer_id=OuterRef("customer_id"),
        kind=Order.Kind.PURCHASE,
        ordered_at__gte=OuterRef("sent_at"),
        ordered_at__lt=OuterRef("sent_at") + PURCHASE_WINDOW,
    ).exclude(status=Order.Status.CANCELLED)
    treated = sent.aggregate(n=Count("pk"), k=Count("pk", filter=Exists(bought_after_send)))
    control_pool = recipients.filter(in_control=True, reason="", written=True)
    bought_after_due = Order.objects.filter(
        customer_id=OuterRef("customer_id"),
        kind=Order.Kind.PURCHASE,
        ordered_at__gte=OuterRef("due_at"),
        ordered_at__lt=OuterRef("due_at") + PURCHASE_WINDOW,
    ).exclude(status=Order.Status.CANCELLED)
    control = control_pool.aggregate(n=Count("pk"), k=Count("pk", filter=Exists(bought_after_due)))
    last_send = sent.order_by("-sent_at").values_list("sent_at", flat=True).first()
    return Results(
        audience=figures["audience"],
        in_control=figures["in_control"],
        sent=states.get(Message.State.SENT, 0),
        queued=states.get(Message.State.QUEUED, 0) + states.get(Message.State.SENDING, 0),
        suppressed=states.get(Message.State.SUPPRESSED, 0) + figures["render_failed"],
        suppressed_by_reason=by_reason
        + (
            [(RENDER_FAILED, str(REASON_LABELS[RENDER_FAILED]), figures["render_failed"])]
            if figures["render_failed"]
            else []
        ),
        failed=states.get(Message.State.FAILED, 0),
        withdrawn=figures["withdrawn"],
        unsubscribed=unsubscribed,
        clicked=clicks.values("customer_id").distinct().count(),
        clicks=clicks.count(),
        uplift=uplift(
            treated=treated["n"], treated_converted=treated["k"], control=control["n"], control_converted=control["k"]
        ),
        window_complete=last_send is not None and last_send + PURCHASE_WINDOW <= now,
    )


def sees_all(user) -> bool:
    """Whether the figures shown to ``user`` are the whole audience's (else their book's)."""
    return roles.sees_every_book(user)
