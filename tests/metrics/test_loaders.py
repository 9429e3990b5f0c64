"""The recompute's loaders: the day totals read over several connections (PostgreSQL) equal one read;
assignments and upsell days (binary COPY on PostgreSQL, the ORM elsewhere) in the workspace's time."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from django.test import override_settings

from customers.models import AccountAssignment, CustomerUpsell
from metrics.selectors import assignment_frame, customer_daily_frame, customer_upsell_days
from tests.customers.factories import CustomerFactory

from .conftest import SIMULATED_AS_OF, simulate_workspace


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_day_totals_read_in_parts_equal_one_read():
    simulate_workspace(customers=90)

    with override_settings(METRICS_LOAD_THREADS=1):
        whole = customer_daily_frame(as_of=SIMULATED_AS_OF)
    with override_settings(METRICS_LOAD_THREADS=3):
        parts = customer_daily_frame(as_of=SIMULATED_AS_OF)

    assert len(whole) > 300 and whole["customer_id"].nunique() > 50
    pd.testing.assert_frame_equal(parts, whole)
    key = whole["customer_id"].to_numpy() * 100_000 + whole["day"].to_numpy().astype("datetime64[D]").astype(int)
    assert np.all(np.diff(key) > 0)  # by customer, then day


@pytest.mark.django_db
@override_settings(TIME_ZONE="Asia/Jakarta")
def test_assignments_and_upsell_days_by_binary_copy_are_wall_clock_times_of_the_workspace(alice, bob):
    jakarta = ZoneInfo("Asia/Jakarta")
    first, second = CustomerFactory(), CustomerFactory()
    AccountAssignment.objects.create(
        customer=first,
        manager=alice,
        started_at=datetime(2024, 1, 31, 20, 30, tzinfo=ZoneInfo("UTC")),  # 1 February 03:30 in Jakarta
        ended_at=datetime(2024, 3, 1, 9, 0, 0, 123456, tzinfo=jakarta),
    )
    AccountAssignment.objects.create(customer=first, manager=bob, started_at=datetime(2024, 3, 1, 9, 0, tzinfo=jakarta))
    CustomerUpsell.objects.create(customer=second, day=date(2024, 5, 6))

    frame = assignment_frame().sort_values("started_at", ignore_index=True)

    assert frame["customer_id"].tolist() == [first.pk, first.pk]
    assert frame["manager_id"].tolist() == [alice.pk, bob.pk]
    assert frame["started_at"].tolist() == [pd.Timestamp("2024-02-01 03:30"), pd.Timestamp("2024-03-01 09:00")]
    assert frame["ended_at"].iloc[0] == pd.Timestamp("2024-03-01 09:00:00.123456")
    assert pd.isna(frame["ended_at"].iloc[1])  # still open
    assert str(frame["started_at"].dtype) == "datetime64[us]"

    upsold = customer_upsell_days(as_of=date(2024, 5, 6))
    assert upsold.to_dict() == {second.pk: pd.Timestamp("2024-05-06")}
    assert customer_upsell_days(as_of=date(2024, 5, 5)).empty
