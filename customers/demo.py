"""The demo data set that `make run` starts with: users, customers, products, orders, interactions.

``demo_plan()`` is pure: a seeded numpy Generator decides everything, so one seed always gives
the same customers, orders and interactions (dates are offsets from ``now``, so the demo always
ends today). ``demo_seed()`` writes a plan with ``bulk_create`` in one transaction, without the
per-row services or their events, and publishes one ``demo.seeded`` event after commit.

Customer archetypes drive the buying pattern, so that every dashboard has something to show:
loyal (buys every 30-45 days, growing baskets), regular (every 60-120 days), lapsing (was
regular, stopped 4-10 months ago) and one-off (a single purchase).
"""

import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from retention_crm import events

from . import roles
from .models import AccountAssignment, Customer, Interaction, Order, OrderLine, Product, Tag
from .rollups import customer_rollups_refresh

DEMO_PREFIX = "DEMO-"
DEMO_PASSWORD = "demo-password"
# 2000 rows of at most ~12 columns stay under SQLite's 32766 bound variables per INSERT and
# keep one batch of model instances to a few MB.
BATCH_SIZE = 2000
CENT = Decimal("0.01")


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    superuser: bool = False


# One name per shipped language: Malay (admin), English, Indonesian and Catalan (two).
DEMO_USERS = (
    DemoUser("admin", "Aisyah", "Rahman", roles.ADMINISTRATOR, superuser=True),
    DemoUser("amelia", "Amelia", "Hughes", roles.ACCOUNT_MANAGER),
    DemoUser("budi", "Budi", "Santoso", roles.ACCOUNT_MANAGER),
    DemoUser("carles", "Carles", "Puig", roles.ACCOUNT_MANAGER),
    DemoUser("marta", "Marta", "Vidal", roles.MARKETER),
)
MANAGERS = ("amelia", "budi", "carles")

# --- Who the customers are -------------------------------------------------------------------

NAMES = {
    "en": {
        "first": "Oliver Amelia George Olivia Harry Isla Jack Emily James Sophie Thomas Grace William Charlotte "
        "Daniel Lucy Samuel Chloe Joseph Hannah Michael Emma Liam Aoife Sean Niamh Ethan Ava Noah Mia".split(),
        "last": "Smith Jones Taylor Brown Williams Wilson Johnson Davies Evans Roberts Walker Wright Thompson "
        "Hughes Murphy Kelly O'Brien Clarke Patel Miller Davis Anderson Campbell Byrne Baker Carter".split(),
    },
    "id": {
        "first": "Budi Siti Agus Dewi Rina Andi Putri Wahyu Ayu Eko Sri Hendra Indah Rizky Fitri Adi Nur Bayu "
        "Ratna Dimas Yusuf Lestari Fajar Maya Gilang Wulan Arif Sari".split(),
        "last": "Santoso Wijaya Saputra Hidayat Pratama Kurniawan Setiawan Nugroho Susanto Siregar Gunawan Halim "
        "Lubis Wibowo Purnomo Rahmawati Sitompul Harahap Tanjung Hakim Permana Utomo".split(),
    },
    "ms": {
        "male": "Ahmad Muhammad Faizal Hafiz Azman Hakim Amir Iskandar Razak Syafiq Zulkifli Farid Irfan Haziq".split(),
        "female": "Nurul Siti Aisyah Farah Nor Aminah Zarina Fatimah Liyana Hidayah Sofia Izzah Syazwani".split(),
        "last": "Ismail Hassan Abdullah Ibrahim Rahman Yusof Osman Hamid Aziz Salleh Kassim Ali Omar Zakaria".split(),
    },
    "zh": {
        "first": "Wei Ming|Mei Ling|Jia Hui|Kai Wen|Hui Min|Jun Jie|Xin Yi|Zhi Hao|Li Na|Wen Jie|Pei Shan".split("|"),
        "last": "Tan Lim Lee Ng Wong Chan Goh Ong Teo Koh Chong Yeo".split(),
    },
    "ca": {
        "first": "Jordi Montserrat Núria Pau Marc Laia Arnau Mireia Oriol Meritxell Xavier Roser Joan Anna Pere "
        "Queralt Jaume Carme Martí Aina Ferran Gemma Sergi Neus Enric Berta".split(),
        "last": "Puig Vila Ferrer Soler Serra Font Pujol Casals Roca Bosch Sala Vidal Camps Riera Coll Prat Mas "
        "Badia Torrent Figueras Rovira Batlle Costa Grau Solé Vendrell".split(),
    },
}
# Which languages a name culture speaks to us in: language follows country, mostly.
CULTURE_LANGUAGES = {
    "en": {"en": 1.0},
    "id": {"id": 0.92, "en": 0.08},
    "ms": {"ms": 0.88, "en": 0.12},
    "zh": {"en": 0.8, "ms": 0.2},
    "ca": {"ca": 0.85, "en": 0.15},
}
COMPANY_WORDS = {
    "en": "Harbour Northgate Riverside Oakfield Kingsway Meadow Brightwater Ashford Highland Union".split(),
    "id": "Sinar Maju Jaya Cahaya Mekar Bintang Sentosa Abadi Sejahtera Mandiri".split(),
    "ms": "Bestari Gemilang Cemerlang Murni Permata Harmoni Setia Wawasan Mutiara Indah".split(),
    "zh": "Golden Eastern Lucky Pearl Everbright Oriental Summit Fortune Jade Harmony".split(),
    "ca": "Llevant Montseny Mediterrània Garbí Tramuntana Cadí Empordà Penedès Canigó Ponent".split(),
}
COMPANY_TRADES = "Trading|Supplies|Interiors|Gifts|Hospitality|Retail|Events|Office|Home|Studio".split("|")


