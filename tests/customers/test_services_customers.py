"""customers.services for customers: an update says whether it changed anything, and one that
changed nothing saves nothing and publishes nothing."""

import pytest

from customers import services
from customers.models import AccountAssignment

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(alice):
    return CustomerFactory(account_manager=alice, name="Ana Aguilar", country="ES", tags=["vip"])


def test_update_with_the_values_it_has_changes_nothing_and_publishes_nothing(
    alice, customer, django_capture_on_commit_callbacks
):
    before = customer.updated_at

    with django_capture_on_commit_callbacks() as callbacks:
        customer, changed = services.customer_update(
            customer=customer, name="Ana Aguilar", country="ES", account_manager=alice, tags=["vip"]
        )

    assert changed is False
    assert callbacks == []
    customer.refresh_from_db()
    assert customer.updated_at == before


def test_update_of_one_field_saves_it_and_publishes_one_event(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        customer, changed = services.customer_update(customer=customer, name="Ana A.", country="ES")

    assert changed is True
    assert len(callbacks) == 1
    customer.refresh_from_db()
    assert (customer.name, customer.country) == ("Ana A.", "ES")


def test_update_of_the_tags_alone_is_a_change(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        _customer, changed = services.customer_update(customer=customer, tags=["vip", "b2b"])

    assert changed is True
    assert len(callbacks) == 1
    assert sorted(customer.tags.values_list("name", flat=True)) == ["b2b", "vip"]


def test_update_of_the_manager_alone_is_a_change_and_keeps_the_history(
    customer, bob, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        _customer, changed = services.customer_update(customer=customer, account_manager=bob)

    assert changed is True
    assert len(callbacks) == 2  # customer.reassigned and customer.updated
    assert AccountAssignment.objects.get(customer=customer, ended_at__isnull=True).manager == bob


def test_giving_consent_that_was_given_already_changes_nothing(customer):
    customer, _changed = services.customer_update(customer=customer, marketing_consent=True)
    given_at = customer.consent_at

    customer, changed = services.customer_update(customer=customer, marketing_consent=True, consent_at=None)

    assert changed is False
    assert customer.consent_at == given_at
