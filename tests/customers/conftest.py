"""Fixtures the customers tests share: a customer in Alice's book and one in Bob's (the personas are
in tests/conftest.py). A test module that needs other customers defines its own fixtures of these
names."""

import pytest

from .factories import CustomerFactory


@pytest.fixture
def alices_customer(alice):
    return CustomerFactory(account_manager=alice, name="Ana Aguilar", country="ES", tags=["vip"])


@pytest.fixture
def bobs_customer(bob):
    return CustomerFactory(account_manager=bob, name="Budi Santoso", country="ID", language="id")
