"""Writing a demo plan: ``demo_seed`` creates the roles, the demo users and the plan's rows with
``bulk_create`` in one transaction, without the per-row services or their events, and publishes one
``demo.seeded`` event after commit. It writes nothing into a database that holds other customers."""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

from retention_crm import events

from .. import roles
from ..models import AccountAssignment, Customer, Interaction, Order, OrderLine, Product, Tag
from ..rollups import customer_rollups_refresh
from .interactions import PlannedInteraction
from .orders import CENT
from .people import DEMO_PASSWORD, DEMO_USERS, TAGS, PlannedCustomer
from .plan import DEMO_PREFIX, DemoPlan, demo_plan

# 2000 rows of at most ~12 columns stay under SQLite's 32766 bound variables per INSERT and
# keep one batch of model instances to a few MB.
BATCH_SIZE = 2000


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


def _case_fields(i: PlannedInteraction, customer: Customer, users: dict) -> dict:
    """A complaint, ticket or review is a case: its priority, due time, owner and status (as planned)."""
    if i.kind not in Interaction.TRACKED_KINDS:
        return {}
    priority = i.priority or Interaction.Priority.NORMAL
    resolved = i.resolved_at is not None
    return {
        "priority": priority,
        "due_at": i.occurred_at + timedelta(hours=Interaction.DUE_AFTER_HOURS[priority]),
        "owner_id": customer.account_manager_id,
        "status": Interaction.Status.RESOLVED if resolved else (i.status or Interaction.Status.OPEN),
        "resolved_by_id": customer.account_manager_id if resolved else None,
        "resolution": i.resolution if resolved else "",
        "rating": i.rating,
        "review_source": i.review_source,
    }


def _interaction(i: PlannedInteraction, customers: list[Customer], users: dict) -> Interaction:
    return Interaction(
        **_case_fields(i, customers[i.customer], users),
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
