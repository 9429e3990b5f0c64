"""The demo's catalogue and orders: products by category, each customer's purchases by archetype,
cancellations and refunds (on the order, or as a refund order days later). A part of the planner
(plan._Planner)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np

from ..models import Order

if TYPE_CHECKING:
    from .people import PlannedCustomer

CENT = Decimal("0.01")

# category: (lowest price, highest price, product nouns, adjectives); 15 products each.
CATALOGUE = {
    "gifts": (8, 60, "Gift Box|Photo Frame|Keepsake Tin|Hamper|Music Box|Bookmark Set|Gift Card Wallet", "Deluxe"),
    "homeware": (12, 120, "Cushion|Vase|Table Lamp|Wall Clock|Mirror|Storage Basket|Doormat|Throw", "Nordic"),
    "stationery": (3, 30, "Notebook|Fountain Pen|Desk Planner|Letter Set|Pencil Case|Washi Tape Set|Journal", "A5"),
    "kitchen": (6, 90, "Serving Board|Teapot|Mug Set|Salad Bowl|Apron|Tea Towel Set|Spice Rack|Cafetière", "Everyday"),
    "garden": (5, 80, "Planter|Watering Can|Bird Feeder|Seed Kit|Garden Kneeler|Lantern|Herb Pot Trio", "Cottage"),
    "textiles": (10, 95, "Cloth Napkins|Tablecloth|Bath Towel|Blanket|Tote Bag|Scarf|Bed Runner", "Organic"),
    "candles": (8, 45, "Scented Candle|Reed Diffuser|Room Spray|Candle Trio|Wax Melts|Pillar Candle", "Fig"),
    "toys": (6, 55, "Wooden Puzzle|Plush Bear|Building Blocks|Kite|Board Game|Stacking Rings|Jigsaw", "Classic"),
}
ADJECTIVES = "Classic|Mini|Vintage|Botanical|Handmade|Coastal|Heritage|Speckled|Midnight|Sage|Rustic".split("|")
PRODUCTS_PER_CATEGORY = 15
REFUND_SHARE = 0.03
CANCEL_SHARE = 0.01
# The BG/NBD process the demo's purchases are drawn from (see OrdersPlanner._purchase_days), in days:
# purchase rates from Gamma(r, alpha), a mean of one purchase every alpha / r = 54 days with a long
# tail both ways (CDNOW's r = 0.24 is a store of mostly one-time buyers; a shop of returning customers
# sits nearer 1); dropout probabilities from Beta(a, b), a mean of a / (a + b) = 12% after each
# repeat purchase, wide enough that some stay for years and some stop after two orders. With the
# acquisition dates these give the demo five to six orders per customer over two years, about as
# before, and refitting recovers them (r ~ 0.7, alpha ~ 40, a ~ 0.7, b ~ 5.5), not a degenerate model.
PURCHASE_RATE_SHAPE = 0.7
PURCHASE_RATE_ALPHA_DAYS = 38.0
DROPOUT_A = 0.7
DROPOUT_B = 5.3
# Buying every 45 days or more often: the customers whose baskets grow and who are called most.
LOYAL_RATE_PER_DAY = 1 / 45
# A planned order's status until _refunds() turns it into a separate refund order.
TO_REFUND = "to-refund"


@dataclass
class PlannedProduct:
    sku: str
    name: str
    category: str
    price: Decimal
    margin: Decimal
    popularity: float


@dataclass
class PlannedOrder:
    customer: int
    ordered_at: datetime
    lines: list[tuple[int, int, Decimal]]  # product index, quantity, unit price
    kind: str = Order.Kind.PURCHASE
    status: str = Order.Status.PLACED
    refunded_amount: Decimal = Decimal("0")
    external_id: str = ""

    @property
    def gross_amount(self) -> Decimal:
        return sum(((quantity * price).quantize(CENT) for _p, quantity, price in self.lines), Decimal("0"))


class OrdersPlanner:
    """Plans products and orders; mixed into plan._Planner, whose rng, days and _moment it uses."""

    def _products(self) -> list[PlannedProduct]:
        products = []
        for category, (low, high, nouns, adjective) in CATALOGUE.items():
            adjectives = [adjective] + [word for word in ADJECTIVES if word != adjective]
            combos = [f"{a} {noun}" for noun in nouns.split("|") for a in adjectives]
            names = self.rng.choice(combos, size=PRODUCTS_PER_CATEGORY, replace=False)
            # Within a category a few products sell most (a Zipf-like tail), as in any shop.
            popularity = 1 / np.arange(1, PRODUCTS_PER_CATEGORY + 1) ** 0.8
            self.rng.shuffle(popularity)
            for name, weight in zip(sorted(names), popularity, strict=True):
                price = np.exp(self.rng.uniform(np.log(low), np.log(high)))
                ending = self.rng.choice([0.99, 0.5, 0.0])
                products.append(
                    PlannedProduct(
                        sku=f"SKU-{len(products) + 1:04d}",
                        name=str(name),
                        category=category,
                        price=Decimal(f"{int(price) + ending:.2f}"),
                        margin=Decimal(f"{self.rng.uniform(0.2, 0.6):.4f}"),
                        popularity=float(weight),
                    )
                )
        self.by_category = {}
        for category in CATALOGUE:
            indexes = [i for i, p in enumerate(products) if p.category == category]
            popularity = np.array([products[i].popularity for i in indexes])
            self.by_category[category] = (np.array(indexes), popularity / popularity.sum())
        self.category_names = list(CATALOGUE)
        return products

    def _purchase_days(self) -> tuple[list[float], float | None, float]:
        """Days (from the window's start) of each purchase, the day a customer who dropped out made
        their last one (None while they still buy), and their purchase rate per day.

        BG/NBD's own story of a customer (Fader, Hardie & Lee 2005), with the spread between customers
        that real shops show: while active, a customer buys at their own rate (Poisson, the rate drawn
        from a gamma), and after each repeat purchase stops for good with their own probability (drawn
        from a beta). Some buy monthly for years, some twice and never again, most in between.
        """
        rng, days = self.rng, self.days
        # Acquisition skews early: the base that already buys shows up in the first months.
        first = float(rng.beta(1.0, 1.5) * days)
        rate = float(rng.gamma(PURCHASE_RATE_SHAPE, 1 / PURCHASE_RATE_ALPHA_DAYS))
        dropout = float(rng.beta(DROPOUT_A, DROPOUT_B))
        purchases = [first]
        while (following := purchases[-1] + rng.exponential(1 / rate)) <= days:
            purchases.append(float(following))
            if rng.random() < dropout:
                return purchases, float(following), rate
        return purchases, None, rate

    @staticmethod
    def _archetype(purchases: list[float], stopped: float | None, rate: float) -> str:
        """What the behaviour looks like, for the parts of the demo that follow it (how often the
        account manager calls, win-back attempts, referrals, growing baskets)."""
        if stopped is not None:
            return "lapsing"
        if len(purchases) == 1:
            return "one-off"
        return "loyal" if rate >= LOYAL_RATE_PER_DAY else "regular"

    def _orders(self, index: int, customer: PlannedCustomer) -> list[PlannedOrder]:
        purchase_days, customer.stopped_day, rate = self._purchase_days()
        customer.archetype = self._archetype(purchase_days, customer.stopped_day, rate)
        orders = []
        for number, day in enumerate(purchase_days):
            # Loyal customers' baskets grow as they come back; a few orders carry a promotion.
            growth = min(1 + 0.06 * number, 2.0) if customer.archetype == "loyal" else 1.0
            promo = Decimal("0.15") if self.rng.random() < 0.1 else Decimal("0")
            order = PlannedOrder(
                customer=index,
                ordered_at=self._moment(day, customer.time_zone),
                lines=self._lines(customer, growth, promo),
            )
            draw = self.rng.random()
            if draw < CANCEL_SHARE:
                order.status = Order.Status.CANCELLED
            elif draw < CANCEL_SHARE + REFUND_SHARE / 2:
                # Half the refunds are recorded on the order itself, in full or for one line.
                order.status = Order.Status.REFUNDED
                order.refunded_amount = order.gross_amount
                if len(order.lines) > 1 and self.rng.random() < 0.3:
                    _product, quantity, price = order.lines[0]
                    order.refunded_amount = (quantity * price).quantize(CENT)
            elif draw < CANCEL_SHARE + REFUND_SHARE:
                order.status = TO_REFUND
            orders.append(order)
        return orders

    def _lines(self, customer: PlannedCustomer, growth: float, promo: Decimal) -> list[tuple[int, int, Decimal]]:
        rng = self.rng
        b2b = customer.discount > 0
        count = min(5, 1 + int(rng.binomial(4, min((0.45 if b2b else 0.2) * growth, 0.9))))
        quantities: dict[int, int] = {}
        for _ in range(count):
            weights = customer.favourites if rng.random() < 0.8 else np.ones(len(CATALOGUE))
            category = self.category_names[rng.choice(len(CATALOGUE), p=weights / weights.sum())]
            candidates, popularity = self.by_category[category]
            product = int(candidates[rng.choice(len(candidates), p=popularity)])
            quantity = int(rng.integers(2, 13) * growth) if b2b else min(int(rng.geometric(0.65)), 6)
            quantities[product] = quantities.get(product, 0) + quantity
        off = 1 - customer.discount - promo
        return [(p, q, (self.products[p].price * off).quantize(CENT)) for p, q in quantities.items()]

    def _refunds(self, orders: list[PlannedOrder]) -> list[PlannedOrder]:
        """The other half of the refunds: a refund order with negative lines, days after the purchase."""
        refunds = []
        for order in orders:
            if order.status != TO_REFUND:
                continue
            order.status = Order.Status.PLACED
            moment = self._later(order.ordered_at, 2, 30)
            if moment is None:
                continue  # bought too recently to have been given back yet
            lines = order.lines if self.rng.random() < 0.4 else order.lines[:1]
            refunds.append(
                PlannedOrder(
                    customer=order.customer,
                    ordered_at=moment,
                    kind=Order.Kind.REFUND,
                    lines=[(product, -quantity, price) for product, quantity, price in lines],
                )
            )
        return refunds
