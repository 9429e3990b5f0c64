"""Admin pages of segments: read-only. Definitions are written in the builder (or the API), which
checks them; memberships, events and sizes are written by the refresh only."""

from django.contrib import admin

from .models import Segment, SegmentEvent, SegmentMembership, SegmentSizeHistory


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Segment)
class SegmentAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "key", "is_active", "member_count", "refreshed_at", "created_by"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "key"]

    def has_delete_permission(self, request, obj=None):
        # Deleting here would skip the check that no other segment reads this one.
        return False


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(ReadOnlyAdmin):
    list_display = ["segment", "customer", "entered_at", "exited_at"]
    list_filter = ["segment"]
    list_select_related = ["segment", "customer"]
    raw_id_fields = ["segment", "customer"]
    search_fields = ["customer__external_id"]
    # Millions of rows: no full count on every page load.
    show_full_result_count = False


@admin.register(SegmentEvent)
class SegmentEventAdmin(ReadOnlyAdmin):
    list_display = ["segment", "customer", "kind", "at"]
    list_filter = ["kind", "segment"]
    list_select_related = ["segment", "customer"]
    raw_id_fields = ["segment", "customer"]
    show_full_result_count = False


@admin.register(SegmentSizeHistory)
class SegmentSizeHistoryAdmin(ReadOnlyAdmin):
    list_display = ["segment", "at", "size"]
    list_filter = ["segment"]
