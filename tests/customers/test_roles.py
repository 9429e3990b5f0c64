"""The one vocabulary of who sees what (customers.roles), asked by every app."""

import pytest

from customers import roles

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("persona", "expected"), [("ada", True), ("marta", True), ("alice", True), ("charlie", False)])
def test_has_any_role_is_true_for_the_three_roles_only(request, persona, expected):
    assert roles.has_any_role(request.getfixturevalue(persona)) is expected


@pytest.mark.parametrize(
    ("persona", "expected"), [("ada", True), ("marta", True), ("alice", False), ("charlie", False)]
)
def test_an_account_manager_sees_only_their_own_book_by_default(request, persona, expected):
    assert roles.sees_every_book(request.getfixturevalue(persona)) is expected


def test_an_account_manager_sees_every_book_when_the_setting_allows(settings, alice, charlie):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True

    assert roles.sees_every_book(alice) is True
    assert roles.sees_every_book(charlie) is False


def test_an_anonymous_visitor_has_no_role():
    from django.contrib.auth.models import AnonymousUser

    assert roles.has_any_role(AnonymousUser()) is False
    assert roles.sees_every_book(AnonymousUser()) is False


def test_after_migrate_the_administrators_hold_every_apps_permissions():
    """The roles are set once per migrate, on the last app's post_migrate: every app's permissions,
    the last app's included, have reached the administrators by then."""
    from django.contrib.auth.models import Group, Permission

    administrators = Group.objects.get(name=roles.ADMINISTRATOR)
    held = set(administrators.permissions.values_list("pk", flat=True))

    assert held == set(Permission.objects.values_list("pk", flat=True))
    assert administrators.permissions.filter(content_type__app_label="metrics").exists()


def test_the_roles_are_set_on_the_last_apps_post_migrate_only(monkeypatch):
    from django.apps import apps

    calls = []
    monkeypatch.setattr(roles, "roles_ensure", lambda: calls.append(True))
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]

    for config in with_models:
        roles.roles_ensure_after_migrate(sender=config)

    assert calls == [True]
