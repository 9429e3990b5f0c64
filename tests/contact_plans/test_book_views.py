"""The book-performance page, its CSV, and moving customers between books (contact_plans), on the
hand-built dataset of tests/metrics/book_dataset.py."""

import csv
import io

import pytest
from django.urls import reverse

from customers.models import AccountAssignment
from tests.clients import client_for
from tests.customers.factories import CustomerFactory
from tests.metrics.book_dataset import at, book_dataset

from .worklist_helpers import metrics_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(alice, bob):
    return book_dataset(alice, bob)


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
