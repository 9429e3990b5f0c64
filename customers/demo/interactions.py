"""What happens between purchases in the demo: the account manager's calls, emails, meetings and
notes, reviews, event invitations for the best customers, complaints and support tickets. A part of
the planner (plan._Planner)."""

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from ..models import Order
from .orders import PlannedOrder
from .people import PlannedCustomer, _pick

SUBJECTS = {
    "call": (
        "Check-in call",
        "Call about their next reorder",
        "Follow-up call after delivery",
        "Quarterly account review call",
        "Call about the new season range",
        "Call about delivery options",
    ),
    "email": (
        "Thank-you for your order",
        "New arrivals you may like",
        "Following up on the last order",
        "Reminder: time to restock?",
        "Account summary for the quarter",
    ),
    "meeting": (
        "Account review meeting",
        "Showroom visit",
        "Range planning meeting",
        "Coffee catch-up",
        "Annual terms review",
    ),
    "note": (
        "Prefers contact by email",
        "Asked about bulk pricing",
        "Moving office next quarter",
        "Interested in the gift wrapping service",
        "Budget approved for next quarter",
        "Key contact changed",
        "Pays invoices late; keep an eye on it",
    ),
    "winback": (
        "Win-back call: we miss you",
        "Win-back email with a 15% offer",
        "Called to ask why the orders stopped",
    ),
    "complaint": (
        "Parcel arrived damaged",
        "Wrong item delivered",
        "Order arrived late",
        "Item not as described",
        "Refund taking too long",
        "Missing item in parcel",
    ),
    "support_ticket": (
        "Cannot log in to the online shop",
        "Question about an invoice",
        "Change of delivery address",
        "Discount code not working",
        "How to return an item",
        "Tracking link not working",
    ),
}
# By season, March first: spring, summer, autumn, winter.
EVENTS = ("Spring preview evening", "Summer garden party", "Autumn collection launch", "Winter late-night shopping")
# A review is written by the customer, in their language; the subject is our English summary.
REVIEWS = {
    1: {
        "en": "Lovely quality and quick delivery.",
        "id": "Kualitasnya bagus, pengiriman cepat.",
        "ms": "Kualiti sangat baik, penghantaran cepat.",
        "ca": "Molt bona qualitat i enviament ràpid.",
    },
    0: {
        "en": "The product is as described.",
        "id": "Produknya sesuai deskripsi.",
        "ms": "Produk seperti yang diterangkan.",
        "ca": "El producte és com a la descripció.",
    },
    -1: {
        "en": "Arrived damaged, disappointed.",
        "id": "Barang datang rusak, kecewa.",
        "ms": "Barang sampai dalam keadaan rosak, kecewa.",
        "ca": "Va arribar malmès, decebut.",
    },
}
REVIEW_SHARE = 0.07
VIP_SHARE = 0.05
COMPLAINTS_PER_CUSTOMER = 60 / 3000


@dataclass
class PlannedInteraction:
    customer: int
    kind: str
    subject: str
    occurred_at: datetime
    direction: str
    channel: str
    author: str | None
    body: str = ""
    sentiment: int | None = None
    resolved_at: datetime | None = None
    # A case's (complaint, ticket, review) priority, status while not resolved, resolution, and a
    # review's stars and source.
    priority: str = ""
    status: str = ""
    resolution: str = ""
    rating: int | None = None
    review_source: str = ""


def _draw(*parts) -> int:
    """A stable number from the row's own values: the cases' details vary without drawing from the
    planner's generator (which would change every later draw, hence the whole demo)."""
    return zlib.crc32("|".join(str(part) for part in parts).encode())


PRIORITIES = ("low", "normal", "normal", "normal", "high", "high", "urgent")
RESOLUTIONS = {
    "complaint": (
        "Apologised, refunded the order and added a voucher for the next one.",
        "Replacement sent by express delivery; the customer confirmed it arrived.",
        "Called the customer, explained the delay and waived the delivery charge.",
    ),
    "support_ticket": (
        "Walked the customer through the setup on a call; working now.",
        "Reset the account access and confirmed by email.",
        "Sent the missing invoice copy.",
    ),
    "review": (
        "Thanked the customer publicly for the review.",
        "Replied to the review with an apology and a contact to make it right.",
    ),
}
REVIEW_SOURCES = ("Google", "Trustpilot", "Shop website")


