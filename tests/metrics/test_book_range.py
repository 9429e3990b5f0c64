"""Book performance for a range the nightly run did not store (the API's custom ranges): computed
from what the rollups keep (the period's day totals, CustomerFirstPurchase), with the nightly run's
own function (metrics.analytics.book.period_activity) on the period's days, read from an index of
the days in the range, never the whole history, and kept until the stored sums are refreshed
(issue 12)."""

import json
import random
from datetime import date, timedelta

import pandas as pd
import pytest
from django.db import connection, transaction

from customers.models import CustomerDay
from metrics import selectors
from metrics.analytics import book, rates
from metrics.services.book import book_sums_refresh
from tests.customers.factories import CustomerFactory, OrderFactory, order_add_line

from .book_dataset import at, book_dataset

pytestmark = pytest.mark.django_db

WINDOW = 90
# Ranges of every length a book period may have, across month and year ends.
RANGES = [
    (date(2024, 1, 15), date(2024, 1, 16)),
    (date(2024, 1, 15), date(2024, 3, 10)),
    (date(2023, 12, 20), date(2024, 3, 31)),
    (date(2023, 11, 2), date(2024, 4, 1)),
    (date(2023, 6, 1), date(2024, 6, 1)),
]


@pytest.fixture
def random_days():
    """CustomerDay rows of 40 customers over 2023-2024: a purchase day, a day of refunds only (a
    negative amount, no purchase) or a day whose orders were cancelled (0, 0), with amounts in cents."""
    generator = random.Random(12)
    customers = CustomerFactory.create_batch(40)
    rows = []
    for customer in customers[:-3]:  # three customers without any order
        for day in sorted(generator.sample(range(730), generator.randint(1, 25))):
            kind = generator.random()
            amount = round(generator.uniform(-80, 400), 2) if kind < 0.8 else round(-generator.uniform(1, 50), 2)
            purchase = max(amount, 0.0) if kind < 0.8 else 0.0
            if kind > 0.95:
                amount = purchase = 0.0
            rows.append(
                CustomerDay(
                    customer=customer,
                    day=date(2023, 1, 1) + timedelta(days=day),
                    amount=amount,
                    purchase_amount=purchase,
                    orders=1,
                )
            )
    CustomerDay.objects.bulk_create(rows)
    return customers


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_the_periods_daily_frame_is_the_nightly_frames_rows_of_its_days_in_its_order(random_days, start, end):
    period = book.period_custom(start, end)
    whole = selectors.customer_daily_frame(as_of=date(2024, 12, 31))
    first = pd.Timestamp(book.period_first_day(period, window_days=WINDOW))

    daily = selectors.period_daily_frame(period, window_days=WINDOW)

    expected = whole[(whole["day"] >= first) & (whole["day"] <= pd.Timestamp(end))].reset_index(drop=True)
    assert len(daily) > 0
    pd.testing.assert_frame_equal(daily, expected)
    activity = book.period_activity(daily, period=period, window_days=WINDOW)
    from_whole = book.period_activity(whole, period=period, window_days=WINDOW)
    pd.testing.assert_frame_equal(activity, from_whole)  # to the last bit


