"""Every write of the loyalty programme: enrolment, earning, reversal, expiry, adjustment, tiers.

The ledger rule, held by every function here: an entry is written only with the member's row locked
(``SELECT ... FOR UPDATE``, members in primary-key order when there are several), and the cached
balance (``Member.points``) moves in the same transaction by exactly the entry's points. A balance
never goes below zero: the services refuse first with a reason, and a constraint backs them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import roles
from customers.models import Customer, Interaction, Order
from customers.selectors import customer_can_edit, import_job_orders
from customers.services import interaction_log
from retention_crm import formats, sql

from . import earning, emails, selectors
from .models import EarningRule, LedgerEntry, Member, Tier, TierChange

logger = logging.getLogger(__name__)

# TierChange rows per INSERT: 5,000 rows of five columns are well within PostgreSQL's parameter limit.
TIER_MOVES_BATCH = 5_000

ENTRY = LedgerEntry._meta.db_table
MEMBER = Member._meta.db_table


class NotAMember(ValidationError):
    pass


def _not_a_member() -> NotAMember:
    return NotAMember(_("This customer is not a member of the loyalty programme."))


def _member_locked(customer_id: int) -> Member:
    try:
        return Member.objects.select_for_update().get(pk=customer_id)
    except Member.DoesNotExist:
        raise _not_a_member() from None


def _entry_write(member: Member, *, points: int, **fields) -> LedgerEntry:
    """Append an entry to a locked member and move their cached balance by its points."""
    if member.points + points < 0:
        raise ValidationError(
            _("The balance is %(balance)s points: it cannot go below zero.") % {"balance": member.points}
        )
    fields.setdefault("occurred_at", timezone.now())
    entry = LedgerEntry(member=member, points=points, **fields)
    entry.save()
    Member.objects.filter(pk=member.pk).update(points=F("points") + points)
    member.points += points
    return entry


def _expiry_of(at: datetime) -> datetime | None:
    days = selectors.programme_get().expiry_days
    return at + timedelta(days=days) if days else None


# --- Membership ---------------------------------------------------------------------------------


@transaction.atomic
def member_enrol(*, customer: Customer, at: datetime | None = None) -> tuple[Member, bool]:
    """Enrol a customer (again: nothing changes); the sign-up bonus in force is awarded once."""
    at = at or timezone.now()
    member, created = Member.objects.get_or_create(customer=customer, defaults={"enrolled_at": at})
    if created:
        bonus = (
            EarningRule.objects.filter(earning._in_force(at), kind=EarningRule.Kind.SIGNUP)
            .order_by("-value")
            .values_list("value", flat=True)
            .first()
        )
        if bonus and int(bonus) > 0:
            member = _member_locked(customer.pk)
            _entry_write(
                member,
                kind=LedgerEntry.Kind.EARN,
                source=LedgerEntry.Source.SIGNUP,
                points=int(bonus),
                reason=_("Sign-up bonus"),
                occurred_at=at,
                expires_at=_expiry_of(at),
            )
    return member, created


# --- Earning ------------------------------------------------------------------------------------


def _members_lock(customer_ids_sql: str, params: tuple) -> None:
    """Lock the members among a set of customers, in primary-key order (two bulk writers never
    deadlock). SQLite has no row locks: its writers are serialised by the database itself."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {MEMBER} WHERE customer_id IN ({customer_ids_sql}) "
            "ORDER BY customer_id FOR UPDATE) locked",
            params,
        )