@dataclass(frozen=True)
class Country:
    name: str
    weight: float
    phone: str  # international prefix
    company: str  # how a company name is built: "{} Ltd", "PT {}", ...
    zones: dict[str, float]
    cultures: dict[str, float]


COUNTRIES = (
    Country("United Kingdom", 0.19, "+44", "{} Ltd", {"Europe/London": 1}, {"en": 0.94, "ms": 0.03, "ca": 0.03}),
    Country("Ireland", 0.04, "+353", "{} Ltd", {"Europe/Dublin": 1}, {"en": 1}),
    Country(
        "United States",
        0.08,
        "+1",
        "{} Inc.",
        {"America/New_York": 0.5, "America/Chicago": 0.25, "America/Los_Angeles": 0.25},
        {"en": 0.97, "id": 0.03},
    ),
    Country(
        "Australia",
        0.03,
        "+61",
        "{} Pty Ltd",
        {"Australia/Sydney": 0.6, "Australia/Melbourne": 0.4},
        {"en": 0.9, "id": 0.05, "ms": 0.05},
    ),
    Country(
        "Indonesia",
        0.20,
        "+62",
        "PT {}",
        {"Asia/Jakarta": 0.7, "Asia/Makassar": 0.2, "Asia/Jayapura": 0.1},
        {"id": 1},
    ),
    Country(
        "Malaysia", 0.16, "+60", "{} Sdn Bhd", {"Asia/Kuala_Lumpur": 0.85, "Asia/Kuching": 0.15}, {"ms": 0.7, "zh": 0.3}
    ),
    Country("Singapore", 0.06, "+65", "{} Pte Ltd", {"Asia/Singapore": 1}, {"zh": 0.6, "ms": 0.25, "en": 0.15}),
    Country("Spain", 0.20, "+34", "{} S.L.", {"Europe/Madrid": 1}, {"ca": 0.9, "en": 0.1}),
    Country("Andorra", 0.04, "+376", "{} S.L.", {"Europe/Andorra": 1}, {"ca": 1}),
)
# Each book follows the languages its manager speaks; cross-assignments and gaps are added on top.
COUNTRY_MANAGERS = {
    "Indonesia": {"budi": 1},
    "Malaysia": {"budi": 0.7, "amelia": 0.3},
    "Singapore": {"budi": 0.5, "amelia": 0.5},
    "Ireland": {"carles": 1},  # the European desk
    "Spain": {"carles": 1},
    "Andorra": {"carles": 1},
}
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
SOURCES = {"web": 0.38, "marketplace": 0.2, "event": 0.12, "partner": 0.14, "walk-in": 0.16}
CONSENT_SOURCES = {
    "web": ("web_form", "checkout"),
    "marketplace": ("email",),
    "event": ("in_person",),
    "partner": ("email", "phone"),
    "walk-in": ("in_person",),
    "referral": ("web_form", "email"),
}
TAGS = ("vip", "wholesale", "newsletter", "b2b", "event-attendee")

