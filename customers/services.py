"""Every write to customers, orders and interactions goes through here.

Events published (see retention_crm.events): ``customer.created``, ``customer.updated``,
``customer.archived``, ``customer.reassigned``, ``order.placed``, ``order.changed``,
``interaction.logged``. Payloads carry ids only.
"""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retention_crm import events

from .models import AccountAssignment, Customer, Interaction, Order, OrderLine, Product, Tag, order_net_amount
from .rollups import customer_rollups_refresh

CUSTOMER_FIELDS = (
    "external_id",
    "name",
    "email",
    "phone",
    "company",
    "country",
    "language",
    "time_zone",
    "account_manager",
    "acquired_at",
    "acquisition_source",
    "referred_by",
    "marketing_consent",
    "consent_at",
    "consent_source",
    "notes",
)


def _tags_set(customer: Customer, tag_names: Iterable[str]) -> None:
    names = sorted({name.strip()[:50] for name in tag_names if name and name.strip()})
    tags = [Tag.objects.get_or_create(name=name)[0] for name in names]
    customer.tags.set(tags)


def _consent_fill(data: dict) -> None:
    # Consent without its date or source would break the audit trail (a DB constraint too).
    if data.get("marketing_consent"):
        data.setdefault("consent_at", None)
        data["consent_at"] = data["consent_at"] or timezone.now()
        data["consent_source"] = data.get("consent_source") or Customer.ConsentSource.WEB_FORM
    elif "marketing_consent" in data:
        data["consent_at"] = None
        data["consent_source"] = ""


@transaction.atomic
def customer_create(*, tags: Iterable[str] = (), **data) -> Customer:
    unknown = set(data) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"customer_create got unknown fields: {sorted(unknown)}")
    _consent_fill(data)
    customer = Customer(**data)
    customer.full_clean()
    customer.save()
    _tags_set(customer, tags)
    if customer.account_manager_id:
        AccountAssignment.objects.create(
            customer=customer, manager_id=customer.account_manager_id, started_at=timezone.now()
        )
    events.publish(events.CUSTOMER_CREATED, customer_id=customer.pk)
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, tags: Iterable[str] | None = None, **data) -> Customer:
    unknown = set(data) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"customer_update got unknown fields: {sorted(unknown)}")
    new_manager = data.pop("account_manager", customer.account_manager)
    if "marketing_consent" in data and data["marketing_consent"] == customer.marketing_consent:
        data.pop("consent_at", None)
        data.pop("consent_source", None)
        data.pop("marketing_consent")
    _consent_fill(data)
    for field, value in data.items():
        setattr(customer, field, value)
    customer.full_clean(exclude=["account_manager"])
    customer.save()
    if tags is not None:
        _tags_set(customer, tags)
    if (new_manager.pk if new_manager else None) != customer.account_manager_id:
        customer_reassign(customer=customer, manager=new_manager)
    events.publish(events.CUSTOMER_UPDATED, customer_id=customer.pk)
    return customer


@transaction.atomic
def customer_reassign(*, customer: Customer, manager, at: datetime | None = None) -> Customer:
    """Move a customer to another book, closing the open assignment so history stays true."""
    at = at or timezone.now()
    if (manager.pk if manager else None) == customer.account_manager_id:
        return customer
    AccountAssignment.objects.filter(customer=customer, ended_at__isnull=True).update(ended_at=at)
    customer.account_manager = manager
    customer.save(update_fields=["account_manager", "updated_at"])
    if manager is not None:
        AccountAssignment.objects.create(customer=customer, manager=manager, started_at=at)
    events.publish(events.CUSTOMER_REASSIGNED, customer_id=customer.pk, manager_id=manager.pk if manager else None)
    return customer


def customer_archive(*, customer: Customer) -> Customer:
    if customer.archived_at is None:
        customer.archived_at = timezone.now()
        customer.save(update_fields=["archived_at", "updated_at"])
        events.publish(events.CUSTOMER_ARCHIVED, customer_id=customer.pk)
    return customer


def customer_restore(*, customer: Customer) -> Customer:
    if customer.archived_at is not None:
        customer.archived_at = None
        customer.save(update_fields=["archived_at", "updated_at"])
        events.publish(events.CUSTOMER_UPDATED, customer_id=customer.pk)
    return customer


