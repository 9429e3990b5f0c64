"""The three roles, as Django groups, and the questions the rest of the code asks of them.

This is the one vocabulary for who sees what: the other apps ask these functions, and
customers.selectors turns the answers into querysets (customer_visible_to). Nothing else reads
the groups or the ACCOUNT_MANAGERS_SEE_ALL_BOOKS setting behind them.
"""

from django.conf import settings
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


def has_any_role(user) -> bool:
    """Administrator, marketer or account manager: someone the CRM is for (anyone else sees nothing)."""
    return is_administrator(user) or is_marketer(user) or is_account_manager(user)


def sees_every_book(user) -> bool:
    """Whether ``user`` sees every customer, hence every book and the workspace's totals:
    administrators and marketers; account managers too when ACCOUNT_MANAGERS_SEE_ALL_BOOKS is on
    (otherwise an account manager sees their own book only)."""
    if is_administrator(user) or is_marketer(user):
        return True
    return is_account_manager(user) and settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS


def roles_ensure() -> None:
    """Create the three groups; administrators hold every permission, so the Django admin is theirs."""
    from django.contrib.auth.models import Permission

    for name in ALL_ROLES:
        Group.objects.get_or_create(name=name)
    Group.objects.get(name=ADMINISTRATOR).permissions.set(Permission.objects.all())


def roles_ensure_after_migrate(sender, **kwargs) -> None:
    """After every migrate (and flush), so that permissions of models added later reach the
    administrators too. post_migrate is sent once per app with models, in INSTALLED_APPS order, each
    after that app's permissions are made: the roles are set once, on the last app's."""
    from django.apps import apps

    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if with_models and sender.label == with_models[-1].label:
        roles_ensure()
