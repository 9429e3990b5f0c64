"""Fixtures of the worklist, follow-up and book tests."""

import pytest

from .worklist_helpers import book_customer, metrics_for


@pytest.fixture
def alices_customer(alice):
    """A customer of alice's book, high value and at a rising risk."""
    customer = book_customer(alice, name="Warung Sari")
    metrics_for(customer, churn_risk=0.72, previous=0.35, value="high")
    return customer
