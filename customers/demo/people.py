"""The demo's people: its users (one per role and language) and its customers, who they are, who
manages them, who referred them, their consent and tags. A part of the planner (plan._Planner)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np

from .. import roles
from ..models import Order
from .orders import CATALOGUE

if TYPE_CHECKING:
    from .orders import PlannedOrder

DEMO_PASSWORD = "demo-password"


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

B2B_SHARE = 0.30
REFERRED_SHARE = 0.08
CONSENT_SHARE = 0.60
UNASSIGNED_SHARE = 0.05
CROSS_ASSIGNED_SHARE = 0.15  # a book is mostly one region, not only one
REASSIGNED_SHARE = 0.08  # had another manager before, so book history has something to show


@dataclass
class PlannedCustomer:
    name: str
    email: str
    phone: str
    company: str
    country: str
    language: str
    time_zone: str
    archetype: str  # loyal, regular, lapsing or one-off: set from the purchases drawn (OrdersPlanner)
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


def _pick(rng: np.random.Generator, weights: dict):
    keys = list(weights)
    p = np.fromiter(weights.values(), float)
    return keys[rng.choice(len(keys), p=p / p.sum())]


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


class PeoplePlanner:
    """Plans customers; mixed into plan._Planner, whose rng, now and start it uses."""

    def _customer(self) -> PlannedCustomer:
        rng = self.rng
        country = COUNTRIES[rng.choice(len(COUNTRIES), p=[c.weight for c in COUNTRIES])]
        culture = _pick(rng, country.cultures)
        name, email_local, company_word = self._name(culture)
        b2b = rng.random() < B2B_SHARE
        favourites = np.zeros(len(CATALOGUE))
        chosen = rng.choice(len(CATALOGUE), size=int(rng.integers(1, 4)), replace=False)
        favourites[chosen] = rng.uniform(1, 3, size=len(chosen))
        return PlannedCustomer(
            name=name,
            email=self._email(email_local),
            phone=self._phone(country),
            company=country.company.format(f"{company_word} {rng.choice(COMPANY_TRADES)}") if b2b else "",
            country=country.name,
            language=_pick(rng, CULTURE_LANGUAGES[culture]),
            time_zone=_pick(rng, country.zones),
            archetype="",
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
