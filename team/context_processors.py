"""The team facts every page's navigation needs: whether the user takes part in one-to-ones, and
how many of those they lead are overdue (the in-app flag to the lead; the lead also gets one
reminder email per overdue meeting, sent by contact_plans/staff_reminders.py)."""

from django.http import HttpRequest

from . import selectors


def one_to_ones(request: HttpRequest) -> dict:
    employee = selectors.employee_of(request.user)
    if employee is None:
        return {"has_one_to_ones": False, "may_manage_team": selectors.may_manage_team(request.user)}
    return {
        "has_one_to_ones": True,
        "overdue_one_to_ones": selectors.overdue_meetings_for_lead(employee).count(),
        "may_manage_team": selectors.may_manage_team(request.user),
    }
