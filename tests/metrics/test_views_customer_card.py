"""The customer card's two probabilities in plain words (issue 13): "100% still active" next to
"79% churn risk" read as a contradiction; each now says what it means and which one to act on."""

import pytest
from django.urls import reverse

from tests.clients import client_for
from tests.customers.factories import CustomerFactory

from .test_views import metrics_create

pytestmark = pytest.mark.django_db


def test_the_card_explains_churn_risk_and_the_chance_they_have_not_left(alice):
    customer = CustomerFactory(account_manager=alice)
    metrics_create(customer, p_alive=1.0, churn_risk=0.79, purchases=1, usual_interval_days=None)

    html = client_for(alice).get(reverse("customers:detail", args=[customer.pk])).content.decode()

    assert "Probability still active" not in html
    assert "Chance they have not left for good" in html
    assert "It stays at 100% until a second purchase shows a rhythm" in html
    assert "the figure to act on, and what My book ranks by." in html
    assert "Only one purchase so far" in html