def interaction_log(
    *,
    customer: Customer,
    kind: str,
    subject: str,
    author=None,
    body: str = "",
    direction: str = Interaction.Direction.OUTBOUND,
    channel: str = Interaction.Channel.OTHER,
    occurred_at: datetime | None = None,
    sentiment: int | None = None,
) -> Interaction:
    interaction = Interaction(
        customer=customer,
        kind=kind,
        subject=subject,
        body=body,
        author=author,
        direction=direction,
        channel=channel,
        occurred_at=occurred_at or timezone.now(),
        sentiment=sentiment,
    )
    interaction.full_clean()
    interaction.save()
    events.publish(events.INTERACTION_LOGGED, interaction_id=interaction.pk, customer_id=customer.pk, kind=kind)
    return interaction


def interaction_resolve(*, interaction: Interaction, at: datetime | None = None) -> Interaction:
    if interaction.kind not in Interaction.TRACKED_KINDS:
        raise ValidationError(_("Only complaints and support tickets can be resolved."))
    if interaction.resolved_at is None:
        interaction.resolved_at = at or timezone.now()
        interaction.save(update_fields=["resolved_at"])
        events.publish(events.INTERACTION_RESOLVED, interaction_id=interaction.pk, customer_id=interaction.customer_id)
    return interaction


@transaction.atomic
def order_create(
    *,
    external_id: str,
    customer: Customer,
    ordered_at: datetime,
    lines: list[dict],
    currency: str = "GBP",
    kind: str = Order.Kind.PURCHASE,
    status: str = Order.Status.PLACED,
) -> Order:
    """Create an order with its lines. ``lines``: dicts of product (Product), quantity, unit_price."""
    if not lines:
        raise ValidationError({"lines": _("An order needs at least one line.")})
    sign = -1 if kind == Order.Kind.REFUND else 1
    built = []
    for number, line in enumerate(lines, start=1):
        quantity = int(line["quantity"])
        if quantity == 0 or (quantity < 0 and kind == Order.Kind.PURCHASE):
            raise ValidationError(
                {"lines": _("Line %(n)d: the quantity must be positive on a purchase.") % {"n": number}}
            )
        unit_price = Decimal(line["unit_price"])
        if unit_price < 0:
            raise ValidationError({"lines": _("Line %(n)d: the unit price cannot be negative.") % {"n": number}})
        amount = (sign * abs(quantity) * unit_price).quantize(Decimal("0.01"))
        built.append(
            OrderLine(
                line_number=number,
                product=line["product"],
                quantity=sign * abs(quantity),
                unit_price=unit_price,
                amount=amount,
            )
        )
    gross = sum((line.amount for line in built), Decimal("0"))
    order = Order(
        external_id=external_id,
        customer=customer,
        ordered_at=ordered_at,
        currency=currency,
        kind=kind,
        status=status,
        gross_amount=gross,
        net_amount=order_net_amount(kind=kind, status=status, gross_amount=gross, refunded_amount=Decimal("0")),
    )
    order.full_clean()
    order.save()
    for line in built:
        line.order = order
    OrderLine.objects.bulk_create(built)
    customer_rollups_refresh([customer.pk])  # again, now that the lines are in (bulk_create sends no signal)
    events.publish(events.ORDER_PLACED, order_id=order.pk, customer_id=customer.pk)
    return order


@transaction.atomic
def order_set_status(*, order: Order, status: str, refunded_amount: Decimal | None = None) -> Order:
    """Refund (fully or in part) or cancel an order; the net amount follows."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if refunded_amount is not None:
        if refunded_amount < 0 or refunded_amount > abs(order.gross_amount):
            raise ValidationError({"refunded_amount": _("The refund must be between 0 and the order's amount.")})
        order.refunded_amount = refunded_amount
    elif status == Order.Status.REFUNDED and order.kind == Order.Kind.PURCHASE:
        order.refunded_amount = order.gross_amount
    order.status = status
    order.net_amount = order_net_amount(
        kind=order.kind, status=status, gross_amount=order.gross_amount, refunded_amount=order.refunded_amount
    )
    order.save(update_fields=["status", "refunded_amount", "net_amount", "updated_at"])
    events.publish(events.ORDER_CHANGED, order_id=order.pk, customer_id=order.customer_id)
    return order


def product_get_or_create(*, sku: str, name: str = "", category: str = "") -> Product:
    product, _created = Product.objects.get_or_create(sku=sku, defaults={"name": name or sku, "category": category})
    return product
