"""Every write to customers, orders and interactions goes through here.

Events published (see retention_crm.events): ``customer.created``, ``customer.updated``,
``customer.archived``, ``customer.reassigned``, ``order.placed``, ``order.changed``,
``interaction.logged``, ``interaction.status_changed``, ``interaction.resolved``. Payloads carry ids only.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retention_crm import events

from . import order_rules, roles
from .models import AccountAssignment, Customer, Interaction, InteractionChange, Order, OrderLine, Product, Tag
from .rollups import customer_rollups_refresh

CENT = Decimal("0.01")
# complaint_update's "not given" (None is a value there: the case has no owner).
_UNSET = object()

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
    "birth_date",
    "referred_by",
    "marketing_consent",
    "consent_at",
    "consent_source",
    "notes",
)


def _tags_set(customer: Customer, tag_names: Iterable[str]) -> bool:
    """Give the customer exactly these tags; returns whether that changed them."""
    names = {name.strip()[:50] for name in tag_names if name and name.strip()}
    if customer.pk and set(customer.tags.values_list("name", flat=True)) == names:
        return False
    tags = [Tag.objects.get_or_create(name=name)[0] for name in sorted(names)]
    customer.tags.set(tags)
    return True


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
def customer_update(*, customer: Customer, tags: Iterable[str] | None = None, **data) -> tuple[Customer, bool]:
    """Change what ``data`` (and ``tags``, when given) say; returns the customer and whether anything
    changed. An update that changes nothing saves nothing and publishes nothing."""
    unknown = set(data) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"customer_update got unknown fields: {sorted(unknown)}")
    new_manager = data.pop("account_manager", customer.account_manager)
    if "marketing_consent" in data and data["marketing_consent"] == customer.marketing_consent:
        data.pop("consent_at", None)
        data.pop("consent_source", None)
        data.pop("marketing_consent")
    _consent_fill(data)
    changed_fields = [field for field, value in data.items() if getattr(customer, field) != value]
    for field in changed_fields:
        setattr(customer, field, data[field])
    if changed_fields:
        customer.full_clean(exclude=["account_manager"])
        customer.save(update_fields=[*changed_fields, "updated_at"])
    tags_changed = tags is not None and _tags_set(customer, tags)
    manager_changed = (new_manager.pk if new_manager else None) != customer.account_manager_id
    if manager_changed:
        customer_reassign(customer=customer, manager=new_manager)
    changed = bool(changed_fields) or tags_changed or manager_changed
    if changed:
        events.publish(events.CUSTOMER_UPDATED, customer_id=customer.pk)
    return customer, changed


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


def _owner_check(owner) -> None:
    if owner is not None and not (
        owner.is_active and (roles.is_administrator(owner) or roles.is_account_manager(owner))
    ):
        raise ValidationError({"owner": _("A case is owned by an active account manager or administrator.")})


def _case_defaults(*, customer: Customer, kind: str, occurred_at: datetime, priority: str, owner, due_at) -> dict:
    """Status, priority, owner and due time of a new case; nothing for the other kinds."""
    if kind not in Interaction.TRACKED_KINDS:
        return {}
    _owner_check(owner)
    priority = priority or Interaction.Priority.NORMAL
    if priority not in Interaction.Priority.values:
        raise ValidationError({"priority": _("Choose a priority: low, normal, high or urgent.")})
    return {
        "status": Interaction.Status.OPEN,
        "priority": priority,
        "owner": owner if owner is not None else customer.account_manager,
        "due_at": due_at or occurred_at + timedelta(hours=Interaction.DUE_AFTER_HOURS[priority]),
    }


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
    outcome: str = "",
    priority: str = "",
    owner=None,
    due_at: datetime | None = None,
    rating: int | None = None,
    review_source: str = "",
) -> Interaction:
    """Log an exchange with a customer. A complaint, support contact or review is a case: open,
    normal priority unless told, owned by the customer's account manager unless told, due by its
    priority (Interaction.DUE_AFTER_HOURS) unless told."""
    occurred_at = occurred_at or timezone.now()
    if kind != Interaction.Kind.REVIEW and (rating is not None or review_source):
        raise ValidationError({"rating": _("Only a review has a rating and a source.")})
    if due_at is not None and kind not in Interaction.TRACKED_KINDS:
        raise ValidationError({"due_at": _("Only complaints, support contacts and reviews have a due time.")})
    if due_at is not None and due_at < occurred_at:
        raise ValidationError({"due_at": _("The due time cannot be before the case arrived.")})
    interaction = Interaction(
        customer=customer,
        kind=kind,
        subject=subject,
        body=body,
        author=author,
        direction=direction,
        channel=channel,
        occurred_at=occurred_at,
        sentiment=sentiment,
        outcome=outcome,
        rating=rating,
        review_source=review_source,
        **_case_defaults(
            customer=customer, kind=kind, occurred_at=occurred_at, priority=priority, owner=owner, due_at=due_at
        ),
    )
    interaction.full_clean()
    interaction.save()
    events.publish(events.INTERACTION_LOGGED, interaction_id=interaction.pk, customer_id=customer.pk, kind=kind)
    return interaction


def interactions_log_bulk(*, interactions: list[Interaction]) -> list[Interaction]:
    """Log many exchanges that a service writes (never typed by a person: the survey answers of the
    closed loop) in one INSERT, and publish ``interaction.logged`` for each as ``interaction_log``
    does. Only kinds that are not cases (a case needs its owner and due time: ``interaction_log``).
    The fields are checked in Python, the constraints by the database; ``interaction_log``'s
    ``full_clean`` would run a query per constraint and row, which a chunk of answers cannot afford."""
    for interaction in interactions:
        if interaction.kind in Interaction.TRACKED_KINDS:
            raise ValueError("a case is logged with interaction_log, one at a time")
        interaction.clean_fields(exclude=["customer", "author"])  # the foreign keys: the database's
    created = Interaction.objects.bulk_create(interactions)
    for interaction in created:
        events.publish(
            events.INTERACTION_LOGGED,
            interaction_id=interaction.pk,
            customer_id=interaction.customer_id,
            kind=interaction.kind,
        )
    return created


def _case_change(case: Interaction, *, field: str, old, new, by) -> None:
    InteractionChange.objects.create(
        interaction=case, field=field, old_value=str(old or "")[:200], new_value=str(new or "")[:200], by=by
    )


def _case_locked(case: Interaction) -> Interaction:
    """The case's row, locked for the change (two people resolving at once: one wins, one is told)."""
    if case.kind not in Interaction.TRACKED_KINDS:
        raise ValidationError(_("Only complaints, support contacts and reviews are tracked as cases."))
    return Interaction.objects.select_for_update().get(pk=case.pk)


