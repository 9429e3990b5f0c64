"""The ledger: earning, reversal, expiry (oldest first) and adjustments, each keeping the cached
balance equal to the sum of the entries and never below zero; bad input refused, the ledger
unchanged."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction

from customers import services as customer_services
from loyalty import selectors, services
from loyalty.models import EarningRule, LedgerEntry, Member
from tests.customers.factories import CustomerFactory

from .factories import EarningRuleFactory, MemberFactory, place_order

pytestmark = pytest.mark.django_db

AT = datetime(2025, 3, 1, 10, tzinfo=UTC)


@pytest.fixture
def member(alice):
    EarningRuleFactory()  # 1 point per currency unit
    return MemberFactory(customer__account_manager=alice)


def balance(member) -> int:
    member.refresh_from_db()
    return member.points


def test_an_order_earns_its_points_once_however_often_it_is_awarded(member):
    order = place_order(member.customer, amount="123.45")

    services.order_points_earn(order_id=order.pk)
    services.order_points_earn(order_id=order.pk)

    entry = LedgerEntry.objects.get(order=order)
    assert (entry.kind, entry.points, entry.source) == ("earn", 123, "order")
    assert entry.expires_at == order.ordered_at + timedelta(days=365)
    assert balance(member) == 123
    assert selectors.balance_drift() == []


def test_a_customer_who_is_not_a_member_earns_nothing(alice):
    EarningRuleFactory()
    order = place_order(CustomerFactory())

    assert services.order_points_earn(order_id=order.pk) is None
    assert LedgerEntry.objects.count() == 0


def test_orders_placed_before_enrolment_earn_nothing(member):
    order = place_order(member.customer, at=datetime(2019, 6, 1, tzinfo=UTC))

    assert services.order_points_earn(order_id=order.pk) is None


def test_rules_apply_from_their_effective_date_and_past_entries_are_never_rewritten(member):
    first = place_order(member.customer, amount="100", at=AT)
    services.order_points_earn(order_id=first.pk)
    EarningRule.objects.filter(kind="base").update(ends_at=AT + timedelta(days=10))
    EarningRuleFactory(value=Decimal("2"), starts_at=AT + timedelta(days=10))

    later = place_order(member.customer, amount="100", at=AT + timedelta(days=20))
    services.order_points_earn(order_id=later.pk)

    assert LedgerEntry.objects.get(order=first).points == 100
    assert LedgerEntry.objects.get(order=later).points == 200


def test_multipliers_promotions_tier_and_first_purchase_bonus_combine(member):
    EarningRuleFactory(kind="category", category="tea", value=Decimal("3"))
    EarningRuleFactory(
        kind="promotion", value=Decimal("1.5"), starts_at=AT - timedelta(days=1), ends_at=AT + timedelta(days=1)
    )
    EarningRuleFactory(kind="first_purchase", value=Decimal("50"))

    first = place_order(member.customer, amount="10", category="tea", sku="TEA-1", at=AT)
    second = place_order(member.customer, amount="10", category="tea", sku="TEA-1", at=AT + timedelta(days=5))
    services.order_points_earn(order_id=first.pk)
    services.order_points_earn(order_id=second.pk)

    # 10 x 3 (tea) x 1 (base) x 1.5 (promotion, in force on the first day only) + 50 (first purchase)
    assert LedgerEntry.objects.get(order=first).points == 45 + 50
    assert LedgerEntry.objects.get(order=second).points == 30


def test_a_partial_refund_reverses_in_proportion_and_a_second_look_takes_nothing_more(member):
    order = place_order(member.customer, amount="100")
    services.order_points_earn(order_id=order.pk)

    customer_services.order_refund(order=order, amount=Decimal("25"))
    services.order_points_reverse(order_id=order.pk)
    services.order_points_reverse(order_id=order.pk)

    assert list(LedgerEntry.objects.filter(order=order, kind="reverse").values_list("points", flat=True)) == [-25]
    assert balance(member) == 75

    customer_services.order_refund(order=order)  # the rest
    services.order_points_reverse(order_id=order.pk)

    assert balance(member) == 0
    assert selectors.balance_drift() == []


def test_a_refund_of_points_already_spent_never_takes_the_balance_below_zero(member, ada):
    order = place_order(member.customer, amount="100")
    services.order_points_earn(order_id=order.pk)
    services.points_adjust(customer=member.customer, points=-90, reason="Gift card", user=ada)

    customer_services.order_cancel(order=order)
    services.order_points_reverse(order_id=order.pk)

    assert balance(member) == 0
    assert LedgerEntry.objects.get(kind="reverse").points == -10


def test_expiry_takes_the_oldest_points_first_and_running_twice_expires_nothing_more(member, ada):
    old = place_order(member.customer, amount="100", at=AT)
    new = place_order(member.customer, amount="50", at=AT + timedelta(days=200))
    services.order_points_earn(order_id=old.pk)
    services.order_points_earn(order_id=new.pk)
    services.points_adjust(customer=member.customer, points=-30, reason="Spent in shop", user=ada)

    services.points_expire(now=AT + timedelta(days=366))
    services.points_expire(now=AT + timedelta(days=367))

    # The 30 spent came from the oldest 100: 70 of them expire, the newer 50 remain.
    assert list(LedgerEntry.objects.filter(kind="expire").values_list("points", flat=True)) == [-70]
    assert balance(member) == 50
    assert selectors.points_expiring(member_id=member.pk, within_days=200, now=AT + timedelta(days=367)) == 50
    assert selectors.balance_drift() == []


def test_an_adjustment_needs_a_whole_number_a_reason_and_the_right_to_edit(member, alice, bob, ada):
    for points, reason, field in [
        ("2.5", "why", "points"),
        (0, "why", "points"),
        ("abc", "why", "points"),
        (10, "  ", "reason"),
    ]:
        with pytest.raises(ValidationError) as refused:
            services.points_adjust(customer=member.customer, points=points, reason=reason, user=alice)
        assert field in refused.value.message_dict

    with pytest.raises(PermissionDenied):
        services.points_adjust(customer=member.customer, points=10, reason="goodwill", user=bob)
    with pytest.raises(ValidationError, match="below zero"):
        services.points_adjust(customer=member.customer, points=-1, reason="oops", user=ada)

    assert LedgerEntry.objects.count() == 0
    entry = services.points_adjust(customer=member.customer, points="15", reason="Goodwill", user=alice)
    assert (entry.points, entry.created_by, balance(member)) == (15, alice, 15)


def test_the_signup_bonus_is_awarded_once(alice):
    EarningRuleFactory(kind="signup", value=Decimal("200"))
    customer = MemberFactory.build().customer
    customer.save()

    services.member_enrol(customer=customer)
    services.member_enrol(customer=customer)

    assert Member.objects.get(pk=customer.pk).points == 200
    assert LedgerEntry.objects.filter(source="signup").count() == 1


def test_entries_are_append_only(member, ada):
    entry = services.points_adjust(customer=member.customer, points=5, reason="Goodwill", user=ada)

    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()


@pytest.mark.postgres
def test_the_database_refuses_to_change_an_entry_or_take_a_balance_below_zero(member, ada):
    services.points_adjust(customer=member.customer, points=5, reason="Goodwill", user=ada)

    for sql in ("UPDATE loyalty_ledgerentry SET points = 500", "DELETE FROM loyalty_ledgerentry"):
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(points=-1)


def test_without_any_earning_rule_an_order_earns_nothing_and_raises_nothing(alice):
    member = MemberFactory(customer__account_manager=alice)
    order = place_order(member.customer, amount="50")

    services.order_points_earn(order_id=order.pk)

    assert balance(member) == 0
    assert not LedgerEntry.objects.filter(member=member).exists()
