"""The three roles, as Django groups, and the questions the rest of the code asks of them."""

from django.contrib.auth.models import Group

ADMINISTRATOR = "Administrator"
ACCOUNT_MANAGER = "Account manager"
MARKETER = "Marketer"
ALL_ROLES = (ADMINISTRATOR, ACCOUNT_MANAGER, MARKETER)


def _groups(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return cached


def is_administrator(user) -> bool:
    return user.is_authenticated and (user.is_superuser or ADMINISTRATOR in _groups(user))


def is_account_manager(user) -> bool:
    return ACCOUNT_MANAGER in _groups(user)


def is_marketer(user) -> bool:
    return MARKETER in _groups(user)


def roles_ensure() -> None:
    for name in ALL_ROLES:
        Group.objects.get_or_create(name=name)
