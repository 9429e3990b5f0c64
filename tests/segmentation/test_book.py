"""Book performance on a hand-built dataset with a mid-period reassignment, the period picker, the
page, the CSV, and moving customers between books.

Period: Q1 2024 = [2024-01-01, 2024-04-01), 91 days; activity window W = 90 days, so
- active at s = a purchase on 2023-10-03 .. 2024-01-01,
- active at e = a purchase on 2024-01-03 .. 2024-04-01,
- net revenue retention compares [s, e) with [2023-10-02, 2024-01-01),
- upsell is counted as of 2024-03-31.

Customers (amount, product), assignments:
  c1  2023-11-10 100 P1; 2024-02-10 150 P2     Alice throughout
  c2  2023-12-01 200 P1; 2024-03-01  50 P1     Alice until 2024-02-15, then Bob (counts for Alice)
  c3  2023-10-20  80 P1                        Alice throughout
  c4  2023-12-15 120 P1; 2024-01-20  60 P3     Bob since 2023-06-01
  c5  2024-02-05 300 P1                        Bob from 2024-02-01 (nobody at s: first manager)
  c6  2023-12-20  40 P1                        nobody (base only)
  c7  2023-11-01  90 P1; 2024-03-20  90 P2     Alice until 2023-12-01, then Bob (Bob's at s)

Alice (c1, c2, c3): active at s 3, retained 2 (c1, c2) -> retention 2/3, churn 1/3;
  NRR (150 + 50 + 0) / (100 + 200 + 80) = 200/380; upsell 1 (c1) of 3 buyers;
  revenue 150 + 50 = 200, all from existing customers.
Bob (c4, c5, c7): active at s 2 (c4, c7), retained 2 -> retention 1, churn 0;
  NRR (60 + 90) / (120 + 90) = 150/210; upsell 2 (c4, c7) of 3 buyers;
  revenue 60 + 300 + 90 = 450, existing 60 + 90 = 150 (c5 is new).
Base (c1..c7): active at s 6 (all but c5), retained 4 (c1, c2, c4, c7) -> 4/6;
  NRR (150 + 50 + 0 + 60 + 0 + 90) / (100 + 200 + 80 + 120 + 40 + 90) = 350/630;
  upsell 3 (c1, c4, c7) of 7; revenue 650, existing 650 - 300 = 350.
"""

import csv
import io
import zoneinfo
from datetime import date, datetime, time

import pandas as pd
import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from customers.models import AccountAssignment
from metrics.analytics import rates
from segmentation import book
from tests.clients import client_for
from tests.customers.factories import CustomerFactory, OrderFactory, ProductFactory, order_add_line

from .worklist_helpers import metrics_for

pytestmark = pytest.mark.django_db

Q1_2024 = book.period_quarter(2024, 1)


