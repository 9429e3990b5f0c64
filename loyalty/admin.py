"""Admin pages of the programme (marketers edit the settings, earning rules, tiers, rewards and
contests on the programme pages, loyalty.programme_views, which check what they are given and keep
the settings' history).
Members, the ledger and redemptions are read only: points move through the services (the API, the
customer page's card), never by editing a row."""

from django.contrib import admin

from .models import (
    Contest,
    EarningRule,
    LedgerEntry,
    Member,
    Programme,
    ProgrammeChange,
    Redemption,
    ReferralCode,
    Reward,
    Tier,
)


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ["name", "expiry_days", "reminder_days", "point_value", "tier_basis", "tier_window"]

    # Read here, changed on the settings page (/loyalty/settings/): checked, and with its history.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EarningRule)
class EarningRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "value", "sku", "category", "starts_at", "ends_at"]
    list_filter = ["kind"]


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["name", "threshold", "discount_percent", "earn_multiplier"]


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ["name", "points_cost", "stock", "per_customer_limit", "valid_from", "valid_until", "active"]
    list_filter = ["active"]


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Member)
class MemberAdmin(ReadOnlyAdmin):
    list_display = ["customer", "points", "tier", "tier_grace_until", "enrolled_at"]
    list_select_related = ["customer", "tier"]
    search_fields = ["customer__external_id", "customer__name"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "member", "kind", "source", "points", "reason", "order", "occurred_at"]
    list_filter = ["kind", "source"]
    list_select_related = ["order"]
    search_fields = ["member__customer__external_id"]


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ["code", "member", "reward", "points", "created_at", "used_at"]
    list_select_related = ["reward"]
    search_fields = ["code", "member__customer__external_id"]


@admin.register(ProgrammeChange)
class ProgrammeChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "field", "old_value", "new_value", "changed_by"]
    list_select_related = ["changed_by"]


@admin.register(ReferralCode)
class ReferralCodeAdmin(ReadOnlyAdmin):
    list_display = ["code", "customer", "visits", "last_visit_at", "created_at"]
    list_select_related = ["customer"]
    search_fields = ["code", "customer__external_id"]


@admin.register(Contest)
class ContestAdmin(ReadOnlyAdmin):
    """Contests are created and drawn on the programme's pages (loyalty.contests checks them and
    keeps a drawn contest as it is); here they are read."""

    list_display = ["name", "starts_at", "ends_at", "entry_rule", "winners_count", "seed", "drawn_at"]