def _balances_resum(customer_ids_sql: str, params: tuple) -> None:
    """Set the cached balance of the members among these customers to the sum of their entries
    (they are locked: nobody else writes their entries meanwhile)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {MEMBER} SET points = (SELECT COALESCE(SUM(e.points), 0) FROM {ENTRY} e "
            f"WHERE e.member_id = {MEMBER}.customer_id) WHERE customer_id IN ({customer_ids_sql})",
            params,
        )


@transaction.atomic
def points_earn_orders(*, orders: QuerySet[Order]) -> int:
    """Award every order of ``orders`` what it earns (loyalty.earning), set-based: one
    ``INSERT ... SELECT``; an order that already earned is left alone (a unique index), so running
    it twice awards once. Returns the number of orders that earned now."""
    now = timezone.now()
    rows = earning.earn_rows_sql(orders, expiry_days=selectors.programme_get().expiry_days)
    if rows is None:
        return 0
    select_sql, select_params = rows
    customers_sql, customers_params = orders.order_by().values("customer_id").query.sql_with_params()
    _members_lock(customers_sql, customers_params)
    created_at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ENTRY} (member_id, points, order_id, expires_at, occurred_at, kind, source, reason, "
            f"created_at) SELECT s.*, 'earn', 'order', '', %s FROM ({select_sql}) s WHERE true "
            "ON CONFLICT DO NOTHING",
            (created_at, *select_params),
        )
        awarded = cursor.rowcount
    if awarded:
        _balances_resum(customers_sql, customers_params)
    return awarded


@transaction.atomic
def order_points_earn(*, order_id: int) -> LedgerEntry | None:
    """What one order earns (order.placed), with the "points earned" email; None when it earns
    nothing or earned already (no second email either)."""
    if not points_earn_orders(orders=Order.objects.filter(pk=order_id)):
        return None
    entry = LedgerEntry.objects.select_related("member__customer", "order").get(
        order_id=order_id, kind=LedgerEntry.Kind.EARN, source=LedgerEntry.Source.ORDER
    )
    member_tiers_refresh(member_ids=[entry.member_id])
    entry.member.refresh_from_db(fields=["points"])
    emails.points_earned_email(
        customer=entry.member.customer,
        order_external_id=entry.order.external_id,
        points=entry.points,
        balance=entry.member.points,
    )
    return entry


def import_points_earn(*, job_id) -> int:
    """The orders an import wrote earn in bulk, and those it refunded or cancelled give back what
    they earned (orders.imported): both set-based, both idempotent."""
    awarded = points_earn_orders(orders=import_job_orders(job_id))
    reversed_ = points_reverse_orders(orders=import_job_orders(job_id))
    if awarded or reversed_:
        member_tiers_refresh(member_ids=import_job_orders(job_id).values("customer_id"), notify=False)
    return awarded


# What every order of a set should give back, as order_points_reverse reckons it for one, in one
# statement: the order keeps floor(earned x net / gross); what is due back is the rest less what was
# taken back already; it is capped by what is left of the order's own points once the member's
# spending has used the oldest first (lots ordered as selectors.lot_remaining orders them), and by
# the balance (a running sum per member).
def _reverse_sql(orders_sql: str) -> str:
    """The statement of ``points_reverse_orders`` over the orders of ``orders_sql`` (a SELECT of id,
    external_id, net_amount, gross_amount)."""
    greatest, least = sql.greatest, sql.least
    net = greatest("l.points + COALESCE(rv.points, 0)", "0")
    left_of_lot = greatest(f"l.net - {least(greatest('COALESCE(s.spent, 0) - (l.upto - l.net)', '0'), 'l.net')}", "0")
    return f"""
