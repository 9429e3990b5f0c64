"""Per-customer rollups of orders, kept up to date as orders change: CustomerDay (every customer's
orders summed per calendar day), CustomerFirstPurchase (their first purchase day) and CustomerUpsell
(the first day they bought a product that was not in their first purchase).

All three are derived from a customer's orders and lines alone, so keeping them right is one rule: whoever
writes orders calls ``customer_rollups_refresh`` with the customers whose orders changed (an order
moved to another customer changes both), in the same transaction. ORM saves and deletes of ``Order``
and ``OrderLine`` do it by themselves (the signals below); set-based writers (the import merge, the
demo) call it once for the whole set, or queue the set in the RollupBacklog (the import, so that its
transaction pays for orders only) for customer_rollups_drain, which every reader of the rollups
calls first. A refresh replaces the customers' rows with a GROUP BY over their orders (index
customer, ordered_at), so it is idempotent and cannot drift.

Days are dates in the workspace time zone (settings.TIME_ZONE). After changing it, run
``manage.py rebuild_customer_rollups``.
"""

from __future__ import annotations

import logging
import time
import zoneinfo
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Case, Count, DecimalField, F, FloatField, Min, QuerySet, Sum, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, TruncDate
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from .models import CustomerDay, CustomerFirstPurchase, CustomerUpsell, Order, OrderLine, RollupBacklog

logger = logging.getLogger(__name__)

# Customers per DELETE/INSERT round: keeps the IN list well under SQLite's 32,766 parameters.
REFRESH_BATCH = 10_000

# The tables by name, so that a migration's historical models can use the same SQL.
DAY_TABLE = "customers_customerday"
UPSELL_TABLE = "customers_customerupsell"
FIRST_PURCHASE_TABLE = "customers_customerfirstpurchase"
BACKLOG_TABLE = "customers_rollupbacklog"

# Customers per transaction when draining the backlog: 50,000 customers' orders are a few seconds.
DRAIN_BATCH = 50_000


def _workspace_day(field: str) -> TruncDate:
    return TruncDate(field, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def _day_totals(orders: QuerySet) -> QuerySet:
    """(customer_id, day, amount, purchase_amount, orders) of `orders`, one row per customer and day."""
    money = DecimalField(max_digits=14, decimal_places=2)
    positive = Case(When(net_amount__gt=0, then=F("net_amount")), default=Value(Decimal("0")), output_field=money)
    return (
        orders.annotate(day=_workspace_day("ordered_at"))
        .values("customer_id", "day")
        .annotate(
            amount_sum=Cast(Sum("net_amount"), FloatField()),
            purchase_sum=Cast(Sum(positive), FloatField()),
            order_count=Count("id"),
        )
        .values_list("customer_id", "day", "amount_sum", "purchase_sum", "order_count")
        .order_by()
    )


def _first_purchase_days(orders: QuerySet) -> QuerySet:
    """(customer_id, day) of each customer's first purchase day among `orders`: the first day whose
    CustomerDay has purchase_amount > 0, i.e. with an order of positive net amount."""
    return (
        orders.filter(net_amount__gt=0)
        .values("customer_id")
        .annotate(first_day=Min(_workspace_day("ordered_at")))
        .values_list("customer_id", "first_day")
        .order_by()
    )


def _upsell_days(lines: QuerySet) -> tuple[str, tuple]:
    """SQL of (customer_id, day) for the customers of `lines` who were upsold, and its parameters.

    Lines of purchases count (order net_amount > 0, line amount > 0). A product's first day for a
    customer is their first purchase day exactly when it was in the first basket, so the upsell day
    is the earliest product-first-day after the customer's first day: two GROUP BYs.
    """
    per_product = (
        lines.filter(order__net_amount__gt=0, amount__gt=0)
        .annotate(buyer=F("order__customer_id"), day=_workspace_day("order__ordered_at"))
        .values("buyer", "product_id")
        .annotate(product_first=Min("day"))
        .order_by()
    )
    inner, params = per_product.query.sql_with_params()
    sql = (
        f"WITH pf AS ({inner}), "  # noqa: S608 - the ORM's own SQL; values are parameters
        "firsts AS (SELECT buyer, MIN(product_first) AS first_day FROM pf GROUP BY buyer) "
        "SELECT pf.buyer, MIN(pf.product_first) FROM pf JOIN firsts ON firsts.buyer = pf.buyer "
        "WHERE pf.product_first > firsts.first_day GROUP BY pf.buyer"
    )
    return sql, tuple(params)


def rollups_insert(orders: QuerySet, lines: QuerySet, *, using: str = "default") -> None:
    """INSERT the rollups of `orders` and `lines` (querysets of Order and OrderLine, or a migration's
    historical ones, covering the same customers); the caller has removed those customers' rows."""
    days_sql, days_params = _day_totals(orders).query.sql_with_params()
    upsell_sql, upsell_params = _upsell_days(lines)
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {DAY_TABLE} (customer_id, day, amount, purchase_amount, orders) {days_sql}",  # noqa: S608
            days_params,
        )
        cursor.execute(f"INSERT INTO {UPSELL_TABLE} (customer_id, day) {upsell_sql}", upsell_params)  # noqa: S608


def first_purchases_insert(orders: QuerySet, *, using: str = "default") -> None:
    """INSERT the first purchase days of the customers of `orders` (Order or a migration's historical
    Order); the caller has removed those customers' rows. Apart from rollups_insert because the
    table came later than the migration that fills the other two with it."""
    sql, params = _first_purchase_days(orders).query.sql_with_params()
    with connections[using].cursor() as cursor:
        cursor.execute(f"INSERT INTO {FIRST_PURCHASE_TABLE} (customer_id, day) {sql}", params)  # noqa: S608


