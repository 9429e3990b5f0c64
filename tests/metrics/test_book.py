"""Book performance figures (metrics.selectors.book_performance, metrics.analytics.book) on the
hand-built dataset of tests/metrics/book_dataset.py, with a mid-period reassignment, and the periods
of the picker.
"""

from datetime import date

import pandas as pd
import pytest
from django.test import override_settings

from metrics import selectors
from metrics.analytics import book, rates
from tests.customers.factories import CustomerFactory

from .book_dataset import Q1_2024, book_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(alice, bob):
    return book_dataset(alice, bob)


def by_manager(report) -> dict[str, book.BookFigures]:
    return {row.name: row.figures for row in report.rows}


def test_book_figures_follow_the_manager_at_the_start_of_the_period(dataset, marta):
    report = selectors.book_performance(user=marta, period=Q1_2024)

    books = by_manager(report)
    assert set(books) == {"Alice", "Bob"}
    alice = books["Alice"]
    assert (alice.customers, alice.active_at_start, alice.retained) == (3, 3, 2)
    assert alice.retention_rate == pytest.approx(2 / 3) and alice.churn_rate == pytest.approx(1 / 3)
    assert alice.net_revenue_retention == pytest.approx(200 / 380)
    assert alice.upsell_rate == pytest.approx(1 / 3)
    assert (alice.revenue, alice.revenue_existing) == (200.0, 200.0)
    bob = books["Bob"]
    assert (bob.customers, bob.active_at_start, bob.retained) == (3, 2, 2)
    assert bob.retention_rate == pytest.approx(1.0) and bob.churn_rate == pytest.approx(0.0)
    assert bob.net_revenue_retention == pytest.approx(150 / 210)
    assert bob.upsell_rate == pytest.approx(2 / 3)
    assert (bob.revenue, bob.revenue_existing) == (450.0, 150.0)


def test_whole_base_figures(dataset, marta):
    base = selectors.book_performance(user=marta, period=Q1_2024).base

    assert (base.manager_id, base.customers, base.active_at_start, base.retained) == (None, 7, 6, 4)
    assert base.retention_rate == pytest.approx(4 / 6)
    assert base.net_revenue_retention == pytest.approx(350 / 630)
    assert base.upsell_rate == pytest.approx(3 / 7)
    assert (base.revenue, base.revenue_existing) == (650.0, 350.0)


def test_figures_agree_with_period_rates_for_the_base_and_each_book(dataset, marta):
    daily = selectors.period_daily_frame(Q1_2024, window_days=90)
    membership = selectors.book_membership(Q1_2024)
    report = selectors.book_performance(user=marta, period=Q1_2024)
    start, end = pd.Timestamp(Q1_2024.start), pd.Timestamp(Q1_2024.end)

    for figures in [report.base] + [row.figures for row in report.rows]:
        rows = daily
        if figures.manager_id is not None:
            customers = membership.loc[membership["manager_id"] == figures.manager_id, "customer_id"]
            rows = daily[daily["customer_id"].isin(customers)]
        expected = rates.period_rates(rows, start=start, end=end, window_days=90)

        assert (figures.active_at_start, figures.retained) == (expected.active_at_start, expected.retained)
        assert figures.retention_rate == pytest.approx(expected.retention_rate)
        assert figures.net_revenue_retention == pytest.approx(expected.net_revenue_retention)


def test_account_manager_sees_only_their_own_book(dataset, alice):
    report = selectors.book_performance(user=alice, period=Q1_2024)

    assert list(by_manager(report)) == ["Alice"]
    assert report.base.customers == 7


@override_settings(ACCOUNT_MANAGERS_SEE_ALL_BOOKS=True)
def test_account_manager_sees_every_book_when_the_setting_allows(dataset, alice):
    assert set(by_manager(selectors.book_performance(user=alice, period=Q1_2024))) == {"Alice", "Bob"}


def test_a_period_without_orders_has_no_rates(alice, marta):
    CustomerFactory(account_manager=alice)

    report = selectors.book_performance(user=marta, period=Q1_2024)

    assert report.rows == []
    assert report.base.retention_rate is None and report.base.net_revenue_retention is None
    assert report.base.revenue == 0.0


# --- Periods ------------------------------------------------------------------------------------


def test_default_period_is_the_last_complete_quarter():
    assert book.period_default(date(2024, 5, 10)) == Q1_2024
    assert book.period_default(date(2024, 2, 1)) == book.period_quarter(2023, 4)


def test_period_keys():
    assert book.period_parse("2024-02") == book.Period(date(2024, 2, 1), date(2024, 3, 1), "2024-02")
    assert book.period_parse("2024-Q4") == book.Period(date(2024, 10, 1), date(2025, 1, 1), "2024-Q4")
    assert book.period_parse("2023") == book.Period(date(2023, 1, 1), date(2024, 1, 1), "2023")
    for bad in ("2024-13", "2024-Q5", "x", "", "2024-02-01"):
        with pytest.raises(ValueError):
            book.period_parse(bad)


def test_picker_offers_complete_periods_newest_first():
    choices = book.period_choices(date(2024, 5, 10))

    assert choices["months"][0].key == "2024-04" and len(choices["months"]) == book.PICKER_MONTHS
    assert [p.key for p in choices["quarters"][:3]] == ["2024-Q1", "2023-Q4", "2023-Q3"]
    assert choices["years"][0].key == "2023"


def test_the_period_before_a_month_quarter_year_or_range():
    assert book.period_previous(book.period_parse("2024-01")).key == "2023-12"
    assert book.period_previous(book.period_parse("2024-Q1")).key == "2023-Q4"
    assert book.period_previous(book.period_parse("2024-Q3")).key == "2024-Q2"
    assert book.period_previous(book.period_parse("2024")).key == "2023"
    before = book.period_previous(book.period_custom(date(2024, 3, 10), date(2024, 3, 20)))
    assert (before.start, before.end) == (date(2024, 2, 29), date(2024, 3, 10))
