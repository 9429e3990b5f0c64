"""The worklist signal of the loyalty programme: a valuable customer about to lose their tier.

Registered with ``retention_crm.worklist_signals`` from ``LoyaltyConfig.ready()``. A member in the
grace period of a downgrade (``Member.tier_grace_until`` set) whose value level is high or medium:
an account manager's call before the date can keep them in the tier.
"""

from datetime import date

from django.db.models import Case, F, FloatField, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from retention_crm import formats, worklist_signals

VALUABLE = ("high", "medium")


class TierLossSignal:
    key = "tier_loss"
    weight = 0.3

    def annotate(self, queryset: QuerySet, *, today: date) -> QuerySet:
        return queryset.annotate(
            wl_tier_loss_until=F("loyalty_member__tier_grace_until"),
            wl_tier_loss_tier=F("loyalty_member__tier__name"),
            wl_tier_loss_value=F("metrics__value_level"),
        )

    def score(self):
        return Case(When(self.has_reason(), then=Value(1.0)), default=Value(0.0), output_field=FloatField())

    def has_reason(self) -> Q:
        return Q(wl_tier_loss_until__isnull=False, wl_tier_loss_tier__isnull=False, wl_tier_loss_value__in=VALUABLE)

    def reasons(self, row) -> list[str]:
        until, tier = row.wl_tier_loss_until, row.wl_tier_loss_tier
        if until is None or tier is None or row.wl_tier_loss_value not in VALUABLE:
            return []
        return [_("Loses the %(tier)s tier after %(date)s.") % {"tier": tier, "date": formats.format_date(until)}]


def register() -> None:
    worklist_signals.register(TierLossSignal())
