"""Helpers for the metrics tests: orders on given days, and a simulated workspace big enough to fit
BG/NBD (a few hundred customers drawn from the model itself, so the fit is well identified)."""

import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.conf import settings

from customers.models import Customer, Order
from customers.rollups import customer_rollups_refresh
from tests.customers.factories import OrderFactory


def at_noon(day: date | str) -> datetime:
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime.combine(day, time(12), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def order_on(customer: Customer, day: date | str, amount, **extra) -> Order:
    """An order of `customer` at noon on `day`; a negative amount is a refund."""
    amount = Decimal(str(amount))
    kind = Order.Kind.REFUND if amount < 0 else Order.Kind.PURCHASE
    fields = {"kind": kind, "gross_amount": amount, "net_amount": amount, **extra}
    return OrderFactory(customer=customer, ordered_at=at_noon(day), **fields)


SIMULATED_AS_OF = date(2024, 6, 30)


def simulate_workspace(*, customers: int = 300, as_of: date = SIMULATED_AS_OF, seed: int = 7) -> list[Customer]:
    """Customers who joined over the 600 days before as_of and bought as BG/NBD says (Poisson purchases
    at a gamma-distributed rate, dropping out after a purchase with a beta-distributed probability)
    and spent as Gamma-Gamma says (each purchase gamma with shape 4 around a per-customer rate that is
    itself gamma-distributed, so that customers differ in typical spend and the spend model is
    identified). Some orders fall after as_of, so that as-of computations have later data to ignore."""
    rng = np.random.default_rng(seed)
    # Per-customer spend rates from their own stream, so the purchase times stay those of `seed`.
    spend_rate = np.random.default_rng(seed + 1).gamma(5.0, 1 / 50.0, size=customers)
    created = Customer.objects.bulk_create(
        [
            Customer(external_id=f"SIM{i:05d}", name=f"Sim {i}", country=("GB", "FR", "DE")[i % 3])
            for i in range(customers)
        ]
    )
    orders = []
    for index, customer in enumerate(created):
        first = as_of - timedelta(days=int(rng.integers(1, 600)))
        rate = rng.gamma(0.8, 1 / 25)  # purchases per day: one every ~30 days on average
        dropout = rng.beta(1.0, 4.0)
        day, alive = first, True
        while day <= as_of + timedelta(days=120):
            amount = Decimal(f"{rng.gamma(4.0, 1 / spend_rate[index]):.2f}")
            orders.append(
                Order(
                    external_id=f"SIMO{len(orders):07d}",
                    customer=customer,
                    ordered_at=at_noon(day),
                    gross_amount=amount,
                    net_amount=amount,
                )
            )
            if rng.random() < dropout:
                alive = False
            if not alive:
                break
            day += timedelta(days=max(1, int(rng.exponential(1 / rate))))
    Order.objects.bulk_create(orders, batch_size=1000)
    customer_rollups_refresh(customer.pk for customer in created)  # what every set-based writer of orders does
    return created


@pytest.fixture
def simulated(db):
    return simulate_workspace()
