"""The demo data set that `make run` starts with: users, customers, products, orders, interactions.

``demo_plan()`` (plan.py) is pure: a seed decides everything. ``demo_seed()`` (seed.py) writes a plan
once. What is generated lives by kind: people.py (users, customers, managers, referrals, consent,
tags), orders.py (the catalogue, purchases, cancellations and refunds), interactions.py (contacts,
reviews, invitations, complaints).

Customer archetypes drive the buying pattern, so that every dashboard has something to show:
loyal (buys every 30-45 days, growing baskets), regular (every 60-120 days), lapsing (was
regular, stopped 4-10 months ago) and one-off (a single purchase).
"""

from .people import DEMO_PASSWORD, DEMO_USERS, DemoUser
from .plan import DEMO_PREFIX, DemoPlan, demo_plan
from .seed import DemoResult, demo_exists, demo_seed

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_PREFIX",
    "DEMO_USERS",
    "DemoPlan",
    "DemoResult",
    "DemoUser",
    "demo_exists",
    "demo_plan",
    "demo_seed",
]
