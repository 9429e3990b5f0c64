"""Rewards bought with points, and the single-use codes the shop checks and marks used.

A redemption is one transaction: the member's row is locked first (so their redemptions queue up
and the balance and per-customer limit are read under the lock), then the reward's stock is taken
with a conditional ``UPDATE ... SET stock = stock - 1 WHERE stock > 0`` (two redemptions of the last
item: one updates a row, the other none and is refused). Locks are always taken in that order,
member then reward, so two redemptions never deadlock.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from retention_crm import formats

from . import emails
from .models import LedgerEntry, Redemption, Reward
from .services import _entry_write, _member_locked, _timeline_note

# No 0/O, 1/I/L: a code is read aloud at a till and typed by hand. 31^10 codes: guessing one that
# exists is hopeless at any rate the API allows.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10


def code_new() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def code_normalise(code: str) -> str:
    raw = "".join(ch for ch in str(code).upper() if ch.isalnum())[:CODE_LENGTH]
    return f"{raw[:5]}-{raw[5:]}"


def _reward_available(reward: Reward, now: datetime) -> None:
    if not reward.active:
        raise ValidationError({"reward": _("This reward is no longer offered.")})
    if reward.valid_from and now < reward.valid_from:
        raise ValidationError({"reward": _("This reward is not available yet.")})
    if reward.valid_until and now >= reward.valid_until:
        raise ValidationError({"reward": _("This reward has expired.")})


@transaction.atomic
def reward_redeem(*, customer_id: int, reward_id: int, now: datetime | None = None) -> Redemption:
    """Buy a reward with a member's points: refused, with the ledger and stock unchanged, when the
    reward is unknown, not available, out of stock or over its limit, or the balance is short."""
    now = now or timezone.now()
    try:
        reward = Reward.objects.get(pk=reward_id)
    except (Reward.DoesNotExist, ValueError, TypeError):
        raise ValidationError({"reward": _("There is no such reward.")}) from None
    _reward_available(reward, now)
    member = _member_locked(customer_id)
    if member.points < reward.points_cost:
        raise ValidationError(
            _("This reward costs %(cost)s points and the balance is %(balance)s.")
            % {"cost": reward.points_cost, "balance": member.points}
        )
    if reward.per_customer_limit is not None:
        taken = Redemption.objects.filter(member=member, reward=reward).count()
        if taken >= reward.per_customer_limit:
            raise ValidationError(
                {
                    "reward": _("This reward can be redeemed %(limit)s times per customer.")
                    % {"limit": reward.per_customer_limit}
                }
            )
    if reward.stock is not None and not Reward.objects.filter(pk=reward.pk, stock__gt=0).update(stock=F("stock") - 1):
        raise ValidationError({"reward": _("This reward is out of stock.")})
    redemption = Redemption.objects.create(
        reward=reward,
        member=member,
        points=reward.points_cost,
        code=code_new(),
        created_at=now,
        code_expires_at=now + timedelta(days=reward.code_valid_days),
    )
    _entry_write(
        member,
        kind=LedgerEntry.Kind.REDEEM,
        source=LedgerEntry.Source.REWARD,
        points=-reward.points_cost,
        redemption=redemption,
        reason=reward.name[:200],
        occurred_at=now,
    )
    emails.reward_redeemed_email(
        customer=member.customer,
        redemption_id=redemption.pk,
        reward=reward.name,
        code=redemption.code,
        valid_until=formats.format_date(redemption.code_expires_at),
    )
    _timeline_note(
        member.customer,
        _("Reward redeemed for %(points)s points: %(reward)s") % {"points": reward.points_cost, "reward": reward.name},
        at=now,
    )
    return redemption


def code_problem(redemption: Redemption | None, now: datetime | None = None) -> str:
    """What stops a code being used ("" when nothing does)."""
    now = now or timezone.now()
    if redemption is None:
        return _("This code is unknown.")
    if redemption.used_at is not None:
        return _("This code was already used.")
    if now >= redemption.code_expires_at:
        return _("This code has expired.")
    return ""


def redemption_check(*, code: str, redemptions, now: datetime | None = None) -> tuple[Redemption | None, str]:
    """The redemption of a code among ``redemptions`` (the caller's visible ones) and what stops it
    being used ("" when it can be)."""
    redemption = redemptions.select_related("reward").filter(code=code_normalise(code)).first()
    return redemption, code_problem(redemption, now)


@transaction.atomic
def redemption_use(*, code: str, redemptions, now: datetime | None = None) -> Redemption:
    """Mark a code used, once: a conditional UPDATE, so two tills using it at once see one success."""
    now = now or timezone.now()
    redemption, problem = redemption_check(code=code, redemptions=redemptions, now=now)
    if problem:
        raise ValidationError({"code": problem})
    used = Redemption.objects.filter(pk=redemption.pk, used_at__isnull=True, code_expires_at__gt=now).update(
        used_at=now
    )
    if not used:
        raise ValidationError({"code": _("This code was already used.")})
    redemption.used_at = now
    return redemption
