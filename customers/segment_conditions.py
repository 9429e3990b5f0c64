"""Segment conditions on customer fields and on behaviour (orders, interactions, referrals).

The conditions are data (``CONDITIONS``); ``register_all`` adds them to the neutral registry
``retention_crm.segment_conditions`` and is called from ``CustomersConfig.ready()``. This module
imports nothing of the other apps.

A *purchase* is an order with a positive net amount (docs/metrics.md); "in the last N days" counts
back from the moment the rule is compiled (a preview or a refresh).
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from retention_crm import segment_conditions as sc

from .models import Customer, Interaction, Order, OrderLine, Product, Tag

TEXT_OPS = ("eq", "ne", "in", "not_in", "contains", "is_empty", "is_not_empty")
CHOICE_OPS = ("eq", "ne", "in", "not_in")
DATE_OPS = ("eq", "gt", "gte", "lt", "lte", "between", "is_empty", "is_not_empty")
COUNT_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "between")

# Suggestions are a convenience; 200 keeps a datalist light even for a big product catalogue.
SUGGESTIONS_LIMIT = 200


def _since(days: int | None):
    return timezone.now() - timedelta(days=days) if days else None


def _distinct(queryset, field: str) -> list[str]:
    values = queryset.exclude(**{field: ""}).order_by(field).values_list(field, flat=True).distinct()
    return list(values[:SUGGESTIONS_LIMIT])


def _account_manager_choices():
    from .selectors import account_manager_list

    return [(user.pk, user.get_full_name() or user.get_username()) for user in account_manager_list()]


def _tags_q(operator: str, value, days) -> Q:
    through = Customer.tags.through.objects.filter(customer_id=OuterRef("pk"))
    if operator == "all":
        q = Q()
        for name in value:
            q &= Q(Exists(through.filter(tag__name=name)))
        return q
    has_any = Q(Exists(through.filter(tag__name__in=value)))
    return ~has_any if operator == "not_in" else has_any


def _purchases(days: int | None):
    orders = Order.objects.filter(customer_id=OuterRef("pk"), net_amount__gt=0)
    since = _since(days)
    return orders.filter(ordered_at__gte=since) if since else orders


def _bought_lines(days: int | None):
    lines = OrderLine.objects.filter(order__customer_id=OuterRef("pk"), order__net_amount__gt=0)
    since = _since(days)
    return lines.filter(order__ordered_at__gte=since) if since else lines


def _bought_product(value, days) -> Q:
    skus = value if isinstance(value, list) else [value]
    return Q(Exists(_bought_lines(days).filter(product__sku__in=skus)))


def _bought_category(value, days) -> Q:
    categories = value if isinstance(value, list) else [value]
    return Q(Exists(_bought_lines(days).filter(product__category__in=categories)))


def _purchase_q(operator: str, value, days) -> Q:
    recent = Q(Exists(_purchases(value)))
    return ~recent if operator == "not_within" else recent


def _open_complaint(value, days) -> Q:
    return Q(
        Exists(
            Interaction.objects.filter(
                customer_id=OuterRef("pk"), kind=Interaction.Kind.COMPLAINT, resolved_at__isnull=True
            )
        )
    )


def _interaction(value, days) -> Q:
    kinds = value if isinstance(value, list) else [value]
    interactions = Interaction.objects.filter(customer_id=OuterRef("pk"), kind__in=kinds)
    since = _since(days)
    if since:
        interactions = interactions.filter(occurred_at__gte=since)
    return Q(Exists(interactions))


def _referrals_who_bought(having: Q, days):
    # Per referrer: how many of the customers they referred made a purchase.
    return (
        Order.objects.filter(net_amount__gt=0, customer__referred_by__isnull=False)
        .values("customer__referred_by")
        .annotate(total=Count("customer", distinct=True))
        .filter(having)
        .values("customer__referred_by")
    )


def _field(key, label, value_type, operators, column, **extra) -> sc.Condition:
    """A condition on a column of Customer: one row of the table below."""
    blank_is_empty = extra.pop("blank_is_empty", False)
    return sc.Condition(
        key=key,
        label=label,
        group="customer",
        value_type=value_type,
        operators=operators,
        compile=sc.field_compiler(column, blank_is_empty=blank_is_empty),
        **extra,
    )


def _behaviour(key, label, value_type, operators, compile, **extra) -> sc.Condition:
    return sc.Condition(
        key=key, label=label, group="behaviour", value_type=value_type, operators=operators, compile=compile, **extra
    )


def _customer_values(field: str):
    return lambda: _distinct(Customer.objects.all(), field)


# fmt: off
CONDITIONS: tuple[sc.Condition, ...] = (
    # key, label, value type, operators, column of Customer, extras
    _field("customer.country", _("Country"), "text", TEXT_OPS, "country",
           blank_is_empty=True, suggestions=_customer_values("country")),
    _field("customer.language", _("Preferred language"), "choice", CHOICE_OPS, "language",
           choices=lambda: settings.LANGUAGES),
    sc.Condition(key="customer.tags", label=_("Tags"), group="customer", value_type="tags",
                 operators=("in", "all", "not_in"), compile=_tags_q,
                 suggestions=lambda: list(Tag.objects.order_by("name").values_list("name", flat=True)[:SUGGESTIONS_LIMIT])),
    _field("customer.account_manager", _("Account manager"), "choice", (*CHOICE_OPS, "is_empty", "is_not_empty"),
           "account_manager_id", choices=_account_manager_choices),
    _field("customer.acquisition_source", _("Acquisition source"), "text", TEXT_OPS, "acquisition_source",
           blank_is_empty=True, suggestions=_customer_values("acquisition_source")),
    _field("customer.marketing_consent", _("Marketing consent"), "boolean", ("is_true", "is_false"),
           "marketing_consent"),
    _field("customer.acquired_at", _("Acquisition date"), "date", DATE_OPS, "acquired_at"),

    # key, label, value type, operators, compiler, extras
    _behaviour("behaviour.bought_product", _("Bought product (SKU)"), "text", ("eq", "in", "ne", "not_in"),
               sc.exists_compiler(_bought_product), window="optional",
               suggestions=lambda: list(Product.objects.order_by("sku").values_list("sku", flat=True)[:SUGGESTIONS_LIMIT]),
               help_text=_("“is not” means never bought it (in the window, when there is one).")),
    _behaviour("behaviour.bought_category", _("Bought in category"), "text", ("eq", "in", "ne", "not_in"),
               sc.exists_compiler(_bought_category), window="optional",
               suggestions=lambda: _distinct(Product.objects.all(), "category")),
    _behaviour("behaviour.purchase", _("A purchase"), "days", ("within", "not_within"), _purchase_q,
               help_text=_("“not in the last 90 days”: customers who did not buy in 90 days (or never bought).")),
    _behaviour("behaviour.open_complaint", _("Has an open complaint"), "boolean", ("is_true", "is_false"),
               sc.exists_compiler(_open_complaint)),
    _behaviour("behaviour.interaction", _("Had an interaction of kind"), "choice", ("eq", "in", "ne", "not_in"),
               sc.exists_compiler(_interaction), choices=lambda: Interaction.Kind.choices, window="optional"),
    _behaviour("behaviour.referrals_who_bought", _("Referred customers who bought"), "integer", COUNT_OPS,
               sc.aggregate_compiler(_referrals_who_bought), min_value=0,
               help_text=_("How many of the customers they referred made a purchase.")),
)
# fmt: on


def register_all() -> None:
    """Called from CustomersConfig.ready(); registering again replaces, so it is safe twice."""
    sc.register_group("customer", _("Customer"), order=10)
    sc.register_group("behaviour", _("Behaviour"), order=30)
    for condition in CONDITIONS:
        sc.register(condition)
