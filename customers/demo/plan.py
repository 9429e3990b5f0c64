"""The demo plan: everything the demo holds, decided by a seed alone (``demo_plan``).

A seeded numpy Generator decides everything, so one seed always gives the same customers, orders
and interactions; dates are offsets from ``now``, so the demo always ends today. The planner is
put together from one part per thing it generates (people, orders, interactions), in the order
the plan draws them: that order is what makes a seed give the same data.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.utils import timezone

from ..models import Order
from .interactions import InteractionsPlanner, PlannedInteraction
from .orders import OrdersPlanner, PlannedOrder, PlannedProduct
from .people import PeoplePlanner, PlannedCustomer

DEMO_PREFIX = "DEMO-"


@dataclass
class DemoPlan:
    products: list[PlannedProduct]
    customers: list[PlannedCustomer]
    orders: list[PlannedOrder]
    interactions: list[PlannedInteraction]


def demo_plan(*, customers: int = 3000, seed: int = 42, years: int = 2, now: datetime | None = None) -> DemoPlan:
    """Everything the demo holds, decided by ``seed`` alone; dates end at ``now``."""
    return _Planner(seed=seed, years=years, now=now or timezone.now()).plan(customers)


class _Planner(PeoplePlanner, OrdersPlanner, InteractionsPlanner):
    def __init__(self, *, seed: int, years: int, now: datetime):
        self.rng = np.random.default_rng(seed)
        self.now = now.astimezone(UTC)
        self.days = round(365.25 * years)
        self.start = (self.now - timedelta(days=self.days)).date()
        self.zones: dict[str, ZoneInfo] = {}
        self.emails: Counter = Counter()

    def plan(self, n: int) -> DemoPlan:
        self.products = self._products()
        planned = [self._customer() for _ in range(n)]
        orders = [order for index, customer in enumerate(planned) for order in self._orders(index, customer)]
        # Number customers and orders in the order they happened, as a real shop would have.
        first = {}
        for order in orders:
            first.setdefault(order.customer, order.ordered_at)
        rank = sorted(range(n), key=lambda i: (first[i], i))
        new_index = {old: new for new, old in enumerate(rank)}
        planned = [planned[old] for old in rank]
        for index, customer in enumerate(planned, start=1):
            customer.acquired_at = first[rank[index - 1]]
            customer.external_id = f"{DEMO_PREFIX}{index:06d}"
        for order in orders:
            order.customer = new_index[order.customer]
        orders += self._refunds(orders)
        orders.sort(key=lambda order: (order.ordered_at, order.customer))
        purchases = refunds = 0
        for order in orders:
            if order.kind == Order.Kind.REFUND:
                refunds += 1
                order.external_id = f"{DEMO_PREFIX}R-{refunds:06d}"
            else:
                purchases += 1
                order.external_id = f"{DEMO_PREFIX}O-{purchases:06d}"
        self._referrals(planned)
        for customer in planned:
            self._assignment_and_consent(customer)
        interactions = self._interactions(planned, orders)
        return DemoPlan(self.products, planned, orders, interactions)

    # -- time -----------------------------------------------------------------------------

    def _moment(self, day: float, time_zone: str, first_hour: int = 8, last_hour: int = 21) -> datetime:
        """A time during the local day ``day`` days after the window opened, in UTC, never after now."""
        zone = self.zones.setdefault(time_zone, ZoneInfo(time_zone))
        minutes = int(self.rng.integers(first_hour * 60, last_hour * 60))
        local = datetime.combine(self.start + timedelta(days=int(day)), datetime.min.time(), tzinfo=zone)
        moment = (local + timedelta(minutes=minutes)).astimezone(UTC)
        return min(moment, self.now - timedelta(minutes=1 + minutes % 90))

    def _later(self, moment: datetime, low_days: float, high_days: float) -> datetime | None:
        later = moment + timedelta(days=float(self.rng.uniform(low_days, high_days)))
        return later if later < self.now else None
