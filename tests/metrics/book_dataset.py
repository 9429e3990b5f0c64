"""The hand-built dataset of the book-performance tests (the figures, the stored sums, the page and
the CSV), with a mid-period reassignment.

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

import zoneinfo
from datetime import date, datetime, time

from django.conf import settings

from customers.models import AccountAssignment
from metrics.analytics import book
from tests.customers.factories import CustomerFactory, OrderFactory, ProductFactory, order_add_line

Q1_2024 = book.period_quarter(2024, 1)


def at(day: str) -> datetime:
    """Noon of a day in the workspace time zone."""
    return datetime.combine(date.fromisoformat(day), time(12), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def book_dataset(alice, bob) -> dict:
    """Customers c1..c7 of the module docstring, by name."""
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