def _resolve(case: Interaction, *, at, by, resolution: str) -> None:
    old_status = case.status
    case.status = Interaction.Status.RESOLVED
    case.resolved_at = max(at or timezone.now(), case.occurred_at)
    case.resolved_by = by
    case.resolution = resolution
    case.save(update_fields=["status", "resolved_at", "resolved_by", "resolution"])
    _case_change(case, field=InteractionChange.Field.STATUS, old=old_status, new=case.status, by=by)
    if resolution:
        _case_change(case, field=InteractionChange.Field.RESOLUTION, old="", new=resolution, by=by)
    events.publish(
        events.INTERACTION_STATUS_CHANGED, interaction_id=case.pk, customer_id=case.customer_id, status=case.status
    )
    events.publish(events.INTERACTION_RESOLVED, interaction_id=case.pk, customer_id=case.customer_id)


@transaction.atomic
def complaint_resolve(*, complaint: Interaction, resolution: str, by, at: datetime | None = None) -> Interaction:
    """Resolve a case with what was done about it (required: the customer's story has an ending)."""
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationError({"resolution": _("Say how the case was resolved.")})
    case = _case_locked(complaint)
    if case.status == Interaction.Status.RESOLVED:
        raise ValidationError(_("This case is already resolved. Reopen it first to change its resolution."))
    _resolve(case, at=at, by=by, resolution=resolution)
    return case


