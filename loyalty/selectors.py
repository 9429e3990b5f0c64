"""Reads of the loyalty programme: settings, balances, the ledger, points about to expire."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.db.models import F, Q, Sum
from django.utils import timezone

from .models import LedgerEntry, Member, Programme

ENTRY = LedgerEntry._meta.db_table
MEMBER = Member._meta.db_table

SPENDING = Q(points__lt=0) & ~Q(kind=LedgerEntry.Kind.REVERSE)


def programme_get() -> Programme:
    programme, _created = Programme.objects.get_or_create(pk=1)
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
    return LedgerEntry.objects.filter(member_id=member_id).select_related("order", "created_by")[:limit]