def at(day: str) -> datetime:
    """Noon of a day in the workspace time zone."""
    return datetime.combine(date.fromisoformat(day), time(12), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


@pytest.fixture
def dataset(alice, bob):
    products = {name: ProductFactory(sku=name) for name in ("P1", "P2", "P3")}
    plan = {
        "c1": ([("2023-11-10", 100, "P1"), ("2024-02-10", 150, "P2")], [(alice, "2023-01-01", None)]),
        "c2": (
            [("2023-12-01", 200, "P1"), ("2024-03-01", 50, "P1")],
            [(alice, "2023-01-01", "2024-02-15"), (bob, "2024-02-15", None)],
        ),
        "c3": ([("2023-10-20", 80, "P1")], [(alice, "2023-01-01", None)]),
        "c4": ([("2023-12-15", 120, "P1"), ("2024-01-20", 60, "P3")], [(bob, "2023-06-01", None)]),
        "c5": ([("2024-02-05", 300, "P1")], [(bob, "2024-02-01", None)]),
        "c6": ([("2023-12-20", 40, "P1")], []),
        "c7": (
            [("2023-11-01", 90, "P1"), ("2024-03-20", 90, "P2")],
            [(alice, "2022-01-01", "2023-12-01"), (bob, "2023-12-01", None)],
        ),
    }
    customers = {}
    for name, (orders, assignments) in plan.items():
        current = assignments[-1][0] if assignments else None
        customer = CustomerFactory(name=name, account_manager=current)
        for manager, start, end in assignments:
            AccountAssignment.objects.create(
                customer=customer, manager=manager, started_at=at(start), ended_at=at(end) if end else None
            )
        for day, amount, sku in orders:
            order_add_line(
                OrderFactory(customer=customer, ordered_at=at(day)), product=products[sku], unit_price=amount
            )
        customers[name] = customer
    return customers


def by_manager(report) -> dict[str, book.BookFigures]:
    return {row.name: row.figures for row in report.rows}


def test_book_figures_follow_the_manager_at_the_start_of_the_period(dataset, marta):
    report = book.book_performance(user=marta, period=Q1_2024)

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
    base = book.book_performance(user=marta, period=Q1_2024).base

    assert (base.manager_id, base.customers, base.active_at_start, base.retained) == (None, 7, 6, 4)
    assert base.retention_rate == pytest.approx(4 / 6)
    assert base.net_revenue_retention == pytest.approx(350 / 630)
    assert base.upsell_rate == pytest.approx(3 / 7)
    assert (base.revenue, base.revenue_existing) == (650.0, 350.0)


def test_figures_agree_with_period_rates_for_the_base_and_each_book(dataset, marta):
    daily = book.period_daily_frame(Q1_2024, window_days=90)
    membership = book.book_membership(Q1_2024)
    report = book.book_performance(user=marta, period=Q1_2024)
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
    report = book.book_performance(user=alice, period=Q1_2024)

    assert list(by_manager(report)) == ["Alice"]
    assert report.base.customers == 7


@override_settings(ACCOUNT_MANAGERS_SEE_ALL_BOOKS=True)
def test_account_manager_sees_every_book_when_the_setting_allows(dataset, alice):
    assert set(by_manager(book.book_performance(user=alice, period=Q1_2024))) == {"Alice", "Bob"}


def test_a_period_without_orders_has_no_rates(alice, marta):
    CustomerFactory(account_manager=alice)

    report = book.book_performance(user=marta, period=Q1_2024)

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


# --- Page and CSV -------------------------------------------------------------------------------


def test_marketer_sees_the_table_chart_and_csv_link(dataset, marta):
    response = client_for(marta).get(reverse("worklist:book"), {"period": "2024-Q1"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Alice" in html and "Bob" in html and "Whole base" in html
    assert "66.7%" in html  # Alice's retention, and the base's
    assert 'id="chart-book-data"' in html
    assert reverse("worklist:book_csv") + "?period=2024-Q1" in html


def test_csv_has_one_row_per_book_and_the_base(dataset, ada):
    response = client_for(ada).get(reverse("worklist:book_csv"), {"period": "2024-Q1"})

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["account_manager", "customers", "active_at_start"]
    assert [row[0] for row in rows[1:]] == ["Alice", "Bob", ""]
    assert rows[1][1:4] == ["3", "3", "2"]
    assert response["Content-Disposition"] == 'attachment; filename="book-performance-2024-Q1.csv"'


def test_account_manager_page_shows_their_row_only(dataset, alice):
    html = client_for(alice).get(reverse("worklist:book"), {"period": "2024-Q1"}).content.decode()

    assert "Alice" in html and "Bob" not in html


def test_charlie_gets_404_and_a_bad_period_is_404(dataset, charlie, marta):
    assert client_for(charlie).get(reverse("worklist:book")).status_code == 404
    assert client_for(charlie).get(reverse("worklist:book_csv")).status_code == 404
    assert client_for(marta).get(reverse("worklist:book"), {"period": "2024-Q9"}).status_code == 404


# --- Moving customers between books -------------------------------------------------------------


def test_administrator_moves_filtered_customers_and_history_is_kept(ada, alice, bob):
    risky = CustomerFactory(account_manager=alice, name="risky")
    safe = CustomerFactory(account_manager=alice, name="safe")
    for customer, risk in [(risky, 0.9), (safe, 0.1)]:
        AccountAssignment.objects.create(customer=customer, manager=alice, started_at=at("2023-01-01"))
        metrics_for(customer, churn_risk=risk)
    client = client_for(ada)
    data = {"from_manager": alice.pk, "to_manager": bob.pk, "risk": "high", "value": "", "country": ""}

    preview = client.get(reverse("worklist:book_reassign"), data)
    moved = client.post(reverse("worklist:book_reassign"), data)

    assert "1 customer matches." in preview.content.decode() and "risky" in preview.content.decode()
    assert moved.status_code == 302
    risky.refresh_from_db()
    safe.refresh_from_db()
    assert (risky.account_manager, safe.account_manager) == (bob, alice)
    history = list(
        AccountAssignment.objects.filter(customer=risky).order_by("started_at").values_list("manager", "ended_at")
    )
    assert history[0][0] == alice.pk and history[0][1] is not None
    assert history[1] == (bob.pk, None)


@pytest.mark.parametrize("persona", ["alice", "marta", "charlie"])
def test_only_administrators_move_customers(request, persona, alice, bob):
    customer = CustomerFactory(account_manager=alice)
    client = client_for(request.getfixturevalue(persona))

    response = client.post(reverse("worklist:book_reassign"), {"from_manager": alice.pk, "to_manager": bob.pk})

    assert response.status_code == 404
    customer.refresh_from_db()
    assert customer.account_manager == alice


def test_reassign_refuses_the_same_manager_twice(ada, alice):
    response = client_for(ada).get(
        reverse("worklist:book_reassign"), {"from_manager": alice.pk, "to_manager": alice.pk}
    )

    assert "Choose two different account managers." in response.content.decode()
