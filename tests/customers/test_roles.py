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
