"""Reads of the loyalty programme: settings, balances, the ledger, points about to expire."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Case, DecimalField, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from customers.models import Order

from .models import LedgerEntry, Member, Programme, Reward, Tier

MONEY = DecimalField(max_digits=16, decimal_places=2)

ENTRY = LedgerEntry._meta.db_table
MEMBER = Member._meta.db_table

SPENDING = Q(points__lt=0) & ~Q(kind=LedgerEntry.Kind.REVERSE)


def programme_get() -> Programme:
    programme, created = Programme.objects.get_or_create(pk=1)
    if created:
        # A new row holds its defaults as written in the model ("0.0100"): read back the Decimals.
        programme.refresh_from_db()
    return programme


def points_reversed_for_order(*, order_id: int) -> int:
    """The (negative) sum of the reversals of an order's points."""
    total = LedgerEntry.objects.filter(order_id=order_id, kind=LedgerEntry.Kind.REVERSE).aggregate(s=Sum("points"))
    return total["s"] or 0


def lot_remaining(*, entry: LedgerEntry) -> int:
    """What is left of a positive entry's points once the member's spending (redeemed, expired,
    adjusted down) has used the oldest points first, as expiry counts them."""
    entries = LedgerEntry.objects.filter(member_id=entry.member_id)
    spent = -(entries.filter(SPENDING).aggregate(s=Sum("points"))["s"] or 0)
    reversed_of = dict(
        entries.filter(kind=LedgerEntry.Kind.REVERSE, order__isnull=False)
        .values_list("order_id")
        .annotate(s=Sum("points"))
    )
    lots = entries.filter(points__gt=0).order_by(F("expires_at").asc(nulls_last=True), "occurred_at", "id")
    for lot in lots.only("id", "points", "order_id"):
        net = lot.points + (reversed_of.get(lot.order_id, 0) if lot.order_id else 0)
        used = min(max(net, 0), spent)
        spent -= used
        if lot.pk == entry.pk:
            return max(net - used, 0)
    return 0


def points_expiring(*, member_id: int, within_days: int, now: datetime | None = None) -> int:
    """Points of the member that expire within ``within_days`` (those already due included)."""
    until = (now or timezone.now()) + timedelta(days=within_days)
    entries = LedgerEntry.objects.filter(member_id=member_id)
    due = entries.filter(expires_at__isnull=False, expires_at__lte=until).aggregate(s=Sum("points"))["s"] or 0
    spent = -(entries.filter(SPENDING).aggregate(s=Sum("points"))["s"] or 0)
    return max(due - spent, 0)


def balance_drift() -> list[tuple[int, int, int]]:
    """(member, cached balance, sum of entries) of every member whose cache differs from the sum:
    empty, always (a test and the nightly check assert it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.customer_id, m.points, COALESCE(s.total, 0) FROM {MEMBER} m "
            f"LEFT JOIN (SELECT member_id, SUM(points) AS total FROM {ENTRY} GROUP BY member_id) s "
            "ON s.member_id = m.customer_id WHERE m.points <> COALESCE(s.total, 0) ORDER BY m.customer_id"
        )
        return [tuple(row) for row in cursor.fetchall()]


def member_ledger(*, member_id: int, limit: int = 50):
    return LedgerEntry.objects.filter(member_id=member_id).select_related("order", "created_by").order_by("-id")[:limit]


# --- Tiers --------------------------------------------------------------------------------------


def tier_window_start(*, programme: Programme, now: datetime) -> datetime:
    """Where the tier's count starts: a year back (rolling) or the 1st of January (calendar year,
    workspace time zone)."""
    if programme.tier_window == "calendar_year":
        local = timezone.localtime(now)
        return local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return now - timedelta(days=365)


def tier_qualifying_value(*, programme: Programme, now: datetime) -> Coalesce:
    """Per member (an expression over ``Member``): what the tiers are reached by, in the window.
    Points earned (earned less what was taken back of them), or net spend: never the spendable
    balance, which redemptions and expiry lower."""
    start = tier_window_start(programme=programme, now=now)
    if programme.tier_basis == "spend":
        spend = (
            Order.objects.filter(
                customer_id=OuterRef("pk"), kind=Order.Kind.PURCHASE, ordered_at__gte=start, ordered_at__lte=now
            )
            .values("customer_id")
            .annotate(total=Sum("net_amount"))
            .values("total")
        )
        return Coalesce(Subquery(spend), Value(Decimal(0)), output_field=MONEY)
    earned = (
        LedgerEntry.objects.filter(
            member_id=OuterRef("pk"),
            kind__in=[LedgerEntry.Kind.EARN, LedgerEntry.Kind.REVERSE],
            occurred_at__gte=start,
            occurred_at__lte=now,
        )
        .values("member_id")
        .annotate(total=Sum("points"))
        .values("total")
    )
    return Coalesce(Cast(Subquery(earned), MONEY), Value(Decimal(0)), output_field=MONEY)


def members_with_tier_targets(*, programme: Programme, now: datetime, member_ids=None) -> QuerySet[Member]:
    """Members annotated with ``qualifying`` and the tier it reaches (``target_id``, ``target_threshold``)."""
    members = Member.objects.all() if member_ids is None else Member.objects.filter(pk__in=member_ids)
    reached = Tier.objects.filter(threshold__lte=OuterRef("qualifying")).order_by("-threshold")
    return members.annotate(qualifying=tier_qualifying_value(programme=programme, now=now)).annotate(
        target_id=Subquery(reached.values("pk")[:1]),
        target_threshold=Subquery(reached.values("threshold")[:1]),
    )


def member_standing(*, member: Member, now: datetime | None = None) -> dict:
    """A member's balance, tier and progress to the next tier, and points expiring soon."""
    now = now or timezone.now()
    programme = programme_get()
    row = members_with_tier_targets(programme=programme, now=now, member_ids=[member.pk]).get()
    next_tier = Tier.objects.filter(threshold__gt=row.qualifying).order_by("threshold").first()
    return {
        "member": row,
        "programme": programme,
        "points": row.points,
        "tier": row.tier,
        "qualifying": row.qualifying,
        "next_tier": next_tier,
        "to_next_tier": (next_tier.threshold - row.qualifying) if next_tier else None,
        "expiring": points_expiring(member_id=member.pk, within_days=programme.reminder_days, now=now),
        "grace_until": row.tier_grace_until,
    }


def rewards_on_offer(*, now: datetime | None = None) -> QuerySet[Reward]:
    """Active rewards available now (in stock or not: the catalogue says which are out)."""
    now = now or timezone.now()
    return Reward.objects.filter(active=True).filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=now), Q(valid_until__isnull=True) | Q(valid_until__gt=now)
    )


def members_with_points_expiring(*, within_days: int, now: datetime | None = None) -> list[tuple[int, int]]:
    """(member, points expiring within ``within_days``) of every member with some, one grouped query."""
    until = (now or timezone.now()) + timedelta(days=within_days)
    due = Sum(Case(When(expires_at__lte=until, then="points"), default=Value(0)), output_field=IntegerField())
    spent = Sum(Case(When(SPENDING, then="points"), default=Value(0)), output_field=IntegerField())
    rows = (
        LedgerEntry.objects.values("member_id")
        .annotate(total=Coalesce(due, 0) + Coalesce(spent, 0))
        .filter(total__gt=0)
        .values_list("member_id", "total")
        .order_by("member_id")
    )
    return list(rows)