# Shares of the base; the brief's mix: 20% loyal, 30% regular, 25% lapsing, 25% one-off.
ARCHETYPES = {"loyal": 0.20, "regular": 0.30, "lapsing": 0.25, "one-off": 0.25}
B2B_SHARE = 0.30
REFERRED_SHARE = 0.08
CONSENT_SHARE = 0.60
UNASSIGNED_SHARE = 0.05
CROSS_ASSIGNED_SHARE = 0.15  # a book is mostly one region, not only one
REASSIGNED_SHARE = 0.08  # had another manager before, so book history has something to show
REFUND_SHARE = 0.03
CANCEL_SHARE = 0.01
VIP_SHARE = 0.05
COMPLAINTS_PER_CUSTOMER = 60 / 3000
# A planned order's status until _refunds() turns it into a separate refund order.
TO_REFUND = "to-refund"

# --- What they buy ---------------------------------------------------------------------------

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

# --- What happens between purchases ----------------------------------------------------------

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


# --- The plan --------------------------------------------------------------------------------


@dataclass
class PlannedProduct:
    sku: str
    name: str
    category: str
    price: Decimal
    margin: Decimal
    popularity: float


@dataclass
class PlannedCustomer:
    name: str
    email: str
    phone: str
    company: str
    country: str
    language: str
    time_zone: str
    archetype: str
    manager: str | None
    acquisition_source: str
    favourites: np.ndarray  # category weights
    discount: Decimal  # trade discount on list prices
    acquired_at: datetime | None = None
    external_id: str = ""
    referrer: int | None = None  # index into DemoPlan.customers, always an earlier customer
    previous_manager: str | None = None
    reassigned_at: datetime | None = None
    consent_at: datetime | None = None
    consent_source: str = ""
    tags: list[str] = field(default_factory=list)
    stopped_day: float | None = None  # lapsing customers: when they stopped buying

    def manager_at(self, moment: datetime) -> str | None:
        if self.previous_manager and moment < self.reassigned_at:
            return self.previous_manager
        return self.manager


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


@dataclass
class DemoPlan:
    products: list[PlannedProduct]
    customers: list[PlannedCustomer]
    orders: list[PlannedOrder]
    interactions: list[PlannedInteraction]


def demo_plan(*, customers: int = 3000, seed: int = 42, years: int = 2, now: datetime | None = None) -> DemoPlan:
    """Everything the demo holds, decided by ``seed`` alone; dates end at ``now``."""
    return _Planner(seed=seed, years=years, now=now or timezone.now()).plan(customers)


def _pick(rng: np.random.Generator, weights: dict):
    keys = list(weights)
    p = np.fromiter(weights.values(), float)
    return keys[rng.choice(len(keys), p=p / p.sum())]


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


