"""A customer's row refreshed after an order, with the current model and the last run's cut points."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.services import order_record, order_refund
from metrics.models import METRIC_FIELDS, CustomerMetrics
from metrics.services import metrics_recompute, metrics_refresh_customer
from tests.customers.factories import CustomerFactory, ProductFactory

from .conftest import order_on, simulate_workspace

pytestmark = pytest.mark.django_db

COMPARED = [f for f in METRIC_FIELDS if f != "updated_at"]


@pytest.fixture
def recent_workspace(db):
    """The simulated workspace shifted so that its as_of is today: refreshes compute as of today."""
    customers = simulate_workspace(customers=200, as_of=timezone.localdate())
    metrics_recompute(as_of=timezone.localdate())
    return customers


def _values(customer_id) -> dict:
    return CustomerMetrics.objects.filter(customer_id=customer_id).values(*COMPARED, "previous_churn_risk").get()


def test_refresh_of_unchanged_data_gives_the_recompute_figures(recent_workspace):
    before = {customer.pk: _values(customer.pk) for customer in recent_workspace}

    for customer in recent_workspace:
        metrics_refresh_customer(customer_id=customer.pk)

    after = {customer.pk: _values(customer.pk) for customer in recent_workspace}
    assert after == before


def test_a_new_order_refreshes_the_customer_through_the_event(recent_workspace, django_capture_on_commit_callbacks):
    customer = next(c for c in recent_workspace if CustomerMetrics.objects.get(customer=c).recency_days > 20)
    before = CustomerMetrics.objects.get(customer=customer)

    with django_capture_on_commit_callbacks(execute=True):
        order_record(
            external_id="NEW-1",
            customer=customer,
            ordered_at=timezone.now(),
            lines=[{"sku": ProductFactory().sku, "quantity": 2, "unit_price": Decimal("25.00")}],
        )

    after = CustomerMetrics.objects.get(customer=customer)
    assert after.purchases == before.purchases + 1
    assert (after.last_purchase, after.recency_days) == (timezone.localdate(), 0)
    assert after.net_revenue == before.net_revenue + 50
    assert after.churn_risk < before.churn_risk
    assert after.previous_churn_risk == before.previous_churn_risk  # the last recompute's, untouched
    assert after.model_version_id == before.model_version_id


def test_a_refund_refreshes_the_customer_through_the_event(recent_workspace, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        order = order_record(
            external_id="NEW-2",
            customer=customer,
            ordered_at=timezone.now() - timedelta(days=3),
            lines=[{"sku": ProductFactory().sku, "quantity": 1, "unit_price": Decimal("80.00")}],
        )
    assert CustomerMetrics.objects.get(customer=customer).purchases == 1

    with django_capture_on_commit_callbacks(execute=True):
        order_refund(order=order)

    row = CustomerMetrics.objects.get(customer=customer)
    assert (row.purchases, row.net_revenue, row.churn_risk, row.rfm_segment) == (0, 0, None, "")


def test_refresh_before_any_recompute_stores_what_needs_no_model(db):
    customer = CustomerFactory()
    order_on(customer, timezone.localdate() - timedelta(days=10), "30.00")
    order_on(customer, timezone.localdate() - timedelta(days=4), "20.00")

    row = metrics_refresh_customer(customer_id=customer.pk)

    assert (row.purchases, row.recency_days, row.usual_interval_days, row.net_revenue) == (2, 4, 6.0, Decimal("50.00"))
    assert (row.churn_risk, row.r_score, row.rfm_segment, row.model_version) == (None, None, "", None)
    assert CustomerMetrics.objects.get(customer=customer).purchases == 2


def test_refresh_of_a_deleted_customer_does_nothing(db):
    assert metrics_refresh_customer(customer_id=987654) is None
    assert not CustomerMetrics.objects.exists()
