"""The user's roles in every template (the navigation shows each role its pages)."""

from django.http import HttpRequest

from . import roles as role_checks


def roles(request: HttpRequest) -> dict:
    user = request.user
    return {
        "is_administrator": role_checks.is_administrator(user),
        "is_account_manager": role_checks.is_account_manager(user),
        "is_marketer": role_checks.is_marketer(user),
    }
