"""Admin pages for follow-ups and snoozes. Their state changes go through the services (the screens
and the API); the admin reads, and may correct a note or a date."""

from django.contrib import admin

from .models import FollowUp, WorklistSnooze


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "assigned_to", "due_at", "state", "created_by", "created_at", "done_at"]
    list_filter = ["state", "assigned_to"]
    list_select_related = ["customer", "assigned_to", "created_by"]
    raw_id_fields = ["customer", "assigned_to", "created_by"]
    search_fields = ["customer__external_id", "customer__name", "note"]
    date_hierarchy = "due_at"
    # State moves (and their timestamps, which a constraint ties to the state) belong to the services.
    readonly_fields = ["state", "done_at", "cancelled_at", "key", "created_by", "created_at"]
    show_full_result_count = False


@admin.register(WorklistSnooze)
class WorklistSnoozeAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "user", "until", "reason", "created_by", "created_at", "ended_at"]
    list_filter = ["user"]
    list_select_related = ["customer", "user", "created_by"]
    raw_id_fields = ["customer", "user", "created_by"]
    search_fields = ["customer__external_id", "customer__name", "reason"]
    readonly_fields = ["created_by", "created_at"]
    show_full_result_count = False
