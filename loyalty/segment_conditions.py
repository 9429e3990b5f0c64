"""Segment conditions on the loyalty programme: member or not, tier, balance, points expiring.

Data (``CONDITIONS``) that ``register_all`` adds to the neutral registry
``retention_crm.segment_conditions``, called from ``LoyaltyConfig.ready()`` (segmentation never
imports loyalty). Each compiles to a join or a set-based subquery, so a segment stays one statement.
"""

from datetime import timedelta

from django.db.models import Case, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from retention_crm import segment_conditions as sc

from .models import LedgerEntry, Member, Tier
from .selectors import SPENDING

RANGE_OPS = ("gt", "gte", "lt", "lte", "between")


def _member(value, days) -> Q:
    return Q(pk__in=Member.objects.values("pk"))


def _tier_choices():
    return [(tier.pk, tier.name) for tier in Tier.objects.order_by("threshold")]


def _points_expiring(having: Q, days: int | None):
    # As selectors.points_expiring, for every member at once: points whose expiry falls within the
    # window (those already due included) less every point spent, never below zero.
    until = timezone.now() + timedelta(days=days)
    due = Sum(Case(When(expires_at__lte=until, then="points"), default=Value(0)), output_field=IntegerField())
    spent = Sum(Case(When(SPENDING, then="points"), default=Value(0)), output_field=IntegerField())
    return (
        LedgerEntry.objects.values("member_id")
        .annotate(total=Greatest(Coalesce(due, 0) + Coalesce(spent, 0), Value(0)))
        .filter(having)
        .values("member_id")
    )


CONDITIONS: tuple[sc.Condition, ...] = (
    sc.Condition(key="loyalty.member", label=_("Loyalty member"), group="loyalty", value_type="boolean",
                 operators=("is_true", "is_false"), compile=sc.exists_compiler(_member)),
    sc.Condition(key="loyalty.tier", label=_("Loyalty tier"), group="loyalty", value_type="choice",
                 operators=("eq", "ne", "in", "not_in", "is_empty", "is_not_empty"), choices=_tier_choices,
                 compile=sc.field_compiler("loyalty_member__tier_id")),
    sc.Condition(key="loyalty.points", label=_("Points balance"), group="loyalty", value_type="integer",
                 operators=("eq", *RANGE_OPS), compile=sc.field_compiler("loyalty_member__points"), min_value=0),
    sc.Condition(key="loyalty.points_expiring", label=_("Points expiring"), group="loyalty", value_type="integer",
                 operators=("gt", "gte", "lte", "between"), compile=sc.aggregate_compiler(_points_expiring),
                 window="required", window_label=_("Points expiring"), min_value=0,
                 help_text=_("Points that expire within the days given, oldest first, after what was spent.")),
)  # fmt: skip


def register_all() -> None:
    """Called from LoyaltyConfig.ready(); registering again replaces, so it is safe twice."""
    sc.register_group("loyalty", _("Loyalty"), order=40)
    for condition in CONDITIONS:
        sc.register(condition)