def _replace(customers) -> None:
    """customers: a list of ids or a RawSQL subquery of them."""
    started = time.perf_counter()
    CustomerDay.objects.filter(customer_id__in=customers).delete()
    CustomerUpsell.objects.filter(customer_id__in=customers).delete()
    CustomerFirstPurchase.objects.filter(customer_id__in=customers).delete()
    orders = Order.objects.filter(customer_id__in=customers)
    rollups_insert(orders, OrderLine.objects.filter(order__customer_id__in=customers))
    first_purchases_insert(orders)
    logger.debug("rollups.refresh seconds=%.3f", time.perf_counter() - started)


@transaction.atomic
def customer_rollups_refresh(customer_ids: Iterable[int | None]) -> None:
    """Make the rollups of these customers equal to what their orders say (None ids are ignored)."""
    ids = sorted({int(pk) for pk in customer_ids if pk is not None})
    if connection.vendor == "postgresql" and len(ids) > 100:
        # One array parameter: PostgreSQL plans a hash join, not a list of ten thousand constants.
        _replace(RawSQL("SELECT unnest(%s::bigint[])", (ids,)))
        return
    for start in range(0, len(ids), REFRESH_BATCH):
        _replace(ids[start : start + REFRESH_BATCH])


@transaction.atomic
def customer_rollups_refresh_sql(customer_ids_sql: str, params: list | tuple = ()) -> None:
    """customer_rollups_refresh for the customers a SELECT returns (one column of ids), for set-based
    writers whose customers sit in a staging table: no id travels through Python."""
    _replace(RawSQL(customer_ids_sql, tuple(params)))


def customer_rollups_defer_sql(customer_ids_sql: str, params: list | tuple = ()) -> None:
    """Queue the customers a SELECT returns (one column, named customer_id) in the RollupBacklog, in the caller's
    transaction: a set-based writer of orders (the import) commits its orders without paying for
    their rollups, and customer_rollups_drain refreshes them afterwards in chunks."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {BACKLOG_TABLE} (customer_id, queued_at) SELECT DISTINCT ids.customer_id, %s "  # noqa: S608
            f"FROM ({customer_ids_sql}) AS ids WHERE ids.customer_id IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {BACKLOG_TABLE} b WHERE b.customer_id = ids.customer_id)",
            [connection.ops.adapt_datetimefield_value(timezone.now()), *params],
        )


def customer_rollups_drain(*, batch: int = DRAIN_BATCH) -> int:
    """Refresh the rollups of every customer in the RollupBacklog, `batch` customers per transaction,
    and take them off it; returns how many. Several workers may drain at once (PostgreSQL skips the
    rows another one holds). Readers of the rollups call this first, so they never see stale rows."""
    done = 0
    while True:
        with transaction.atomic():
            waiting = RollupBacklog.objects.order_by("customer_id")
            if connection.features.has_select_for_update_skip_locked:
                waiting = waiting.select_for_update(skip_locked=True)
            ids = list(waiting.values_list("customer_id", flat=True)[:batch])
            if not ids:
                break
            customer_rollups_refresh(ids)
            RollupBacklog.objects.filter(customer_id__in=ids).delete()
        done += len(ids)
    if done:
        logger.info("rollups.drained customers=%d", done)
    return done


def customer_rollups_refresh_if_waiting(customer_id: int) -> None:
    """Refresh one customer's rollups now when they are in the backlog (a single-customer reader)."""
    if RollupBacklog.objects.filter(customer_id=customer_id).exists():
        with transaction.atomic():
            customer_rollups_refresh([customer_id])
            RollupBacklog.objects.filter(customer_id=customer_id).delete()


@transaction.atomic
def customer_rollups_rebuild() -> int:
    """Every customer's rollups from scratch (after a change of TIME_ZONE). Returns the CustomerDay rows."""
    CustomerDay.objects.all().delete()
    CustomerUpsell.objects.all().delete()
    CustomerFirstPurchase.objects.all().delete()
    rollups_insert(Order.objects.all(), OrderLine.objects.all())
    first_purchases_insert(Order.objects.all())
    RollupBacklog.objects.all().delete()
    return CustomerDay.objects.count()


# --- ORM writes of single orders and lines ------------------------------------------------------


@receiver(post_save, sender=Order, dispatch_uid="customers.rollups.order_saved")
def _order_saved(sender, instance: Order, raw: bool = False, **kwargs) -> None:
    if raw:
        return  # loaddata: fixtures carry their own rows
    # An order moved to another customer changes the rollups of both (Order.from_db keeps the first).
    customer_rollups_refresh([instance.customer_id, getattr(instance, "_loaded_customer_id", None)])
    instance._loaded_customer_id = instance.customer_id


@receiver(post_delete, sender=Order, dispatch_uid="customers.rollups.order_deleted")
def _order_deleted(sender, instance: Order, **kwargs) -> None:
    customer_rollups_refresh([instance.customer_id])


@receiver(post_save, sender=OrderLine, dispatch_uid="customers.rollups.line_saved")
@receiver(post_delete, sender=OrderLine, dispatch_uid="customers.rollups.line_deleted")
def _line_changed(sender, instance: OrderLine, raw: bool = False, **kwargs) -> None:
    if raw:
        return
    customer_id = Order.objects.filter(pk=instance.order_id).values_list("customer_id", flat=True).first()
    customer_rollups_refresh([customer_id])
