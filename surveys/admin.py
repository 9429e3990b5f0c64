"""Admin pages of surveys. Surveys and questions are built on the builder's pages (which check the
rules); here they can be looked at and switched off. Invitations and responses are read only.

Anonymity holds here too: an anonymous response shows no person, invitation, instant or key (those
are empty in the row, and ``anon_key`` is never a field of these pages), responses are listed by
day and random id (no order of arrival), and an anonymous survey's invitations do not say who
answered.
"""

from django.contrib import admin

from .models import Invitation, Question, Response, Survey


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ["position", "kind", "texts", "required", "show_min", "show_max"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "audience", "anonymous", "status", "recurrence", "last_sent_at"]
    list_filter = ["kind", "audience", "status"]
    readonly_fields = ["kind", "audience", "anonymous", "last_sent_at", "created_by", "created_at"]
    inlines = [QuestionInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["id", "survey", "wave", "language", "created_at", "sent_at", "reminded_at", "delivered"]
    list_filter = ["survey"]
    fields = ["survey", "customer", "employee", "wave", "language", "created_at", "sent_at", "reminded_at"]
    fields += ["delivered"]
    raw_id_fields = ["customer", "employee"]


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = ["answered_on", "survey", "score", "is_detractor", "language", "source"]
    list_filter = ["survey", "is_detractor"]
    ordering = ["-answered_on", "id"]
    fields = ["survey", "anonymous", "customer", "team", "language", "score", "answers", "comment"]
    fields += ["is_detractor", "source", "answered_on", "followup_id"]

    def get_fields(self, request, obj=None):
        if obj is not None and obj.anonymous:
            return ["survey", "anonymous", "team", "language", "score", "answers", "comment", "answered_on"]
        return [*self.fields, "employee", "invitation", "answered_at"]
