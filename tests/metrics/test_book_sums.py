"""The book-performance sums the nightly run stores (metrics.services.book) for the picker's periods:
the same figures as computed on the spot, for every period, read instead of the order history."""

from datetime import date

import pandas as pd
import pytest

from metrics import selectors
from metrics.analytics import book
from metrics.models import BookSums
from metrics.reactions import on_recomputed
from metrics.services.book import book_sums_refresh
from retention_crm import events
from tests.customers.factories import OrderFactory, order_add_line

from .book_dataset import Q1_2024, at, book_dataset

pytestmark = pytest.mark.django_db

TODAY = date(2024, 5, 10)


@pytest.fixture
def dataset(alice, bob):
    return book_dataset(alice, bob)


def test_refresh_stores_a_row_per_book_and_the_base_for_every_period_of_the_picker(dataset, alice, bob):
    stored = book_sums_refresh(today=TODAY)

    periods = book.picker_periods(TODAY)
    assert stored == len(periods) == book.PICKER_MONTHS + book.PICKER_QUARTERS + book.PICKER_YEARS
    q1 = BookSums.objects.filter(start=Q1_2024.start, end=Q1_2024.end, window_days=90)
    assert sorted(q1.values_list("manager_id", flat=True), key=lambda m: m or 0) == [None, alice.pk, bob.pk]
    assert BookSums.objects.filter(manager__isnull=True).count() == len(periods)


def test_stored_sums_equal_the_sums_computed_on_the_spot_for_every_period(dataset):
    book_sums_refresh(today=TODAY)

    for period in book.picker_periods(TODAY):
        base, books = selectors.book_period_sums(period, window_days=90)
        stored_base, stored_books, _at = selectors.book_sums_stored(period, window_days=90)

        assert {name: float(stored_base[name]) for name in book.SUM_COLUMNS} == {
            name: float(base[name]) for name in book.SUM_COLUMNS
        }, period.key
        pd.testing.assert_frame_equal(
            stored_books.astype(float).sort_index(), books.astype(float).sort_index(), check_names=False
        )


def test_the_report_reads_the_stored_sums_with_the_same_figures(dataset, marta):
    computed = selectors.book_performance(user=marta, period=Q1_2024)

    book_sums_refresh(today=TODAY)
    stored = selectors.book_performance(user=marta, period=Q1_2024)

    assert stored.base == computed.base
    assert stored.rows == computed.rows
    assert stored.computed_at == BookSums.objects.filter(start=Q1_2024.start).first().computed_at


def test_the_report_shows_the_stored_sums_until_the_next_refresh(dataset, marta):
    book_sums_refresh(today=TODAY)
    order_add_line(OrderFactory(customer=dataset["c6"], ordered_at=at("2024-02-20")), unit_price=500)

    before = selectors.book_performance(user=marta, period=Q1_2024).base.revenue
    book_sums_refresh(today=TODAY)
    after = selectors.book_performance(user=marta, period=Q1_2024).base.revenue

    assert (before, after) == (650.0, 1150.0)
    assert BookSums.objects.filter(manager__isnull=True).count() == len(book.picker_periods(TODAY))


def test_an_account_manager_reads_only_their_own_book_from_the_stored_sums(dataset, alice):
    book_sums_refresh(today=TODAY)

    report = selectors.book_performance(user=alice, period=Q1_2024)

    assert [row.name for row in report.rows] == ["Alice"]
    assert report.base.customers == 7


def test_a_period_that_is_not_stored_is_computed_on_the_spot(dataset, marta):
    book_sums_refresh(today=TODAY)
    custom = book.period_custom(date(2024, 1, 1), date(2024, 4, 1))
    shifted = book.period_custom(date(2024, 1, 2), date(2024, 4, 2))

    same_as_q1 = selectors.book_performance(user=marta, period=custom)
    other = selectors.book_performance(user=marta, period=shifted)

    assert same_as_q1.base == selectors.book_performance(user=marta, period=Q1_2024).base
    assert selectors.book_sums_stored(shifted, window_days=90) is None
    assert other.base.customers == 7


def test_a_successful_recompute_refreshes_the_stored_sums():
    assert on_recomputed in events.subscribers(events.METRICS_RECOMPUTED)
