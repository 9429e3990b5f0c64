"""Referrals: each member's code and link, recording who referred a new customer, and the reward.

- A member's **code** (``ReferralCode``, made the first time it is asked for) is their link,
  ``/loyalty/r/<code>/`` (a public page that counts the visit and sends the visitor to the shop with
  ``?ref=<code>``), and what a shop passes to ``POST /api/v1/loyalty/referrals/`` once it has created
  the customer.
- **Recording** sets ``Customer.referred_by`` (what the segmentation's "influencers" read), through
  customers' own service. Refused with a reason: an unknown code, oneself (also a constraint of
  customers), a customer already referred by someone else, a loop (the referrer was referred,
  directly or further up, by the new customer), a customer who had already bought before.
- The **reward** (``referrals_reward``, daily, one statement for the whole base): once the referred
  customer's first purchase is ``Programme.referral_wait_days`` old and was neither refunded nor
  cancelled, the referrer earns ``referral_reward_points`` and the referred customer, when a member,
  ``referred_reward_points``. Their entries carry the keys ``referrer:<referred>`` and
  ``referred:<referred>``: unique in the ledger, so one person brings one reward, whoever retries,
  and whoever the referrer later becomes. A referral in a loop is never rewarded.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, Order
from customers.services import customer_update
from retention_crm import sql

from . import selectors
from .ledger_bulk import entries_insert_crediting
from .models import LedgerEntry, Member, ReferralCode

logger = logging.getLogger(__name__)

# Eight characters of an alphabet without look-alikes (0/O, 1/I/L): 31^8, about 850 billion codes.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
# How far up a chain of referrers the loop check looks (a chain longer than this is no person's).
MAX_CHAIN = 100

ENTRY = LedgerEntry._meta.db_table
MEMBER = Member._meta.db_table
CUSTOMER = Customer._meta.db_table
ORDER = Order._meta.db_table


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def referral_code_get(*, customer: Customer) -> ReferralCode:
    """The customer's referral code, made the first time (a collision draws again)."""
    existing = ReferralCode.objects.filter(customer=customer).first()
    if existing is not None:
        return existing
    for _attempt in range(5):
        try:
            with transaction.atomic():
                code, _created = ReferralCode.objects.get_or_create(customer=customer, defaults={"code": _new_code()})
                return code
        except IntegrityError:
            continue  # another code took this one: draw again
    raise RuntimeError("no free referral code after 5 draws")


def referral_path(code: str) -> str:
    return reverse("loyalty:referral_link", args=[code])


def normalise_code(code: str) -> str:
    return (code or "").strip().upper().replace("-", "").replace(" ", "")


def referral_link_visit(*, code: str) -> ReferralCode | None:
    """Count a visit of a referral link; None for an unknown code."""
    updated = ReferralCode.objects.filter(code=normalise_code(code))
    if not updated.update(visits=F("visits") + 1, last_visit_at=timezone.now()):
        return None
    return updated.select_related("customer").first()


def _referrer_chain(customer_id: int) -> list[int]:
    """The customer's referrer, that one's referrer, and so on (at most MAX_CHAIN), in one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH RECURSIVE chain(id, depth) AS (
                SELECT referred_by_id, 1 FROM {CUSTOMER} WHERE id = %s AND referred_by_id IS NOT NULL
                UNION ALL
                SELECT c.referred_by_id, chain.depth + 1 FROM {CUSTOMER} c JOIN chain ON c.id = chain.id
                WHERE c.referred_by_id IS NOT NULL AND chain.depth < %s
            ) SELECT id FROM chain""",  # noqa: S608 - table names only
            (customer_id, MAX_CHAIN),
        )
        return [row[0] for row in cursor.fetchall()]


@transaction.atomic
def referral_record(*, customer: Customer, code: str, at: datetime | None = None) -> Customer:
    """Record that ``customer`` came through the referral ``code``. Idempotent for the same code;
    every refusal is a ValidationError naming the field ("code" or "customer_id") and why."""
    at = at or timezone.now()
    referral = ReferralCode.objects.select_related("customer").filter(code=normalise_code(code)).first()
    if referral is None:
        raise ValidationError({"code": [_("This referral code is unknown.")]})
    referrer = referral.customer
    # Lock the new customer's row: two shops recording two codes for them see one succeed.
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if referrer.pk == customer.pk:
        raise ValidationError({"code": [_("A customer cannot refer themselves.")]})
    if customer.referred_by_id == referrer.pk:
        return customer
    if customer.referred_by_id is not None:
        raise ValidationError({"customer_id": [_("This customer was already referred by someone else.")]})
    if customer.pk in _referrer_chain(referrer.pk):
        raise ValidationError(
            {"code": [_("This would make a loop: the referrer was themselves referred by this customer.")]}
        )
    if Order.objects.filter(customer=customer, kind=Order.Kind.PURCHASE, ordered_at__lt=at).exists():
        raise ValidationError({"customer_id": [_("Only a new customer can be referred: this one has bought before.")]})
    customer, _changed = customer_update(customer=customer, referred_by=referrer)
    return customer