class _Planner:
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

    # -- products and customers -------------------------------------------------------------

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

    def _customer(self) -> PlannedCustomer:
        rng = self.rng
        country = COUNTRIES[rng.choice(len(COUNTRIES), p=[c.weight for c in COUNTRIES])]
        culture = _pick(rng, country.cultures)
        name, email_local, company_word = self._name(culture)
        b2b = rng.random() < B2B_SHARE
        favourites = np.zeros(len(CATALOGUE))
        chosen = rng.choice(len(CATALOGUE), size=int(rng.integers(1, 4)), replace=False)
        favourites[chosen] = rng.uniform(1, 3, size=len(chosen))
        archetype = _pick(rng, ARCHETYPES)
        return PlannedCustomer(
            name=name,
            email=self._email(email_local),
            phone=self._phone(country),
            company=country.company.format(f"{company_word} {rng.choice(COMPANY_TRADES)}") if b2b else "",
            country=country.name,
            language=_pick(rng, CULTURE_LANGUAGES[culture]),
            time_zone=_pick(rng, country.zones),
            archetype=archetype,
            manager=self._manager(country.name),
            acquisition_source=_pick(rng, SOURCES),
            favourites=favourites,
            discount=Decimal(f"{rng.uniform(0.1, 0.2):.2f}") if b2b else Decimal("0"),
        )

    def _name(self, culture: str) -> tuple[str, str, str]:
        """Display name, the local part of an email address, a word for a company name."""
        rng, names = self.rng, NAMES[culture]
        company = str(rng.choice(COMPANY_WORDS[culture]))
        if culture == "ms":
            male = rng.random() < 0.5
            first = str(rng.choice(names["male" if male else "female"]))
            last = str(rng.choice(names["last"]))
            return f"{first} {'bin' if male else 'binti'} {last}", f"{first}.{last}", company
        first, last = str(rng.choice(names["first"])), str(rng.choice(names["last"]))
        if culture == "zh":
            return f"{last} {first}", f"{first}.{last}", company
        if culture == "ca":
            # Catalans carry two surnames; the email uses the first.
            second = str(rng.choice(names["last"]))
            return f"{first} {last} {second}", f"{first}.{last}", company
        if culture == "id" and rng.random() < 0.15:
            return first, f"{first}{int(rng.integers(10, 100))}", company  # many Indonesians use one name
        return f"{first} {last}", f"{first}.{last}", company

    def _email(self, local: str) -> str:
        base = ".".join(_ascii(part) for part in local.split("."))
        self.emails[base] += 1
        suffix = "" if self.emails[base] == 1 else str(self.emails[base])
        return f"{base}{suffix}@{self.rng.choice(EMAIL_DOMAINS)}"

    def _phone(self, country: Country) -> str:
        rng = self.rng
        if country.name == "United Kingdom":
            return f"+44 7700 900{rng.integers(0, 1000):03d}"  # Ofcom's range for fiction
        if country.name == "United States":
            return f"+1 {rng.choice([212, 312, 415, 617])} 555 01{rng.integers(0, 100):02d}"  # 555-01xx is fictional
        digits = "".join(str(d) for d in rng.integers(0, 10, size=8))
        return f"{country.phone} {rng.integers(2, 10)}{digits[:3]} {digits[3:]}"

    def _manager(self, country: str) -> str | None:
        rng = self.rng
        draw = rng.random()
        if draw < UNASSIGNED_SHARE:
            return None
        if draw < UNASSIGNED_SHARE + CROSS_ASSIGNED_SHARE:
            return str(rng.choice(MANAGERS))
        return _pick(rng, COUNTRY_MANAGERS.get(country, {"amelia": 1}))

    # -- orders ---------------------------------------------------------------------------

    def _purchase_days(self, archetype: str) -> tuple[list[float], float | None]:
        """Days (from the window's start) of each purchase, and when a lapsing customer stopped."""
        rng, days = self.rng, self.days
        # Acquisition skews early: the base that already buys shows up in the first months.
        skew = rng.beta(1.0, 1.5)
        if archetype == "one-off":
            return [float(rng.uniform(0, days))], None
        if archetype == "lapsing":
            stop = days - rng.uniform(120, 300)
            first, mean, shape = skew * max(stop - 90, 1), rng.uniform(40, 100), 3
        elif archetype == "loyal":
            stop, first, mean, shape = days, skew * (days - 90), rng.uniform(30, 45), 6
        else:
            stop, first, mean, shape = days, skew * (days - 60), rng.uniform(60, 120), 3
        purchases = [float(first)]
        while (following := purchases[-1] + rng.gamma(shape, mean / shape)) <= stop:
            purchases.append(float(following))
        if archetype == "lapsing" and len(purchases) == 1:
            purchases.append(float(rng.uniform(first, stop)) if stop > first else float(first))
        return purchases, (stop if archetype == "lapsing" else None)

    def _orders(self, index: int, customer: PlannedCustomer) -> list[PlannedOrder]:
        purchase_days, customer.stopped_day = self._purchase_days(customer.archetype)
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

    # -- relations between customers and managers -------------------------------------------

    def _referrals(self, customers: list[PlannedCustomer]) -> None:
        """~8% were referred by an earlier customer, most often by a loyal or regular one."""
        rng = self.rng
        influence = np.array([{"loyal": 4.0, "regular": 2.0}.get(c.archetype, 1.0) for c in customers])
        for index in range(1, len(customers)):
            if rng.random() < REFERRED_SHARE:
                weights = influence[:index]
                customers[index].referrer = int(rng.choice(index, p=weights / weights.sum()))
                customers[index].acquisition_source = "referral"

    def _assignment_and_consent(self, customer: PlannedCustomer) -> None:
        rng = self.rng
        age_days = (self.now - customer.acquired_at).days
        if customer.manager and age_days > 200 and rng.random() < REASSIGNED_SHARE:
            customer.previous_manager = str(rng.choice([m for m in MANAGERS if m != customer.manager]))
            customer.reassigned_at = customer.acquired_at + timedelta(days=float(rng.uniform(60, age_days - 30)))
        if rng.random() < CONSENT_SHARE:
            customer.consent_source = str(rng.choice(CONSENT_SOURCES[customer.acquisition_source]))
            customer.consent_at = min(
                customer.acquired_at + timedelta(minutes=float(rng.uniform(0, 3 * 24 * 60))), self.now
            )

    # -- interactions and tags ------------------------------------------------------------

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
                )
            )
        return complaints

    def _tags(self, customer: PlannedCustomer, vip: bool, orders: list[PlannedOrder]) -> None:
        if vip:
            customer.tags.append("vip")
        if customer.company:
            customer.tags.append("b2b")
            purchases = [o for o in orders if o.kind == Order.Kind.PURCHASE]
            if sum(q for o in purchases for _p, q, _price in o.lines) / len(purchases) > 20:
                customer.tags.append("wholesale")
        if customer.consent_at and self.rng.random() < 0.75:
            customer.tags.append("newsletter")
        if customer.acquisition_source == "event" and "event-attendee" not in customer.tags:
            customer.tags.append("event-attendee")