INSERT INTO {ENTRY} (member_id, points, order_id, expires_at, occurred_at, kind, source, reason, created_at)
WITH due AS (
    SELECT e.member_id, e.order_id, e.id AS earn_id, e.expires_at, o.external_id,
        e.points - CAST(FLOOR(e.points * {greatest("o.net_amount", "0")} / o.gross_amount) AS bigint)
            + COALESCE((SELECT SUM(r.points) FROM {ENTRY} r WHERE r.order_id = e.order_id AND r.kind = 'reverse'), 0)
            AS due
    FROM {ENTRY} e JOIN ({orders_sql}) o ON o.id = e.order_id
    WHERE e.kind = 'earn' AND e.source = 'order' AND o.gross_amount > 0 AND o.net_amount < o.gross_amount
), lots AS (
    SELECT l.id, l.member_id,
        {net} AS net,
        SUM({net}) OVER (
            PARTITION BY l.member_id ORDER BY l.expires_at ASC NULLS LAST, l.occurred_at, l.id
        ) AS upto
    FROM {ENTRY} l
    LEFT JOIN (
        SELECT order_id, SUM(points) AS points FROM {ENTRY} WHERE kind = 'reverse' AND order_id IS NOT NULL
        GROUP BY order_id
    ) rv ON rv.order_id = l.order_id AND l.order_id IS NOT NULL
    WHERE l.points > 0 AND l.member_id IN (SELECT member_id FROM due WHERE due > 0)
), spent AS (
    SELECT member_id, -SUM(points) AS spent FROM {ENTRY}
    WHERE points < 0 AND kind <> 'reverse' AND member_id IN (SELECT member_id FROM due WHERE due > 0)
    GROUP BY member_id
), takes AS (
    SELECT d.*, {least("d.due", left_of_lot)} AS take
    FROM due d JOIN lots l ON l.id = d.earn_id LEFT JOIN spent s ON s.member_id = d.member_id
    WHERE d.due > 0
), capped AS (
    SELECT t.*, m.points AS balance,
        SUM(t.take) OVER (PARTITION BY t.member_id ORDER BY t.order_id) AS running
    FROM takes t JOIN {MEMBER} m ON m.customer_id = t.member_id
    WHERE t.take > 0
)
SELECT member_id, -{least("take", "balance - (running - take)")}, order_id, expires_at, %s, 'reverse', 'order',
    SUBSTR(%s || external_id || %s, 1, 200), %s
