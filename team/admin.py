from django.contrib import admin

from .models import ActionItem, Employee, Meeting, OneToOne, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "lead"]
    search_fields = ["name"]
    autocomplete_fields = ["lead"]


@admin.register(Employee)
class EmployeeAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "team", "language", "left_at"]
    list_filter = ["team", "language"]
    search_fields = ["name", "email"]
    autocomplete_fields = ["team", "user"]


# One-to-ones: the series, their meetings' dates and the action items. Private notes (PrivateNote)
# are deliberately not registered: no administrator reads what a lead or a person wrote for
# themselves (docs/team.md).
@admin.register(OneToOne)
class OneToOneAdmin(admin.ModelAdmin):
    list_display = ["lead", "person", "every_weeks", "ended_at"]
    list_filter = ["every_weeks"]
    autocomplete_fields = ["lead", "person"]


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    list_display = ["one_to_one", "scheduled_at", "held_at"]
    date_hierarchy = "scheduled_at"
    raw_id_fields = ["one_to_one"]


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["text", "one_to_one", "owner", "done_at"]
    raw_id_fields = ["one_to_one", "raised_in", "owner"]