class InteractionsPlanner:
    """Plans interactions; mixed into plan._Planner, whose rng, now, start, days and _moment it uses."""

    def _interactions(self, customers: list[PlannedCustomer], orders: list[PlannedOrder]) -> list[PlannedInteraction]:
        by_customer: dict[int, list[PlannedOrder]] = {}
        for order in orders:
            by_customer.setdefault(order.customer, []).append(order)
        # The biggest buyers by what they ordered (purchases that were not cancelled); the stored net
        # amount is the database's to compute (Order.net_amount), once the plan is written.
        ordered = np.array(
            [
                float(sum(o.gross_amount for o in by_customer[i] if o.kind == "purchase" and o.status != "cancelled"))
                for i in range(len(customers))
            ]
        )
        vips = set(np.argsort(-ordered, kind="stable")[: max(1, round(VIP_SHARE * len(customers)))].tolist())
        interactions = []
        for index, customer in enumerate(customers):
            interactions += self._contacts(index, customer)
            interactions += self._reviews(index, customer, by_customer[index])
            if index in vips:
                interactions += self._invitations(index, customer)
            self._tags(customer, index in vips, by_customer[index])
        interactions += self._complaints(customers, orders)
        return interactions

    def _contacts(self, index: int, customer: PlannedCustomer) -> list[PlannedInteraction]:
        """Calls, emails, meetings and notes by the account manager over the customer's life."""
        rng = self.rng
        if customer.manager is None:
            return []
        start = (customer.acquired_at.date() - self.start).days
        b2b = bool(customer.company)
        every = {"loyal": 75, "regular": 120, "lapsing": 150, "one-off": 0}[customer.archetype] / (1.6 if b2b else 1)
        contacts = []
        if every:
            end = customer.stopped_day or self.days
            days = rng.uniform(start, max(start, end), size=rng.poisson(max(end - start, 0) / every))
            kinds = {"call": 0.35, "email": 0.3, "meeting": 0.2 if b2b else 0.08, "note": 0.2}
            contacts += [(float(day), _pick(rng, kinds)) for day in days]
        elif rng.random() < 0.5:
            contacts.append((start + float(rng.uniform(1, 4)), "thanks"))
        if customer.stopped_day is not None:
            attempts = rng.uniform(customer.stopped_day, self.days, size=rng.integers(0, 3))
            contacts += [(float(day), "winback") for day in attempts]
        return [self._contact(index, customer, day, kind) for day, kind in sorted(contacts)]

    def _contact(self, index: int, customer: PlannedCustomer, day: float, kind: str) -> PlannedInteraction:
        rng = self.rng
        moment = self._moment(day, customer.time_zone, 9, 18)
        author = customer.manager_at(moment)
        if kind == "thanks":
            return PlannedInteraction(
                index, "email", "Thank-you for your first order", moment, "outbound", "email", author
            )
        if kind == "winback":
            subject = str(rng.choice(SUBJECTS["winback"]))
            kind, channel = ("email", "email") if "email" in subject else ("call", "phone")
            sentiment = int(rng.choice([-1, 0, 1], p=[0.4, 0.4, 0.2]))
            return PlannedInteraction(index, kind, subject, moment, "outbound", channel, author, sentiment=sentiment)
        subject = str(rng.choice(SUBJECTS[kind]))
        sentiment = int(rng.choice([-1, 0, 1], p=[0.1, 0.45, 0.45])) if kind in ("call", "meeting") else None
        direction, channel = {
            "call": ("inbound" if rng.random() < 0.2 else "outbound", "phone"),
            "email": ("outbound", "email"),
            "meeting": ("outbound", "in_person" if rng.random() < 0.6 else "video"),
            "note": ("internal", "other"),
        }[kind]
        return PlannedInteraction(index, kind, subject, moment, direction, channel, author, sentiment=sentiment)

    def _reviews(self, index: int, customer: PlannedCustomer, orders: list[PlannedOrder]) -> list[PlannedInteraction]:
        rng = self.rng
        reviews = []
        for order in orders:
            if order.kind != Order.Kind.PURCHASE or order.status == Order.Status.CANCELLED:
                continue
            if rng.random() >= REVIEW_SHARE:
                continue
            moment = self._later(order.ordered_at, 3, 14)
            bad = order.status == Order.Status.REFUNDED
            sentiment = int(rng.choice([-1, 0, 1], p=[0.7, 0.2, 0.1] if bad else [0.1, 0.2, 0.7]))
            if moment is None:
                continue
            stars = {1: int(rng.integers(4, 6)), 0: 3, -1: int(rng.integers(1, 3))}[sentiment]
            draw = _draw(order.external_id, stars)
            # Good reviews are thanked within a day; a bad one waits for its owner when it is recent.
            answered = moment + timedelta(hours=2 + draw % 40)
            pending = sentiment < 0 and (self.now - moment).days < 20
            reviews.append(
                PlannedInteraction(
                    index,
                    "review",
                    f"{stars}-star review of order {order.external_id}",
                    moment,
                    "inbound",
                    "web",
                    None,
                    body=REVIEWS[sentiment][customer.language],
                    sentiment=sentiment,
                    resolved_at=None if pending or answered >= self.now else answered,
                    priority="high" if sentiment < 0 else "low",
                    resolution=RESOLUTIONS["review"][0 if sentiment >= 0 else 1],
                    rating=stars,
                    review_source=REVIEW_SOURCES[draw % len(REVIEW_SOURCES)],
                )
            )
        return reviews

    def _invitations(self, index: int, customer: PlannedCustomer) -> list[PlannedInteraction]:
        """High-value customers are invited to the quarterly events; some come and get tagged."""
        invitations = []
        for quarter in range(self.days // 91):
            day = 91 * quarter + 45
            if day < (customer.acquired_at.date() - self.start).days or self.rng.random() < 0.5:
                continue
            moment = self._moment(day, customer.time_zone, 9, 18)
            event = EVENTS[((self.start + timedelta(days=day)).month - 3) % 12 // 3]
            author = customer.manager_at(moment)
            invitations.append(
                PlannedInteraction(
                    index, "event_invitation", f"Invitation: {event}", moment, "outbound", "email", author
                )
            )
        if invitations and self.rng.random() < 0.6:
            customer.tags.append("event-attendee")
        return invitations

    def _case_details(self, kind: str, key: str, moment: datetime) -> dict:
        draw = _draw(kind, key, moment.isoformat())
        return {
            "priority": PRIORITIES[draw % len(PRIORITIES)],
            "status": "in_progress" if draw % 3 == 0 else "open",
            "resolution": RESOLUTIONS[kind][draw % len(RESOLUTIONS[kind])],
        }

    def _complaints(self, customers: list[PlannedCustomer], orders: list[PlannedOrder]) -> list[PlannedInteraction]:
        """~60 per 3000 customers; most follow a refunded order, recent ones are often still open."""
        rng = self.rng
        purchases = [o for o in orders if o.kind == Order.Kind.PURCHASE and o.status != Order.Status.CANCELLED]
        troubled = [o for o in purchases if o.status == Order.Status.REFUNDED] or purchases
        count = max(3, round(COMPLAINTS_PER_CUSTOMER * len(customers)))
        complaints = []
        for _ in range(count):
            pool = troubled if rng.random() < 0.6 else purchases
            order = pool[int(rng.integers(len(pool)))]
            customer = customers[order.customer]
            moment = self._later(order.ordered_at, 1, 10) or self.now - timedelta(hours=float(rng.uniform(1, 48)))
            kind = "complaint" if rng.random() < 0.55 else "support_ticket"
            age = (self.now - moment).days
            resolved = None
            if rng.random() >= (0.6 if age < 30 else 0.08):
                resolved = moment + timedelta(hours=float(rng.gamma(2, 36 if kind == "complaint" else 15)))
                resolved = resolved if resolved < self.now else None
            complaints.append(
                PlannedInteraction(
                    order.customer,
                    kind,
                    str(rng.choice(SUBJECTS[kind])),
                    moment,
                    "inbound",
                    str(rng.choice(["email", "phone", "chat"])),
                    customer.manager_at(moment),
                    body=f"About order {order.external_id}.",
                    sentiment=-1 if kind == "complaint" else int(rng.choice([-1, 0])),
                    resolved_at=resolved,
                    **self._case_details(kind, order.external_id, moment),
                )
            )
        return complaints