# --- Writing it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoResult:
    created: bool
    counts: dict[str, int]
    message: str = ""
    seconds: float = 0.0


def demo_exists() -> bool:
    return Customer.objects.filter(external_id__startswith=DEMO_PREFIX).exists()


@transaction.atomic
def demo_seed(*, customers: int = 3000, seed: int = 42, years: int = 2, now: datetime | None = None) -> DemoResult:
    """Create the roles, demo users and demo data once; later calls change nothing."""
    started = time.monotonic()
    roles.roles_ensure()
    if demo_exists():
        count = Customer.objects.filter(external_id__startswith=DEMO_PREFIX).count()
        return DemoResult(False, {"customers": count}, f"The demo data is already there ({count} demo customers).")
    if Customer.objects.exists():
        # Never mix made-up customers (and users with a published password) into a real book.
        return DemoResult(False, {}, "The database holds customers that are not demo data; no demo data added.")
    users = _users_ensure()
    counts = _write(demo_plan(customers=customers, seed=seed, years=years, now=now), users)
    events.publish(events.DEMO_SEEDED)
    return DemoResult(True, counts, seconds=time.monotonic() - started)


def _users_ensure() -> dict:
    """The demo users by username; existing users keep their password and names."""
    User = get_user_model()
    password = make_password(DEMO_PASSWORD)  # hashed once: the demo's password is public anyway
    users = {}
    for demo in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=demo.username,
            defaults={
                "first_name": demo.first_name,
                "last_name": demo.last_name,
                "email": f"{demo.username}@example.com",
                "password": password,
                "is_staff": demo.superuser,
                "is_superuser": demo.superuser,
            },
        )
        user.groups.add(Group.objects.get(name=demo.role))
        users[demo.username] = user
    return users