@transaction.atomic
def complaint_status_set(*, complaint: Interaction, status: str, by, reopen: bool = False) -> Interaction:
    """Move a case to open or in progress. A resolved case moves only when reopened on purpose
    (``reopen=True``): its resolution stays in the history. Resolving goes through complaint_resolve."""
    if status == Interaction.Status.RESOLVED:
        raise ValidationError({"status": _("Resolve a case with its resolution.")})
    if status not in Interaction.PENDING_STATUSES:
        raise ValidationError({"status": _("Choose a status: open or in progress.")})
    case = _case_locked(complaint)
    if case.status == status:
        return case
    if case.status == Interaction.Status.RESOLVED and not reopen:
        raise ValidationError({"status": _("This case is resolved. Reopen it on purpose to work on it again.")})
    old_status = case.status
    case.status = status
    case.resolved_at = None
    case.resolved_by = None
    case.resolution = ""
    case.save(update_fields=["status", "resolved_at", "resolved_by", "resolution"])
    _case_change(case, field=InteractionChange.Field.STATUS, old=old_status, new=status, by=by)
    events.publish(
        events.INTERACTION_STATUS_CHANGED, interaction_id=case.pk, customer_id=case.customer_id, status=status
    )
    return case


@transaction.atomic
def complaint_update(
    *, complaint: Interaction, by, owner=_UNSET, priority: str | None = None, due_at: datetime | None = None
) -> tuple[Interaction, bool]:
    """Change a case's owner (None: nobody), priority or due time; each change is kept in its history.
    Returns the case and whether anything changed."""
    case = _case_locked(complaint)
    changed = False
    if owner is not _UNSET and owner != case.owner:
        _owner_check(owner)
        _case_change(
            case,
            field=InteractionChange.Field.OWNER,
            old=case.owner.get_username() if case.owner else "",
            new=owner.get_username() if owner else "",
            by=by,
        )
        case.owner = owner
        changed = True
    if priority is not None and priority != case.priority:
        if priority not in Interaction.Priority.values:
            raise ValidationError({"priority": _("Choose a priority: low, normal, high or urgent.")})
        _case_change(case, field=InteractionChange.Field.PRIORITY, old=case.priority, new=priority, by=by)
        case.priority = priority
        changed = True
    if due_at is not None and due_at != case.due_at:
        if due_at < case.occurred_at:
            raise ValidationError({"due_at": _("The due time cannot be before the case arrived.")})
        _case_change(
            case,
            field=InteractionChange.Field.DUE_AT,
            old=case.due_at.isoformat() if case.due_at else "",
            new=due_at.isoformat(),
            by=by,
        )
        case.due_at = due_at
        changed = True
    if changed:
        case.save(update_fields=["owner", "priority", "due_at"])
    return case, changed


@transaction.atomic
def order_record(
    *,
    external_id: str,
    customer: Customer,
    ordered_at: datetime,
    lines: Sequence[Mapping],
    currency: str | None = None,
    kind: str = Order.Kind.PURCHASE,
    status: str = Order.Status.PLACED,
) -> Order:
    """Record an order with its lines, creating the products of new SKUs.

    ``lines``: mappings of sku, quantity, unit_price, and name (category) for a SKU that is new. A
    refund's quantities are negative whatever sign they are given. Errors name the line as the API
    does: ``lines[0].quantity``.
    """
    order_rules.record_check(kind=kind, status=status)
    _lines_check(kind=kind, lines=lines)
    built = _lines_build(kind=kind, lines=lines, products=_products_for(lines))
    gross = sum((line.amount for line in built), Decimal("0"))
    order = Order(
        external_id=external_id,
        customer=customer,
        ordered_at=ordered_at,
        currency=currency or settings.WORKSPACE_CURRENCY,
        kind=kind,
        status=status,
        gross_amount=gross,
        refunded_amount=order_rules.refunded_amount_on_record(kind=kind, status=status, gross_amount=gross),
    )
    order.full_clean()
    order.save()
    for line in built:
        line.order = order
    OrderLine.objects.bulk_create(built)
    customer_rollups_refresh([customer.pk])  # again, now that the lines are in (bulk_create sends no signal)
    events.publish(events.ORDER_PLACED, order_id=order.pk, customer_id=customer.pk)
    return order


