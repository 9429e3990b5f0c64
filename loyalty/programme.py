"""The programme's settings as marketers edit them: earning rules, tiers and rewards.

Each write checks its values with a reason a marketer can act on (``*_check`` raise a
``ValidationError`` by field), before the database's constraints would refuse them with a generic
message. A rule in force is never edited in place: a change is a new rule from its effective date
and the old one ends then (docs/loyalty.md, "Earning"), so the orders already placed keep earning
by the rules of their time.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import roles

from .models import EarningRule, Programme, ProgrammeChange, Reward, Tier

# Beyond these a value is a typing slip, not a policy: 1,000 points per currency unit already gives
# 100,000 points for a 100 order; a x100 multiplier or a million-point bonus is no promotion anyone runs.
MAX_POINTS_PER_UNIT = Decimal(1000)
MAX_MULTIPLIER = Decimal(100)
MAX_BONUS_POINTS = Decimal(1_000_000)
MAX_TIER_MULTIPLIER = Decimal(10)
MAX_REWARD_POINTS = 100_000_000
# Ten years: points that last longer, a grace period or a wait longer, is a typo.
MAX_DAYS = 3650
MAX_POINT_VALUE = Decimal(1000)

# The settings a marketer edits on the settings page, in its order (and the history's).
PROGRAMME_SETTINGS = [
    "name",
    "point_value",
    "expiry_days",
    "reminder_days",
    "tier_basis",
    "tier_window",
    "tier_grace_days",
    "referral_reward_points",
    "referred_reward_points",
    "referral_wait_days",
    "shop_url",
    "birthday_bonus_points",
]


def programme_manageable_by(user) -> bool:
    """Marketers and administrators run the programme (its rules, tiers, rewards and results)."""
    return roles.is_administrator(user) or roles.is_marketer(user)


def earning_rule_check(
    *, kind: str, value: Decimal | None, sku: str, category: str, starts_at: datetime | None, ends_at: datetime | None
) -> None:
    errors: dict[str, list[str]] = {}
    if value is not None:
        if value < 0:
            errors["value"] = [_("A rule never awards negative points: enter 0 or more.")]
        elif kind == EarningRule.Kind.BASE and value > MAX_POINTS_PER_UNIT:
            errors["value"] = [_("At most %(max)s points per currency unit.") % {"max": MAX_POINTS_PER_UNIT}]
        elif kind in EarningRule.MULTIPLIER_KINDS and value > MAX_MULTIPLIER:
            errors["value"] = [_("A multiplier of at most %(max)s.") % {"max": MAX_MULTIPLIER}]
        elif kind in EarningRule.BONUS_KINDS and (value > MAX_BONUS_POINTS or value != value.to_integral_value()):
            errors["value"] = [_("A bonus is a whole number of points, at most %(max)s.") % {"max": MAX_BONUS_POINTS}]
    if kind == EarningRule.Kind.PRODUCT and not sku.strip():
        errors["sku"] = [_("A product multiplier names the product's SKU.")]
    if kind == EarningRule.Kind.CATEGORY and not category.strip():
        errors["category"] = [_("A category multiplier names the category.")]
    if starts_at and ends_at and ends_at <= starts_at:
        errors["ends_at"] = [_("The rule must end after it starts.")]
    if errors:
        raise ValidationError(errors)


def _rule_check(rule: EarningRule) -> None:
    earning_rule_check(
        kind=rule.kind,
        value=rule.value,
        sku=rule.sku,
        category=rule.category,
        starts_at=rule.starts_at,
        ends_at=rule.ends_at,
    )


def earning_rule_create(*, rule: EarningRule) -> EarningRule:
    _rule_check(rule)
    rule.save()
    return rule


def earning_rule_in_force(rule: EarningRule, *, now: datetime | None = None) -> bool:
    """Whether orders may already have earned by ``rule`` (it started): then it is only changed
    from a date on, never rewritten."""
    return rule.pk is not None and rule.starts_at <= (now or timezone.now())


@transaction.atomic
def earning_rule_change(*, rule: EarningRule, changes: dict, now: datetime | None = None) -> tuple[EarningRule, bool]:
    """Apply ``changes`` (field: value) to ``rule``. A rule not yet in force is edited; one in
    force ends at the change's ``starts_at`` (now or later) and a new rule carries on from then.
    Returns the rule that applies from then on, and whether anything changed."""
    now = now or timezone.now()
    current = EarningRule.objects.select_for_update().get(pk=rule.pk)
    if not earning_rule_in_force(current, now=now):
        for field, value in changes.items():
            setattr(current, field, value)
        _rule_check(current)
        current.save()
        return current, True
    effective = changes.get("starts_at") or now
    # The minute a browser's date field holds: "now" typed a few seconds ago is still now.
    if effective < now.replace(second=0, microsecond=0):
        raise ValidationError(
            {"starts_at": [_("A rule in force changes from now or a later date: past orders keep their points.")]}
        )
    if current.ends_at is not None and effective >= current.ends_at:
        raise ValidationError({"starts_at": [_("The rule has ended by then: create a new rule instead.")]})
    kept = ("name", "value", "sku", "category", "ends_at")
    if all(changes.get(field, getattr(current, field)) == getattr(current, field) for field in kept):
        return current, False  # nothing but the date: no new rule
    successor = EarningRule(
        kind=current.kind,
        name=changes.get("name", current.name),
        value=changes.get("value", current.value),
        sku=changes.get("sku", current.sku),
        category=changes.get("category", current.category),
        starts_at=effective,
        ends_at=changes.get("ends_at", current.ends_at),
    )
    _rule_check(successor)
    current.ends_at = effective
    if current.ends_at <= current.starts_at:  # changed in the very minute it started: it never applied
        current.delete()
    else:
        current.save(update_fields=["ends_at"])
    successor.save()
    return successor, True


def tier_check(*, tier: Tier) -> None:
    errors: dict[str, list[str]] = {}
    if tier.threshold is not None and tier.threshold < 0:
        errors["threshold"] = [_("The threshold is 0 or more.")]
    elif Tier.objects.filter(threshold=tier.threshold).exclude(pk=tier.pk).exists():
        errors["threshold"] = [_("Another tier starts at this threshold: each tier needs its own.")]
    if tier.discount_percent is not None and not 0 <= tier.discount_percent <= 100:
        errors["discount_percent"] = [_("A discount between 0 and 100 per cent.")]
    if tier.earn_multiplier is not None and not 0 <= tier.earn_multiplier <= MAX_TIER_MULTIPLIER:
        errors["earn_multiplier"] = [_("An earning multiplier between 0 and %(max)s.") % {"max": MAX_TIER_MULTIPLIER}]
    if Tier.objects.filter(name__iexact=tier.name.strip()).exclude(pk=tier.pk).exists():
        errors["name"] = [_("Another tier has this name.")]
    if errors:
        raise ValidationError(errors)


def tier_save(*, tier: Tier) -> Tier:
    """Create or edit a tier; members move at the next tier refresh (after an order, or nightly)."""
    tier.name = tier.name.strip()
    tier_check(tier=tier)
    tier.save()
    return tier


def reward_check(*, reward: Reward) -> None:
    errors: dict[str, list[str]] = {}
    if reward.points_cost is not None and not 0 < reward.points_cost <= MAX_REWARD_POINTS:
        errors["points_cost"] = [_("A reward costs between 1 and %(max)s points.") % {"max": MAX_REWARD_POINTS}]
    if reward.per_customer_limit is not None and reward.per_customer_limit < 1:
        errors["per_customer_limit"] = [_("Leave the limit empty for none, or allow at least 1.")]
    if reward.code_valid_days is not None and reward.code_valid_days < 1:
        errors["code_valid_days"] = [_("A code is valid for at least 1 day.")]
    if reward.valid_from and reward.valid_until and reward.valid_until <= reward.valid_from:
        errors["valid_until"] = [_("The reward must be available until a date after it becomes available.")]
    if errors:
        raise ValidationError(errors)


def reward_save(*, reward: Reward) -> Reward:
    """Create or edit a reward: redemptions already made keep their points and codes."""
    reward_check(reward=reward)
    reward.save()
    return reward


def programme_check(*, programme: Programme) -> None:
    """The programme's settings, each refused with what is wrong."""
    errors: dict[str, list[str]] = {}
    if not (programme.name or "").strip():
        errors["name"] = [_("Give the programme a name.")]
    if programme.point_value is not None and not 0 <= programme.point_value <= MAX_POINT_VALUE:
        errors["point_value"] = [_("A point is worth between 0 and %(max)s.") % {"max": MAX_POINT_VALUE}]
    if programme.expiry_days is not None and not 1 <= programme.expiry_days <= MAX_DAYS:
        errors["expiry_days"] = [
            _("Points expire after 1 to %(max)s days; leave it empty for never.") % {"max": MAX_DAYS}
        ]
    if programme.reminder_days is not None:
        if not 1 <= programme.reminder_days <= 365:
            errors["reminder_days"] = [_("Remind between 1 and 365 days before points expire.")]
        elif programme.expiry_days and programme.reminder_days >= programme.expiry_days:
            errors["reminder_days"] = [_("The reminder must come before the points expire: fewer days than that.")]
    if programme.tier_grace_days is not None and programme.tier_grace_days > MAX_DAYS:
        errors["tier_grace_days"] = [_("A grace period of at most %(max)s days.") % {"max": MAX_DAYS}]
    for field in ("referral_reward_points", "referred_reward_points", "birthday_bonus_points"):
        value = getattr(programme, field)
        if value is not None and not 0 <= value <= MAX_BONUS_POINTS:
            errors[field] = [_("Between 0 and %(max)s points.") % {"max": MAX_BONUS_POINTS}]
    if programme.referral_wait_days is not None and not 1 <= programme.referral_wait_days <= 365:
        errors["referral_wait_days"] = [_("Wait between 1 and 365 days (the time a refund can come in).")]
    if programme.shop_url and not programme.shop_url.lower().startswith(("https://", "http://")):
        errors["shop_url"] = [_("The shop's address starts with https:// or http://.")]
    if errors:
        raise ValidationError(errors)