def test_first_purchases_are_the_first_purchase_days_of_the_day_totals(alice, bob):
    book_dataset(alice, bob)
    daily = selectors.customer_daily_frame(as_of=date(2024, 12, 31))
    expected = daily[daily["purchase_amount"] > 0].groupby("customer_id")["day"].min()

    kept = selectors.first_purchases(up_to=date(2024, 12, 31))
    until_january = selectors.first_purchases(up_to=date(2024, 1, 31))

    assert len(expected) == 7 and kept.sort_index().to_dict() == expected.to_dict()
    assert until_january.sort_index().to_dict() == expected[expected <= pd.Timestamp("2024-01-31")].to_dict()
    assert len(until_january) == 6  # c5 first bought in February


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_a_custom_range_has_the_figures_of_period_rates_for_the_base_and_each_book(alice, bob, marta, start, end):
    book_dataset(alice, bob)
    period = book.period_custom(start, end)
    daily = selectors.period_daily_frame(period, window_days=WINDOW)
    membership = selectors.book_membership(period)

    report = selectors.book_performance(user=marta, period=period)

    begin, stop = pd.Timestamp(start), pd.Timestamp(end)
    for figures in [report.base] + [row.figures for row in report.rows]:
        rows = daily
        if figures.manager_id is not None:
            customers = membership.loc[membership["manager_id"] == figures.manager_id, "customer_id"]
            rows = daily[daily["customer_id"].isin(customers)]
        expected = rates.period_rates(rows, start=begin, end=stop, window_days=WINDOW)
        in_range = rows[(rows["day"] >= begin) & (rows["day"] < stop)]

        assert (figures.active_at_start, figures.retained) == (expected.active_at_start, expected.retained)
        assert figures.retention_rate == pytest.approx(expected.retention_rate)
        assert figures.net_revenue_retention == pytest.approx(expected.net_revenue_retention)
        assert figures.revenue == pytest.approx(in_range["amount"].sum())


def test_the_q1_range_has_the_figures_worked_out_by_hand(alice, bob, marta):
    book_dataset(alice, bob)

    report = selectors.book_performance(user=marta, period=book.period_custom(date(2024, 1, 1), date(2024, 4, 1)))

    alice_figures = next(row.figures for row in report.rows if row.name == "Alice")
    assert (alice_figures.customers, alice_figures.active_at_start, alice_figures.retained) == (3, 3, 2)
    assert alice_figures.net_revenue_retention == pytest.approx(200 / 380)
    assert alice_figures.upsell_rate == pytest.approx(1 / 3)
    assert (report.base.revenue, report.base.revenue_existing) == (650.0, 350.0)
    assert report.base.upsell_rate == pytest.approx(3 / 7)


def test_a_custom_range_is_kept_until_the_stored_sums_are_refreshed(alice, bob, marta):
    dataset = book_dataset(alice, bob)
    period = book.period_custom(date(2024, 1, 15), date(2024, 3, 10))
    first = selectors.book_performance(user=marta, period=period)
    order_add_line(OrderFactory(customer=dataset["c6"], ordered_at=at("2024-02-20")), unit_price=500)

    again = selectors.book_performance(user=marta, period=period)
    book_sums_refresh(today=date(2024, 5, 10))
    after_the_refresh = selectors.book_performance(user=marta, period=period)

    assert (again.base, again.computed_at) == (first.base, first.computed_at)
    assert after_the_refresh.base.revenue == first.base.revenue + 500
    assert after_the_refresh.computed_at > first.computed_at


# --- Plans (PostgreSQL) -------------------------------------------------------------------------


def _scans(plan: dict) -> list[dict]:
    found = [plan] if "Relation Name" in plan or "Index Name" in plan else []
    for child in plan.get("Plans", []):
        found += _scans(child)
    return found


def _plan(sql: str, params) -> dict:
    """The plan with sequential and bitmap scans made as costly as PostgreSQL allows: on a table of
    a few rows, just written (not yet vacuumed), it would rightly read the table. A Seq Scan still
    there means no index serves the query; an Index Scan, that the index lacks a column it reads."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


@pytest.mark.postgres
def test_a_ranges_days_are_a_range_of_the_day_index_read_without_the_table(random_days):
    period = book.period_custom(date(2024, 1, 15), date(2024, 3, 10))
    days = selectors.period_days(period, window_days=WINDOW)
    sql, params = days.values_list("customer_id", "day", "amount", "purchase_amount").query.sql_with_params()

    scans = _scans(_plan(sql, params))

    assert [scan["Node Type"] for scan in scans] == ["Index Only Scan"], scans
    assert scans[0]["Index Name"] == "customer_day_by_day"
    assert "day >=" in scans[0]["Index Cond"] and "day <=" in scans[0]["Index Cond"]