def _lines_check(*, kind: str, lines: Sequence[Mapping]) -> None:
    if not lines:
        raise ValidationError({"lines": _("An order needs at least one line.")})
    errors = {
        f"lines[{index}].{field}": message
        for index, line in enumerate(lines)
        for field, message in order_rules.line_errors(
            kind=kind, quantity=int(line["quantity"]), unit_price=Decimal(line["unit_price"])
        ).items()
    }
    if errors:
        raise ValidationError(errors)


def _lines_build(*, kind: str, lines: Sequence[Mapping], products: dict[str, Product]) -> list[OrderLine]:
    """Numbered lines with their amounts; a refund's quantities negative whatever their sign."""
    sign = -1 if kind == Order.Kind.REFUND else 1
    built = []
    for number, line in enumerate(lines, start=1):
        quantity, unit_price = sign * abs(int(line["quantity"])), Decimal(line["unit_price"])
        built.append(
            OrderLine(
                line_number=number,
                product=products[line["sku"]],
                quantity=quantity,
                unit_price=unit_price,
                amount=(quantity * unit_price).quantize(CENT),
            )
        )
    return built


def _products_for(lines: Sequence[Mapping]) -> dict[str, Product]:
    """The products of the lines by SKU: one query for the known ones, one insert for the new ones."""
    skus = {line["sku"] for line in lines}
    products = {product.sku: product for product in Product.objects.filter(sku__in=skus)}
    new: dict[str, Product] = {}
    errors = {}
    for index, line in enumerate(lines):
        sku = line["sku"]
        if sku in products or sku in new:
            continue
        if not line.get("name"):
            errors[f"lines[{index}].sku"] = order_rules.UNKNOWN_SKU % {"sku": sku}
            continue
        new[sku] = Product(sku=sku, name=line["name"], category=line.get("category", ""))
    if errors:
        raise ValidationError(errors)
    if new:
        for product in new.values():
            product.clean_fields()
        # A request recording the same new SKU at the same moment wins the insert; read both back.
        Product.objects.bulk_create(new.values(), ignore_conflicts=True)
        products.update((product.sku, product) for product in Product.objects.filter(sku__in=new))
    return products


@transaction.atomic
def order_refund(*, order: Order, amount: Decimal | None = None) -> Order:
    """Refund a purchase that was not cancelled, in full (``amount`` None) or in part; the net amount
    follows. Refusals are order_rules'."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    order_rules.refund_check(kind=order.kind, status=order.status, gross_amount=order.gross_amount, amount=amount)
    refunded_amount = order.gross_amount if amount is None else amount
    if order.status == Order.Status.REFUNDED and order.refunded_amount == refunded_amount:
        return order
    order.status, order.refunded_amount = Order.Status.REFUNDED, refunded_amount
    order.save(update_fields=["status", "refunded_amount", "updated_at"])
    order.refresh_from_db(fields=["net_amount"])  # computed by the database
    events.publish(events.ORDER_CHANGED, order_id=order.pk, customer_id=order.customer_id)
    return order


@transaction.atomic
def order_cancel(*, order: Order) -> Order:
    """Cancel an order: it is then worth nothing. Cancelling it again changes nothing."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status == Order.Status.CANCELLED:
        return order
    order.status = Order.Status.CANCELLED
    order.save(update_fields=["status", "updated_at"])
    order.refresh_from_db(fields=["net_amount"])
    events.publish(events.ORDER_CHANGED, order_id=order.pk, customer_id=order.customer_id)
    return order