def _shown(programme: Programme, field: str) -> str:
    value = getattr(programme, field)
    if isinstance(value, Decimal):  # as stored: 0.05 and 0.0500 are one value
        value = value.quantize(Decimal(1).scaleb(-Programme._meta.get_field(field).decimal_places))
    return "" if value is None else str(value)


@transaction.atomic
def programme_settings_update(*, changes: dict, user) -> list[ProgrammeChange]:
    """Apply ``changes`` (setting: value) to the programme, checked, and record who changed which
    setting from what to what. Returns the changes recorded (none when nothing changed)."""
    unknown = set(changes) - set(PROGRAMME_SETTINGS)
    if unknown:
        raise ValidationError(_("Unknown settings: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    Programme.objects.get_or_create(pk=1)
    current = Programme.objects.select_for_update().get(pk=1)
    before = {field: _shown(current, field) for field in PROGRAMME_SETTINGS}
    for field, value in changes.items():
        setattr(current, field, value.strip() if isinstance(value, str) else value)
    programme_check(programme=current)
    now = timezone.now()
    recorded = [
        ProgrammeChange(
            field=field,
            old_value=before[field][:250],
            new_value=_shown(current, field)[:250],
            changed_by=user,
            changed_at=now,
        )
        for field in PROGRAMME_SETTINGS
        if _shown(current, field) != before[field]
    ]
    if recorded:
        current.save()
        ProgrammeChange.objects.bulk_create(recorded)
    return recorded
