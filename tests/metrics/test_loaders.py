"""The recompute's loaders: the day totals read over several connections (PostgreSQL) equal one read;
assignments and upsell days (binary COPY on PostgreSQL, the ORM elsewhere) in the workspace's time;
the SQL daily frame and upsell days agree with the pure functions of metrics.analytics."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from django.test import override_settings

from customers.models import AccountAssignment, CustomerUpsell, OrderLine
from metrics.analytics import daily_from_orders, upsell_rate
from metrics.selectors import assignment_frame, customer_daily_frame, customer_upsell_days
from tests.customers.factories import CustomerFactory, ProductFactory

from .conftest import SIMULATED_AS_OF, at_noon, order_on, simulate_workspace


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


@pytest.mark.django_db
def test_sql_daily_frame_equals_the_pure_daily_frame():
    customers = [CustomerFactory() for _ in range(3)]
    amounts = ["10.00", "-4.50", "7.25", "0.00", "99.99"]
    for i, customer in enumerate(customers):
        for j, amount in enumerate(amounts[i:]):
            order_on(customer, date(2024, 1, 1) + timedelta(days=j // 2), amount)

    loaded = customer_daily_frame(as_of=date(2024, 6, 30))

    orders = pd.DataFrame(
        [
            (o.customer_id, pd.Timestamp(o.ordered_at.date()), float(o.net_amount))
            for c in customers
            for o in c.orders.all()
        ],
        columns=["customer_id", "ordered_at", "amount"],
    )
    expected = daily_from_orders(orders)
    loaded = loaded.sort_values(["customer_id", "day"], ignore_index=True)
    pd.testing.assert_frame_equal(loaded, expected, check_dtype=False)


@pytest.mark.django_db
def test_upsell_days_from_sql_give_the_analytics_upsell_rate():
    rng = np.random.default_rng(2)
    products = [ProductFactory() for _ in range(5)]
    lines = []
    for _ in range(40):
        customer = CustomerFactory()
        for _k in range(int(rng.integers(1, 5))):
            day = date(2024, 1, 1) + timedelta(days=int(rng.integers(0, 150)))
            amount = Decimal("-5.00") if rng.random() < 0.1 else Decimal("12.00")
            order = order_on(customer, day, amount)
            for number, index in enumerate(rng.choice(5, size=int(rng.integers(1, 3)), replace=False), start=1):
                product = products[int(index)]
                OrderLine.objects.create(
                    order=order, line_number=number, product=product, quantity=1, unit_price=abs(amount), amount=amount
                )
                lines.append((customer.pk, pd.Timestamp(at_noon(day)).tz_localize(None), product.pk, float(amount)))
    frame = pd.DataFrame(lines, columns=["customer_id", "ordered_at", "product_id", "amount"])

    for as_of in (date(2024, 2, 15), date(2024, 4, 1), date(2024, 6, 30)):
        upsold = customer_upsell_days(as_of=as_of)
        expected = upsell_rate(frame, as_of=pd.Timestamp(as_of) + pd.Timedelta(hours=23))
        assert int((upsold <= pd.Timestamp(as_of)).sum()) == expected.numerator, as_of