def _write(plan: DemoPlan, users: dict) -> dict[str, int]:
    products = Product.objects.bulk_create(
        [Product(sku=p.sku, name=p.name, category=p.category, margin=p.margin) for p in plan.products],
        batch_size=BATCH_SIZE,
    )
    customers = Customer.objects.bulk_create([_customer(c, users) for c in plan.customers], batch_size=BATCH_SIZE)
    referred = []
    for planned, customer in zip(plan.customers, customers, strict=True):
        if planned.referrer is not None:
            customer.referred_by_id = customers[planned.referrer].pk
            referred.append(customer)
    Customer.objects.bulk_update(referred, ["referred_by"], batch_size=BATCH_SIZE)
    tags = {name: Tag.objects.get_or_create(name=name)[0].pk for name in TAGS}
    Customer.tags.through.objects.bulk_create(
        [
            Customer.tags.through(customer_id=customer.pk, tag_id=tags[name])
            for planned, customer in zip(plan.customers, customers, strict=True)
            for name in planned.tags
        ],
        batch_size=BATCH_SIZE,
    )
    assignments = AccountAssignment.objects.bulk_create(_assignments(plan, customers, users), batch_size=BATCH_SIZE)
    orders = Order.objects.bulk_create(
        [
            Order(
                external_id=o.external_id,
                customer_id=customers[o.customer].pk,
                ordered_at=o.ordered_at,
                kind=o.kind,
                status=o.status,
                gross_amount=o.gross_amount,
                refunded_amount=o.refunded_amount,
            )
            for o in plan.orders
        ],
        batch_size=BATCH_SIZE,
    )
    lines = OrderLine.objects.bulk_create(
        [
            OrderLine(
                order_id=order.pk,
                line_number=number,
                product_id=products[product].pk,
                quantity=quantity,
                unit_price=price,
                amount=(quantity * price).quantize(CENT),
            )
            for planned, order in zip(plan.orders, orders, strict=True)
            for number, (product, quantity, price) in enumerate(planned.lines, start=1)
        ],
        batch_size=BATCH_SIZE,
    )
    customer_rollups_refresh(customer.pk for customer in customers)
    interactions = Interaction.objects.bulk_create(
        [_interaction(i, customers, users) for i in plan.interactions], batch_size=BATCH_SIZE
    )
    return {
        "customers": len(customers),
        "products": len(products),
        "orders": sum(o.kind == Order.Kind.PURCHASE for o in plan.orders),
        "refunds": sum(o.kind == Order.Kind.REFUND for o in plan.orders),
        "order lines": len(lines),
        "interactions": len(interactions),
        "assignments": len(assignments),
    }


def _customer(c: PlannedCustomer, users: dict) -> Customer:
    return Customer(
        external_id=c.external_id,
        name=c.name,
        email=c.email,
        phone=c.phone,
        company=c.company,
        country=c.country,
        language=c.language,
        time_zone=c.time_zone,
        account_manager=users[c.manager] if c.manager else None,
        acquired_at=c.acquired_at.date(),
        acquisition_source=c.acquisition_source,
        marketing_consent=c.consent_at is not None,
        consent_at=c.consent_at,
        consent_source=c.consent_source,
    )


def _assignments(plan: DemoPlan, customers: list[Customer], users: dict) -> list[AccountAssignment]:
    """Book history: the current open assignment, after a closed one for reassigned customers."""
    assignments = []
    for planned, customer in zip(plan.customers, customers, strict=True):
        if planned.manager is None:
            continue
        start = planned.acquired_at
        if planned.previous_manager:
            assignments.append(
                AccountAssignment(
                    customer=customer,
                    manager=users[planned.previous_manager],
                    started_at=start,
                    ended_at=planned.reassigned_at,
                )
            )
            start = planned.reassigned_at
        assignments.append(AccountAssignment(customer=customer, manager=users[planned.manager], started_at=start))
    return assignments


def _interaction(i: PlannedInteraction, customers: list[Customer], users: dict) -> Interaction:
    return Interaction(
        customer_id=customers[i.customer].pk,
        kind=i.kind,
        direction=i.direction,
        channel=i.channel,
        subject=i.subject,
        body=i.body,
        occurred_at=i.occurred_at,
        author=users[i.author] if i.author else None,
        sentiment=i.sentiment,
        resolved_at=i.resolved_at,
    )