FROM capped WHERE {least("take", "balance - (running - take)")} > 0
"""  # noqa: S608 - table names only


@transaction.atomic
def points_reverse_orders(*, orders: QuerySet[Order]) -> int:
    """Take back, set-based, what the refunded or cancelled orders among ``orders`` earned, as
    ``order_points_reverse`` does for one (an import's refunds: orders.imported). Running it again
    takes back nothing more. Returns the number of reversal entries written."""
    # Only the orders refunded or cancelled matter: the members of the others are not even locked.
    orders = orders.filter(gross_amount__gt=0, net_amount__lt=F("gross_amount"))
    orders_sql, orders_params = (
        orders.order_by().values("id", "external_id", "net_amount", "gross_amount").query.sql_with_params()
    )
    customers_sql, customers_params = orders.order_by().values("customer_id").query.sql_with_params()
    _members_lock(customers_sql, customers_params)
    before, _sep, after = _("Order %(order)s refunded or cancelled").partition("%(order)s")
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        # The orders' parameters come first (their SELECT is in the first CTE), then the INSERT's.
        cursor.execute(_reverse_sql(orders_sql), (*orders_params, now, before, after, now))
        written = cursor.rowcount
    if written:
        _balances_resum(customers_sql, customers_params)
    return written


@transaction.atomic
def order_points_reverse(*, order_id: int) -> LedgerEntry | None:
    """Take back what an order earned as far as it was refunded or cancelled (order.changed).

    What the order keeps is its earned points in proportion of its net to its gross amount, rounded
    down; what was already taken back is not taken twice. None: nothing to
    take back.

    Points the member already spent (or that expired) are not taken from their other points: the
    reversal takes back what is left of the order's own points, oldest-first accounting.
    """
    earned = LedgerEntry.objects.filter(order_id=order_id, kind=LedgerEntry.Kind.EARN).first()
    if earned is None:
        return None
    member = _member_locked(earned.member_id)
    order = Order.objects.get(pk=order_id)
    keeps = (
        0 if order.gross_amount <= 0 else int(earned.points * max(order.net_amount, Decimal(0)) / order.gross_amount)
    )
    taken = -selectors.points_reversed_for_order(order_id=order_id)
    due = earned.points - keeps - taken
    # Points of the order already spent or expired stay spent: only what is left of them goes back.
    take = min(due, selectors.lot_remaining(entry=earned), member.points)
    if take <= 0:
        return None
    entry = _entry_write(
        member,
        kind=LedgerEntry.Kind.REVERSE,
        source=LedgerEntry.Source.ORDER,
        points=-take,
        order_id=order_id,
        reason=_("Order %(order)s refunded or cancelled") % {"order": order.external_id},
        expires_at=earned.expires_at,
    )
    member_tiers_refresh(member_ids=[member.pk])
    return entry


# --- Expiry -------------------------------------------------------------------------------------

# Per member: points whose expiry has passed (earned, adjusted up, less what was taken back of them)
# against every point spent (redeemed, expired, adjusted down). Points are spent oldest first, so
# what has expired and was not spent is their difference; a second run finds none (the expired
# points count as spent).
_EXPIRY_SELECT = f"""
    SELECT member_id, -(due - spent)
    FROM (
        SELECT member_id,
            SUM(CASE WHEN expires_at IS NOT NULL AND expires_at <= %s THEN points ELSE 0 END) AS due,
            SUM(CASE WHEN points < 0 AND kind <> 'reverse' THEN -points ELSE 0 END) AS spent
        FROM {ENTRY}
        GROUP BY member_id
    ) t
    WHERE due > spent
"""


@transaction.atomic
def points_expire(*, now: datetime | None = None) -> int:
    """Expire every point whose time has come, oldest first, set-based; idempotent. Returns the
    number of members whose points expired."""
    now = now or timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    due_members = f"SELECT DISTINCT member_id FROM {ENTRY} WHERE expires_at IS NOT NULL AND expires_at <= %s"
    _members_lock(due_members, (at,))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ENTRY} (member_id, points, kind, source, reason, occurred_at, created_at) "
            f"SELECT x.*, 'expire', 'expiry', '', %s, %s FROM ({_EXPIRY_SELECT}) x WHERE true",
            (at, at, at),
        )
        expired = cursor.rowcount
    if expired:
        _balances_resum(f"SELECT member_id FROM {ENTRY} WHERE kind = 'expire' AND occurred_at = %s", (at,))
    logger.info("loyalty.points_expired members=%s", expired)
    return expired


# --- Adjustments --------------------------------------------------------------------------------


def adjustment_allowed(*, user, customer: Customer) -> bool:
    """Administrators, and the account managers who may edit the customer."""
    return roles.is_administrator(user) or customer_can_edit(user=user, customer=customer)


@transaction.atomic
def points_adjust(*, customer: Customer, points, reason: str, user) -> LedgerEntry:
    """Add (or, negative, take away) whole points by hand, with a reason."""
    if not adjustment_allowed(user=user, customer=customer):
        raise PermissionDenied(_("You may not adjust this customer's points."))
    if isinstance(points, bool) or not isinstance(points, int | Decimal | str):
        raise ValidationError({"points": _("Enter a whole number of points.")})
    try:
        amount = Decimal(str(points).strip())
    except ArithmeticError:
        raise ValidationError({"points": _("Enter a whole number of points.")})
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise ValidationError({"points": _("Enter a whole number of points.")})
    if amount == 0:
        raise ValidationError({"points": _("An adjustment of zero points changes nothing.")})
    if abs(amount) > 10**9:
        raise ValidationError({"points": _("An adjustment is at most a billion points.")})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the points are adjusted.")})
    member = _member_locked(customer.pk)
    now = timezone.now()
    entry = _entry_write(
        member,
        kind=LedgerEntry.Kind.ADJUST,
        source=LedgerEntry.Source.USER,
        points=int(amount),
        reason=reason[:200],
        created_by=user,
        occurred_at=now,
        expires_at=_expiry_of(now) if amount > 0 else None,
    )
    _timeline_note(
        customer,
        _("Loyalty points adjusted by %(points)+d: %(reason)s") % {"points": entry.points, "reason": entry.reason},
        author=user,
        at=now,
    )
    return entry


def _timeline_note(customer: Customer, subject: str, *, author=None, at: datetime | None = None) -> None:
    """An entry on the customer's timeline (customers' public service; an interaction of kind loyalty)."""
    interaction_log(
        customer=customer,
        kind=Interaction.Kind.LOYALTY,
        subject=subject[:200],
        author=author,
        direction=Interaction.Direction.INTERNAL,
        occurred_at=at,
    )


# --- Tiers --------------------------------------------------------------------------------------


@transaction.atomic
def member_tiers_refresh(*, member_ids=None, now: datetime | None = None, notify: bool = True) -> int:
    """Move members to the tier their points earned (or spend) reach, set-based: one query finds
    the members whose tier should move, and only those rows are read. An upgrade is immediate; a
    member who no longer qualifies keeps the tier for the programme's grace period, then moves
    down. Returns the number of members whose tier changed.

    ``notify``: email a tier reached or about to be lost (one order, the nightly pass); an import
    or the demo, which move thousands at once, pass False.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    programme = selectors.programme_get()
    candidates = (
        selectors.members_with_tier_targets(programme=programme, now=now, member_ids=member_ids)
        # The tier should move, or a grace period is running (NULLs spelled out: NULL = NULL is not true).
        .filter(
            Q(tier_grace_until__isnull=False)
            | Q(tier__isnull=False, target_id__isnull=True)
            | Q(tier__isnull=True, target_id__isnull=False)
            | ~Q(tier_id=F("target_id"))
        )
        .select_related("tier", "customer")
        .order_by("pk")
    )
    tiers = {tier.pk: tier for tier in Tier.objects.all()}
    moves: list[TierChange] = []
    # Members by the update they get: one UPDATE per kind of change (a handful), whatever their number.
    updates: dict[tuple, list[int]] = defaultdict(list)
    for member in candidates.select_for_update(of=("self",)):
        current = member.tier.threshold if member.tier else None
        rises = current is None or (member.target_threshold is not None and member.target_threshold >= current)
        upgrade = False
        if rises:
            update = {"tier_grace_until": None}
            if member.tier_id != member.target_id:
                update.update(tier_id=member.target_id, tier_since=now)
                upgrade = True
        elif member.tier_grace_until is None and programme.tier_grace_days:
            update = {"tier_grace_until": today + timedelta(days=programme.tier_grace_days)}
            if notify:
                emails.tier_at_risk_email(
                    customer=member.customer,
                    tier=member.tier.name,
                    until=formats.format_date(update["tier_grace_until"]),
                )
        elif member.tier_grace_until is None or member.tier_grace_until < today:
            update = {"tier_id": member.target_id, "tier_since": now, "tier_grace_until": None}
            upgrade = True
        else:
            continue  # within the grace period
        updates[tuple(sorted(update.items()))].append(member.pk)
        reached = tiers.get(member.target_id)
        if notify and upgrade and reached is not None and (current is None or reached.threshold > current):
            emails.tier_reached_email(
                customer=member.customer, tier=reached.name, benefits=reached.benefits, on=today.isoformat()
            )
        if upgrade:
            moves.append(
                TierChange(
                    member_id=member.pk, from_tier_id=member.tier_id, to_tier_id=member.target_id, changed_at=now
                )
            )
    for update, ids in updates.items():
        for chunk in range(0, len(ids), TIER_MOVES_BATCH):  # SQLite takes at most 32,766 parameters
            Member.objects.filter(pk__in=ids[chunk : chunk + TIER_MOVES_BATCH]).update(**dict(update))
    TierChange.objects.bulk_create(moves, batch_size=TIER_MOVES_BATCH)
    return len(moves)


# --- Reminders ----------------------------------------------------------------------------------


def points_expiry_remind(*, now: datetime | None = None) -> int:
    """Email every member whose points expire within the programme's reminder period, at most once
    a month each (the outbox's source key). Reads only those members (one grouped query)."""
    now = now or timezone.now()
    programme = selectors.programme_get()
    expiring = selectors.members_with_points_expiring(within_days=programme.reminder_days, now=now)
    month = timezone.localdate(now).strftime("%Y-%m")
    customers = Customer.objects.in_bulk([member_id for member_id, _points in expiring])
    for member_id, points in expiring:
        emails.points_expiring_email(
            customer=customers[member_id], points=points, days=programme.reminder_days, month=month
        )
    return len(expiring)
