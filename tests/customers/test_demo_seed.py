"""The demo data set: deterministic, created once, and true to every rule the models hold."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Max, OuterRef, Q, Subquery, Sum

from customers import roles
from customers.demo import DEMO_USERS, demo_plan, demo_seed
from customers.models import AccountAssignment, Customer, Interaction, Order, OrderLine, Product

from .factories import order_net_amount

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
SMALL = 200  # enough customers for every archetype to show up, small enough to stay fast


def _row_counts() -> dict[str, int]:
    models = (Customer, Product, Order, OrderLine, Interaction, AccountAssignment, get_user_model())
    return {model.__name__: model.objects.count() for model in models}


def _snapshot() -> tuple:
    first = Customer.objects.order_by("external_id").first()
    totals = Order.objects.aggregate(net=Sum("net_amount"), gross=Sum("gross_amount"))
    return (
        _row_counts(),
        (first.external_id, first.name, first.email, first.country, first.acquired_at),
        totals["net"],
        totals["gross"],
    )


def _delete_demo_data() -> None:
    Interaction.objects.all().delete()
    Order.objects.all().delete()
    Customer.objects.all().delete()
    Product.objects.all().delete()


def test_same_seed_gives_the_same_data():
    demo_seed(customers=SMALL, seed=7, now=NOW)
    first = _snapshot()
    _delete_demo_data()

    demo_seed(customers=SMALL, seed=7, now=NOW)

    assert _snapshot() == first
    assert first[1][0] == "DEMO-000001"


def test_another_seed_gives_other_data():
    first = demo_plan(customers=50, seed=1, now=NOW)

    second = demo_plan(customers=50, seed=2, now=NOW)

    assert [c.name for c in first.customers] != [c.name for c in second.customers]


def test_second_run_creates_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        created = demo_seed(customers=SMALL, seed=7, now=NOW)
    before = _row_counts()

    again = demo_seed(customers=SMALL, seed=7, now=NOW)

    assert created.created and not again.created
    assert "already there" in again.message
    assert _row_counts() == before
    assert before["Customer"] == SMALL
    # One summary event for the whole seed, not one per row.
    assert len(callbacks) == 1


def test_seed_adds_nothing_to_a_database_with_real_customers():
    Customer.objects.create(external_id="SHOP-1", name="A real customer")

    result = demo_seed(customers=SMALL, seed=7, now=NOW)

    assert not result.created
    assert Customer.objects.count() == 1
    assert not get_user_model().objects.filter(username="admin").exists()


def test_order_amounts_follow_the_model_rules():
    demo_seed(customers=SMALL, seed=7, now=NOW)

    orders = Order.objects.annotate(line_sum=Sum("lines__amount"), line_count=Count("lines"))
    for order in orders:
        assert order.line_count >= 1
        assert order.gross_amount == order.line_sum
        assert order.net_amount == order_net_amount(
            kind=order.kind, status=order.status, gross_amount=order.gross_amount, refunded_amount=order.refunded_amount
        )
        assert order.ordered_at <= NOW
    for line in OrderLine.objects.select_related("order"):
        assert line.amount == (line.quantity * line.unit_price).quantize(Decimal("0.01"))
        assert (line.quantity > 0) == (line.order.kind == Order.Kind.PURCHASE)
    refunds = Order.objects.filter(kind=Order.Kind.REFUND)
    assert refunds.exists() and all(r.external_id.startswith("DEMO-R-") for r in refunds)
    assert Order.objects.filter(status=Order.Status.REFUNDED).exists()


def test_every_managed_customer_has_an_open_assignment_to_their_manager():
    demo_seed(customers=SMALL, seed=7, now=NOW)

    managed = Customer.objects.filter(account_manager__isnull=False)
    open_manager = AccountAssignment.objects.filter(customer=OuterRef("pk"), ended_at__isnull=True).values("manager")

    assert managed.count() > 0.8 * SMALL
    assert not managed.exclude(account_manager=Subquery(open_manager)).exists()
    assert set(managed.values_list("account_manager__username", flat=True)) == {"amelia", "budi", "carles"}
    assert not AccountAssignment.objects.filter(customer__account_manager__isnull=True, ended_at__isnull=True).exists()


def test_customers_are_plausible_and_consented_with_date_and_source():
    demo_seed(customers=SMALL, seed=7, now=NOW)

    customers = Customer.objects.all()
    domains = {c.email.rsplit("@", 1)[1] for c in customers}
    consented = customers.filter(marketing_consent=True)

    assert domains <= {"example.com", "example.org", "example.net"}
    assert set(customers.values_list("language", flat=True)) == {"en", "id", "ms", "ca"}
    assert 0.4 * SMALL < consented.count() < 0.8 * SMALL
    assert not consented.filter(Q(consent_at__isnull=True) | Q(consent_source="")).exists()
    referred = customers.filter(referred_by__isnull=False)
    assert referred.exists()
    assert all(c.referred_by.external_id < c.external_id for c in referred)
    assert not referred.exclude(acquisition_source="referral").exists()


def test_customers_show_a_mix_of_buying_patterns():
    demo_seed(customers=SMALL, seed=7, now=NOW)

    purchases = Customer.objects.annotate(
        bought=Count("orders", filter=Q(orders__kind=Order.Kind.PURCHASE)),
        last=Max("orders__ordered_at", filter=Q(orders__kind=Order.Kind.PURCHASE)),
    )

    assert purchases.filter(bought=1).count() > 0.1 * SMALL
    assert purchases.filter(bought__gt=10).count() > 0.05 * SMALL
    assert purchases.filter(bought__gt=2, last__lt=NOW - timedelta(days=180)).count() > 0.05 * SMALL
    assert purchases.filter(last__gte=NOW - timedelta(days=30)).exists()


def test_interactions_include_complaints_open_and_resolved():
    demo_seed(customers=3 * SMALL, seed=7, now=NOW)

    tracked = Interaction.objects.filter(kind__in=Interaction.TRACKED_KINDS)

    assert tracked.filter(resolved_at__isnull=False).exists()
    assert tracked.filter(resolved_at__isnull=True).exists()
    assert Interaction.objects.filter(kind=Interaction.Kind.REVIEW, sentiment__isnull=False).exists()
    assert Interaction.objects.filter(kind=Interaction.Kind.EVENT_INVITATION).exists()
    assert not Interaction.objects.filter(occurred_at__gt=NOW).exists()


def test_demo_users_have_their_roles():
    demo_seed(customers=20, seed=7, now=NOW)

    users = {u.username: u for u in get_user_model().objects.prefetch_related("groups")}

    assert users["admin"].is_superuser and users["admin"].is_staff
    assert users["admin"].check_password("demo-password")
    for name in ("amelia", "budi", "carles"):
        assert roles.is_account_manager(users[name])
    assert roles.is_marketer(users["marta"])
    assert not users["marta"].is_staff


def test_command_prints_the_logins_and_says_when_the_data_is_there():
    out = StringIO()

    call_command("seed_demo", customers=20, stdout=out)
    call_command("seed_demo", customers=20, stdout=out)

    text = out.getvalue()
    assert "Demo data created" in text
    assert "already there" in text
    assert "password: demo-password" in text
    for user in DEMO_USERS:
        assert f"  {user.username} " in text
