from django.contrib import admin

from .models import Employee, Team


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
