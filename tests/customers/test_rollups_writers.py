"""customers.rollups: the day totals, first purchase day and upsell day of every customer stay what
the orders say, whichever way orders are written (services, ORM, import, demo)."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.test import override_settings

from customers.models import CustomerDay, CustomerFirstPurchase, CustomerUpsell, Order, OrderLine, RollupBacklog
from customers.rollups import customer_rollups_drain, customer_rollups_rebuild, customer_rollups_refresh
from customers.services import order_cancel, order_record, order_refund

from .factories import CustomerFactory, OrderFactory, ProductFactory, order_add_line, run_import
from .test_imports_service import ORDERS

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")


def stored() -> tuple[list, list]:
    days = sorted(CustomerDay.objects.values_list("customer_id", "day", "amount", "purchase_amount", "orders"))
    upsells = sorted(CustomerUpsell.objects.values_list("customer_id", "day"))
    return days, upsells


def first_purchases() -> list:
    return sorted(CustomerFirstPurchase.objects.values_list("customer_id", "day"))


def assert_rollups_match_the_orders() -> None:
    """What the writers left equals a rebuild from scratch (a GROUP BY over every order), and each
    first purchase day is the first day total with a purchase."""
    kept = stored(), first_purchases()
    customer_rollups_rebuild()
    assert kept == (stored(), first_purchases())
    days = stored()[0]
    assert first_purchases() == sorted(
        {customer: day for customer, day, _a, purchase, _n in reversed(days) if purchase > 0}.items()
    )


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=UTC)


def buy(customer, day: str, *products, hour: int = 12) -> Order:
    return order_record(
        external_id=f"{customer.pk}-{day}-{hour}-{len(products)}-{Order.objects.count()}",
        customer=customer,
        ordered_at=at(day, hour),
        lines=[{"sku": p.sku, "quantity": 1, "unit_price": Decimal("10.00")} for p in products],
    )


def test_day_totals_sum_a_days_orders_with_refunds_and_cancellations():
    customer = CustomerFactory()
    mug, tea = ProductFactory(), ProductFactory()
    buy(customer, "2024-03-01", mug, hour=9)
    buy(customer, "2024-03-01", mug, tea, hour=15)
    cancelled = buy(customer, "2024-03-05", tea)
    order_cancel(order=cancelled)
    order_record(
        external_id="R-1",
        customer=customer,
        ordered_at=at("2024-03-09"),
        kind=Order.Kind.REFUND,
        lines=[{"sku": mug.sku, "quantity": -1, "unit_price": Decimal("10.00")}],
    )

    days, _ = stored()
    assert days == [
        (customer.pk, date(2024, 3, 1), 30.0, 30.0, 2),
        (customer.pk, date(2024, 3, 5), 0.0, 0.0, 1),
        (customer.pk, date(2024, 3, 9), -10.0, 0.0, 1),
    ]
    assert_rollups_match_the_orders()


def test_upsell_day_is_the_first_purchase_of_a_product_outside_the_first_basket():
    customer, loyal = CustomerFactory(), CustomerFactory()
    mug, tea, pot = ProductFactory(), ProductFactory(), ProductFactory()
    buy(customer, "2024-01-10", mug, tea)
    buy(customer, "2024-02-10", tea)  # same basket again: not an upsell
    buy(customer, "2024-03-10", pot)
    buy(customer, "2024-04-10", pot, mug)
    buy(loyal, "2024-01-10", mug)
    buy(loyal, "2024-05-10", mug)

    assert stored()[1] == [(customer.pk, date(2024, 3, 10))]
    assert_rollups_match_the_orders()


def test_first_purchase_day_moves_when_the_first_purchase_is_cancelled_and_goes_with_the_last():
    customer, refunds_only = CustomerFactory(), CustomerFactory()
    mug = ProductFactory()
    first = buy(customer, "2024-01-10", mug)
    second = buy(customer, "2024-02-10", mug)
    order_record(
        external_id="R-ONLY",
        customer=refunds_only,
        ordered_at=at("2024-01-05"),
        kind=Order.Kind.REFUND,
        lines=[{"sku": mug.sku, "quantity": -1, "unit_price": Decimal("10.00")}],
    )
    assert first_purchases() == [(customer.pk, date(2024, 1, 10))]

    order_cancel(order=first)
    assert first_purchases() == [(customer.pk, date(2024, 2, 10))]
    assert_rollups_match_the_orders()

    order_refund(order=second)
    assert first_purchases() == []
    assert_rollups_match_the_orders()


def test_a_refunded_purchase_stops_counting_as_the_upsell():
    customer = CustomerFactory()
    mug, pot = ProductFactory(), ProductFactory()
    buy(customer, "2024-01-10", mug)
    upsell = buy(customer, "2024-03-10", pot)
    assert stored()[1] == [(customer.pk, date(2024, 3, 10))]

    order_refund(order=upsell)

    assert stored()[1] == []
    assert stored()[0][1][2:4] == (0.0, 0.0)
    assert_rollups_match_the_orders()


def test_orm_writes_keep_both_customers_right_when_an_order_moves_and_when_it_is_deleted():
    first, second = CustomerFactory(), CustomerFactory()
    order = OrderFactory(customer=first, ordered_at=at("2024-06-01"))
    order_add_line(order, unit_price="25.00")
    assert [row[0] for row in stored()[0]] == [first.pk]

    moved = Order.objects.get(pk=order.pk)
    moved.customer = second
    moved.save()
    assert [row[0] for row in stored()[0]] == [second.pk]
    assert_rollups_match_the_orders()

    moved.lines.all().delete()
    Order.objects.get(pk=order.pk).delete()
    assert stored() == ([], []) and first_purchases() == []


@override_settings(TIME_ZONE="Asia/Jakarta")
def test_days_are_dates_of_the_workspace_time_zone():
    customer = CustomerFactory()
    # 20:00 UTC is 03:00 the next morning in Jakarta (UTC+7).
    buy(customer, "2024-03-01", ProductFactory(), hour=20)

    assert stored()[0][0][1] == date(2024, 3, 2)


def import_and_drain(user, content: str) -> int:
    """An import, then the task it queues: the rollups of the customers it queued."""
    run_import(user, content, "orders")
    return customer_rollups_drain()


def test_an_import_queues_its_customers_and_the_drain_refreshes_them(ada):
    one, two = CustomerFactory(external_id="C-1"), CustomerFactory(external_id="C-2")
    run_import(ada, ORDERS, "orders")

    assert set(RollupBacklog.objects.values_list("customer_id", flat=True)) == {one.pk, two.pk}
    assert stored() == ([], [])
    assert customer_rollups_drain(batch=1) == 2
    assert not RollupBacklog.objects.exists()
    assert {row[0] for row in stored()[0]} == {one.pk, two.pk}
    assert_rollups_match_the_orders()


def test_the_import_queues_its_drain_after_commit(ada, django_capture_on_commit_callbacks):
    CustomerFactory(external_id="C-1"), CustomerFactory(external_id="C-2")
    with django_capture_on_commit_callbacks(execute=True):
        run_import(ada, ORDERS, "orders")

    assert not RollupBacklog.objects.exists()
    assert len(stored()[0]) == 3


def test_import_refreshes_new_changed_and_moved_orders_and_a_repeat_writes_nothing(ada):
    one, two = CustomerFactory(external_id="C-1"), CustomerFactory(external_id="C-2")
    import_and_drain(ada, ORDERS)
    first = stored()
    assert {row[0] for row in first[0]} == {one.pk, two.pk}
    assert_rollups_match_the_orders()

    assert import_and_drain(ada, ORDERS) == 0  # nothing changed, nobody queued
    assert stored() == first

    # O-2 moves from C-1 to C-2; O-1 gets a dearer line.
    changed = ORDERS.replace("O-2,C-1", "O-2,C-2").replace("SKU-B,Tea,1,3.25", "SKU-B,Tea,3,3.25")
    assert import_and_drain(ada, changed) == 2
    days = {(row[0], row[1]): row[2] for row in stored()[0]}
    assert days[(one.pk, date(2024, 3, 1))] == 20.75
    assert days[(two.pk, date(2024, 4, 1))] == -5.5
    assert (one.pk, date(2024, 4, 1)) not in days
    assert_rollups_match_the_orders()


def test_refresh_of_customers_without_orders_leaves_no_rows_and_ignores_none():
    customer = CustomerFactory()
    customer_rollups_refresh([customer.pk, None])
    assert stored() == ([], [])


def test_rebuild_command_restores_the_rows(capsys):
    customer = CustomerFactory()
    buy(customer, "2024-03-01", ProductFactory())
    expected = stored()
    CustomerDay.objects.all().delete()
    CustomerFirstPurchase.objects.all().delete()

    call_command("rebuild_customer_rollups")

    assert stored() == expected
    assert first_purchases() == [(customer.pk, date(2024, 3, 1))]
    assert "1 customer days rebuilt" in capsys.readouterr().out


def test_a_single_customer_reader_refreshes_a_waiting_customer_first():
    from customers.rollups import customer_rollups_refresh_if_waiting

    customer = CustomerFactory()
    buy(customer, "2024-03-01", ProductFactory())
    CustomerDay.objects.all().delete()
    RollupBacklog.objects.create(customer=customer)

    customer_rollups_refresh_if_waiting(customer.pk)

    assert len(stored()[0]) == 1 and not RollupBacklog.objects.exists()


def test_refresh_of_many_customers_at_once_equals_the_rebuild():
    product = ProductFactory()
    customers = CustomerFactory.create_batch(130)
    orders = Order.objects.bulk_create(
        Order(
            external_id=f"BULK-{c.pk}",
            customer=c,
            ordered_at=at("2024-03-01"),
            gross_amount=Decimal("12.50"),
            net_amount=Decimal("12.50"),
        )
        for c in customers
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=o, line_number=1, product=product, quantity=1, unit_price=Decimal("12.50"), amount=Decimal("12.50")
        )
        for o in orders
    )
    assert stored() == ([], [])  # bulk writes send no signal: the writer refreshes the set

    customer_rollups_refresh(c.pk for c in customers)

    assert len(stored()[0]) == 130
    assert_rollups_match_the_orders()