# --- The reward ---------------------------------------------------------------------------------

# The referred customer's first purchase is looked up per referral (an index on the customer's
# orders), then read by its id: the same plan as a lateral join, in SQL both databases speak.
_REWARD_SQL = f"""
INSERT INTO {ENTRY} (member_id, points, kind, source, reason, key, occurred_at, expires_at, created_at)
WITH referred AS (
    SELECT c.id AS referred_id, c.referred_by_id AS referrer_id,
        (SELECT o.id FROM {ORDER} o WHERE o.customer_id = c.id AND o.kind = 'purchase'
         ORDER BY o.ordered_at, o.id LIMIT 1) AS first_order_id
    FROM {CUSTOMER} c
    JOIN {MEMBER} rm ON rm.customer_id = c.referred_by_id
    JOIN {CUSTOMER} r ON r.id = c.referred_by_id
    WHERE c.referred_by_id IS NOT NULL AND c.archived_at IS NULL AND r.archived_at IS NULL
        AND (r.referred_by_id IS NULL OR r.referred_by_id <> c.id)
        AND NOT EXISTS (SELECT 1 FROM {ENTRY} e WHERE e.key = 'referrer:' || c.id)
), due AS (
    SELECT d.referred_id, d.referrer_id FROM referred d JOIN {ORDER} first ON first.id = d.first_order_id
    WHERE first.ordered_at <= %(until)s AND first.status = 'placed' AND first.refunded_amount = 0
), reward AS (
    SELECT d.referrer_id AS member_id, %(referrer_points)s AS points, %(referrer_reason)s AS reason,
        'referrer:' || d.referred_id AS key
    FROM due d WHERE %(referrer_points)s > 0
    UNION ALL
    SELECT d.referred_id, %(referred_points)s, %(referred_reason)s, 'referred:' || d.referred_id
    FROM due d JOIN {MEMBER} m ON m.customer_id = d.referred_id WHERE %(referred_points)s > 0
)
SELECT member_id, points, 'earn', 'referral', reason, key, %(now)s, %(expires)s, %(now)s FROM reward WHERE true
ON CONFLICT DO NOTHING
"""  # noqa: S608 - table names only


@transaction.atomic
def referrals_reward(*, now: datetime | None = None) -> int:
    """Reward every referral whose referred customer's first purchase has stood unrefunded for the
    programme's waiting days: one statement, idempotent. Returns the number of members credited."""
    now = now or timezone.now()
    programme = selectors.programme_get()
    if not (programme.referral_reward_points or programme.referred_reward_points):
        return 0
    expires = now + timedelta(days=programme.expiry_days) if programme.expiry_days else None
    credited = entries_insert_crediting(
        _REWARD_SQL,
        {
            "until": sql.db_datetime(now - timedelta(days=programme.referral_wait_days)),
            "now": sql.db_datetime(now),
            "expires": sql.db_datetime(expires),
            "referrer_points": programme.referral_reward_points,
            "referred_points": programme.referred_reward_points,
            "referrer_reason": _("Referral of a new customer"),
            "referred_reason": _("Welcome: you came through a referral"),
        },
    )
    logger.info("loyalty.referrals_rewarded members=%s", credited)
    return credited


# --- Reads ----------------------------------------------------------------------------------------


def member_referrals(*, customer_id: int) -> dict:
    """A member's referrals: how many customers they referred, how many were rewarded, the points."""
    referred = Customer.objects.filter(referred_by_id=customer_id).count()
    rewards = LedgerEntry.objects.filter(member_id=customer_id, source=LedgerEntry.Source.REFERRAL).filter(
        key__startswith="referrer:"
    )
    totals = rewards.aggregate(count=Count("pk"), points=Sum("points"))
    return {"referred": referred, "converted": totals["count"], "points": totals["points"] or 0}


def referral_results(*, start: datetime, end: datetime) -> dict:
    """Of the period: customers created with a referrer, referrals rewarded, points given for them."""
    referred = Customer.objects.filter(referred_by__isnull=False, created_at__gte=start, created_at__lt=end).count()
    given = LedgerEntry.objects.filter(
        source=LedgerEntry.Source.REFERRAL, occurred_at__gte=start, occurred_at__lt=end
    ).aggregate(
        converted=Count("pk", filter=Q(key__startswith="referrer:")),
        points=Sum("points"),
    )
    return {"referrals": referred, "referrals_converted": given["converted"], "referral_points": given["points"] or 0}
