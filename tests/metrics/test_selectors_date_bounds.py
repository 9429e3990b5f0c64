"""The analytics stay bounded when old data holds an order outside retention_crm.dates' window (a
row from before the CHECK constraints): the loaders read days from 1970 to as_of only, so a year-1
and a year-9999 order change no figure, and the dashboard stays as small as without them."""

import json

import pytest
from django.db import connection
from django.urls import reverse

from customers.models import Order
from customers.rollups import customer_rollups_refresh
from metrics.models import MetricSnapshot
from metrics.services import metrics_recompute

from .conftest import SIMULATED_AS_OF, simulate_workspace

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="drops a PostgreSQL constraint to stage old rows"),
]


def _snapshots() -> dict:
    return {(s.kind, s.scope): s.data for s in MetricSnapshot.objects.filter(as_of=SIMULATED_AS_OF)}


def _orders_outside_the_window(customer) -> None:
    """What an old database may hold: orders dated 0001-01-01 and 9999-12-31, written before the
    constraint existed (it is dropped inside the test's transaction, which is rolled back after)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE customers_order DROP CONSTRAINT order_ordered_at_in_range")
        for external_id, at in (("ANCIENT", "0001-01-01 12:00+00"), ("FAR", "9999-12-31 12:00+00")):
            cursor.execute(
                "INSERT INTO customers_order (external_id, customer_id, ordered_at, currency, kind, status, "
                "gross_amount, refunded_amount, created_at, updated_at) "
                "VALUES (%s, %s, %s, 'GBP', 'purchase', 'placed', 99, 0, now(), now())",
                [external_id, customer.pk, at],
            )
    customer_rollups_refresh([customer.pk])


def test_orders_of_year_1_and_9999_change_no_figure_and_keep_the_dashboard_small(client, ada):
    customers = simulate_workspace(customers=120)
    metrics_recompute(as_of=SIMULATED_AS_OF)
    before = _snapshots()
    client.force_login(ada)
    page_before = len(client.get(reverse("metrics:dashboard")).content)

    _orders_outside_the_window(customers[0])
    metrics_recompute(as_of=SIMULATED_AS_OF)

    assert Order.objects.filter(external_id__in=["ANCIENT", "FAR"]).count() == 2
    after = _snapshots()
    assert after == before
    assert len(json.dumps(after[("cohorts", "")])) < 20_000
    page = client.get(reverse("metrics:dashboard"))
    assert page.status_code == 200
    assert len(page.content) < page_before * 1.1
