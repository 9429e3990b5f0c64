"""The programme's results over a period, as marketers read them (docs/loyalty.md, "Results").

A few grouped queries (never a row per customer in Python): the ledger summed by kind over the
period, the members and their tiers now, the tier moves of the period, and the repeat-purchase
rate of members against non-members from the period's orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.models import Order
from retention_crm import sql

from .models import LedgerEntry, Member, Tier, TierChange
from .referrals import referral_results
from .selectors import programme_get


@dataclass(frozen=True)
class Results:
    members: int
    active_members: int
    points_issued: int
    points_reversed: int
    points_redeemed: int
    points_expired: int
    redemption_rate: float | None
    breakage: float | None
    breakage_cohort_points: int
    breakage_expired_points: int
    referrals: int
    referrals_converted: int
    referral_points: int
    outstanding_points: int
    outstanding_liability: Decimal
    tiers: list[tuple[str, int]]
    moves_up: int
    moves_down: int
    repeat_rate_members: float | None
    repeat_rate_others: float | None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def programme_results(*, start: datetime, end: datetime) -> Results:
    """Results of [start, end): activity and points of the period; members, balances and tiers as
    they stand at the end (now, for a period ending today)."""
    in_period = Q(occurred_at__gte=start, occurred_at__lt=end)
    sums = LedgerEntry.objects.filter(in_period).aggregate(
        issued=Coalesce(Sum("points", filter=Q(kind="earn") | Q(kind="adjust", points__gt=0)), 0),
        reversed=Coalesce(Sum("points", filter=Q(kind="reverse")), 0),
        redeemed=Coalesce(Sum("points", filter=Q(kind="redeem")), 0),
        expired=Coalesce(Sum("points", filter=Q(kind="expire")), 0),
        active=Count("member", distinct=True, filter=Q(kind__in=["earn", "redeem"])),
    )
    members = Member.objects.filter(enrolled_at__lt=end)
    balances = members.aggregate(count=Count("pk"), points=Coalesce(Sum("points"), 0))
    tiers = list(
        Tier.objects.annotate(n=Count("members", filter=Q(members__enrolled_at__lt=end)))
        .order_by("threshold")
        .values_list("name", "n")
    )
    moves = TierChange.objects.filter(changed_at__gte=start, changed_at__lt=end)
    up = Q(from_tier__isnull=True) | Q(to_tier__threshold__gt=F("from_tier__threshold"))
    moved = moves.aggregate(up=Count("pk", filter=up & Q(to_tier__isnull=False)), all=Count("pk"))
    issued = sums["issued"] + sums["reversed"]
    cohort, expired = breakage_cohort(start=start, end=min(end, timezone.now()))
    return Results(
        members=balances["count"],
        active_members=sums["active"],
        points_issued=sums["issued"],
        points_reversed=-sums["reversed"],
        points_redeemed=-sums["redeemed"],
        points_expired=-sums["expired"],
        redemption_rate=_share(-sums["redeemed"], issued),
        breakage=_share(expired, cohort),
        breakage_cohort_points=cohort,
        breakage_expired_points=expired,
        **referral_results(start=start, end=end),
        outstanding_points=balances["points"],
        outstanding_liability=(Decimal(balances["points"]) * programme_get().point_value).quantize(Decimal("0.01")),
        tiers=tiers,
        moves_up=moved["up"],
        moves_down=moved["all"] - moved["up"],
        **_repeat_rates(start=start, end=end),
    )


ENTRY = LedgerEntry._meta.db_table


# Breakage by cohort (docs/metrics.md, "Loyalty"): the points whose expiry date fell in the period,
# and how many of them expired unredeemed. Points are spent oldest first (by expiry date, as
# services.points_expire counts them), so per member the points form one line: lots by expiry date
# (net of what was taken back of them), spending entries (redeem, expire, adjust down) filling it
# from the start in the order recorded. The cohort is the stretch [lo, hi) of lots expiring in the
# period; an expire entry's share of it is the overlap of its stretch of the line with the cohort's.
def _breakage_sql() -> str:
    overlap = sql.greatest("0", f"{sql.least('s.upto', 'b.hi')} - {sql.greatest('s.upto - s.size', 'b.lo')}")
    return f"""
WITH bounds AS (
    SELECT member_id,
        SUM(CASE WHEN expires_at < %(start)s THEN points ELSE 0 END) AS lo,
        SUM(points) AS hi
    FROM {ENTRY}
    WHERE expires_at IS NOT NULL AND expires_at < %(end)s
    GROUP BY member_id
    HAVING SUM(CASE WHEN expires_at >= %(start)s THEN points ELSE 0 END) > 0
), spending AS (
    SELECT e.member_id, e.kind, -e.points AS size,
        SUM(-e.points) OVER (PARTITION BY e.member_id ORDER BY e.id) AS upto
    FROM {ENTRY} e
    WHERE e.member_id IN (SELECT member_id FROM bounds) AND e.points < 0 AND e.kind <> 'reverse'
)
SELECT
    (SELECT COALESCE(SUM(hi - lo), 0) FROM bounds),
    (SELECT COALESCE(SUM({overlap}), 0)
     FROM spending s JOIN bounds b ON b.member_id = s.member_id WHERE s.kind = 'expire')
"""  # noqa: S608 - table names only


def breakage_cohort(*, start: datetime, end: datetime) -> tuple[int, int]:
    """(points whose expiry date fell in [start, end), of those the points that expired unredeemed).
    ``end`` no later than now: points whose expiry is still to come have not broken yet."""
    if end <= start:
        return 0, 0
    with connection.cursor() as cursor:
        cursor.execute(_breakage_sql(), {"start": sql.db_datetime(start), "end": sql.db_datetime(end)})
        cohort, expired = cursor.fetchone()
    return int(cohort), int(expired)


def _repeat_rates(*, start: datetime, end: datetime) -> dict:
    """Of the customers who bought in the period, the share who bought twice or more: members
    (enrolled before the period ended) and the others."""
    buyers = (
        Order.objects.filter(ordered_at__gte=start, ordered_at__lt=end, kind=Order.Kind.PURCHASE, net_amount__gt=0)
        .values("customer_id")
        .annotate(
            purchases=Count("pk"),
            member=Exists(Member.objects.filter(pk=OuterRef("customer_id"), enrolled_at__lt=end)),
        )
        .order_by()
    )
    # Two counts per side over the grouped buyers (Django does not group an aggregate by an aggregate).
    totals = {}
    for is_member in (True, False):
        side = buyers.filter(member=is_member)
        totals[is_member] = (side.count(), side.filter(purchases__gte=2).count())
    return {
        "repeat_rate_members": _share(totals[True][1], totals[True][0]),
        "repeat_rate_others": _share(totals[False][1], totals[False][0]),
    }
