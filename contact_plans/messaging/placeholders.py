"""The base message placeholders, registered with retention_crm.message_placeholders from
ContactPlansConfig.ready(): the customer's profile, their metrics, their account manager, their
latest order, the products recommended to them ("bought together", metrics.recommendations) and the
unsubscribe and preference links. docs/messaging.md lists them.

Each provider takes the customer and returns plain data (text, numbers, dates, lists and dicts),
with the message's language active: money arrives formatted in that language, dates as dates
(the renderer formats them when shown).
"""

from django.utils.translation import gettext_lazy as _

from customers.models import Customer, Order
from metrics import recommendations as metrics_recommendations
from metrics import selectors as metrics_selectors
from retention_crm import message_placeholders as mp

from .formatting import format_money


def first_name(name: str) -> str:
    parts = name.split()
    return parts[0] if parts else ""


def customer_block(customer: Customer) -> dict:
    return {
        "first_name": first_name(customer.name),
        "name": customer.name,
        "company": customer.company,
        "email": customer.email,
        "country": customer.country,
        "external_id": customer.external_id,
        "customer_since": customer.acquired_at,
    }


def metrics_block(customer: Customer) -> dict:
    return _metrics_values(metrics_selectors.customer_metrics_for(customer=customer))


def metrics_blocks(customers: list[Customer]) -> dict[int, dict]:
    """``metrics_block`` for many customers in one query (bulk sends)."""
    found = metrics_selectors.customers_metrics_for(customer_ids=[c.pk for c in customers])
    return {c.pk: _metrics_values(found.get(c.pk)) for c in customers}


def _metrics_values(metrics) -> dict:
    if metrics is None:
        return {
            "last_purchase": None,
            "first_purchase": None,
            "purchases": 0,
            "value_level": "",
            "clv": "",
            "predicted_clv": "",
        }
    return {
        "last_purchase": metrics.last_purchase,
        "first_purchase": metrics.first_purchase,
        "purchases": metrics.purchases,
        "value_level": str(metrics.get_value_level_display()),
        "clv": format_money(metrics.net_revenue),
        "predicted_clv": format_money(metrics.predicted_clv) if metrics.predicted_clv is not None else "",
    }


def account_manager_block(customer: Customer) -> dict:
    manager = customer.account_manager
    if manager is None:
        return {"name": "", "first_name": "", "email": ""}
    return {
        "name": manager.get_full_name() or manager.get_username(),
        "first_name": manager.first_name or manager.get_username(),
        "email": manager.email,
    }


def order_summary(order: Order) -> dict:
    """What a message says about one order (the thank-you passes its own order as ``extra``)."""
    return {
        "number": order.external_id,
        "date": order.ordered_at,
        "total": format_money(order.gross_amount, order.currency),
        "items": order.lines.count(),
    }


def latest_order_block(customer: Customer) -> dict:
    order = customer.orders.filter(kind=Order.Kind.PURCHASE).order_by("-ordered_at", "-id").first()
    if order is None:
        return {"number": "", "date": None, "total": "", "items": 0}
    return order_summary(order)


def _products(items) -> list:
    return [
        {
            "name": item.name,
            "url": item.url,
            "price": format_money(item.price, item.currency or None) if item.price is not None else "",
        }
        for item in items
    ]


def recommended_products_block(customer: Customer) -> list:
    """The products most often bought with what the customer bought, that they do not have
    (metrics.recommendations), best first. An offer is marketing: a customer without marketing
    consent gets none, also in a transactional message such as the order thank-you."""
    if not customer.marketing_consent or customer.pk is None:
        return []
    return _products(metrics_recommendations.customer_recommendations(customer_id=customer.pk))


def recommended_products_blocks(customers: list[Customer]) -> dict[int, list]:
    """``recommended_products_block`` for many customers in one statement (bulk sends)."""
    consenting = [c.pk for c in customers if c.marketing_consent and c.pk is not None]
    found = metrics_recommendations.customers_recommendations(customer_ids=consenting) if consenting else {}
    return {c.pk: _products(found.get(c.pk, [])) for c in customers}


def recommended_for_order(order: Order) -> list:
    """The same for the acknowledgement of one purchase (the thank-you passes it as ``extra``):
    what goes with that order's products first."""
    customer = order.customer
    if not customer.marketing_consent:
        return []
    return _products(metrics_recommendations.order_recommendations(order_id=order.pk, customer_id=customer.pk))


def unsubscribe_link(customer: Customer) -> str:
    from .unsubscribe import unsubscribe_url  # the outbox's module

    return unsubscribe_url(customer)


def preferences_link(customer: Customer) -> str:
    from .unsubscribe import preferences_url  # the outbox's module

    return preferences_url(customer)


PLACEHOLDERS = (
    mp.Placeholder(
        name="customer",
        description=_("The customer's profile."),
        example={
            "first_name": "Siti",
            "name": "Siti Rahmawati",
            "company": "Toko Sinar",
            "email": "siti@example.com",
            "country": "ID",
            "external_id": "C00042",
            "customer_since": None,
        },
        provider=customer_block,
        fields={
            "first_name": _("First name (the first word of the name)"),
            "name": _("Full name"),
            "company": _("Company"),
            "email": _("Email address"),
            "country": _("Country"),
            "external_id": _("Customer number"),
            "customer_since": _("Acquisition date (a date; may be empty)"),
        },
        owner="contact_plans",
        order=10,
    ),
    mp.Placeholder(
        name="metrics",
        description=_("The customer's figures from the last metrics recompute (empty before the first)."),
        example={
            "last_purchase": None,
            "first_purchase": None,
            "purchases": 7,
            "value_level": "High",
            "clv": "£1,240.00",
            "predicted_clv": "£860.00",
        },
        provider=metrics_block,
        bulk_provider=metrics_blocks,
        fields={
            "last_purchase": _("Date of the last purchase"),
            "first_purchase": _("Date of the first purchase"),
            "purchases": _("Number of purchases"),
            "value_level": _("Value level (high, medium, low), in the message's language"),
            "clv": _("Historical CLV: net revenue so far, formatted as money"),
            "predicted_clv": _("Predicted CLV, formatted as money (empty without a model)"),
        },
        owner="contact_plans",
        order=20,
    ),
    mp.Placeholder(
        name="account_manager",
        description=_("The customer's account manager (empty when the customer is in nobody's book)."),
        example={"name": "Budi Santoso", "first_name": "Budi", "email": "budi@example.com"},
        provider=account_manager_block,
        fields={"name": _("Full name"), "first_name": _("First name"), "email": _("Email address")},
        owner="contact_plans",
        order=30,
    ),
    mp.Placeholder(
        name="order",
        description=_(
            "An order: the one being thanked for in the order thank-you, else the customer's latest purchase."
        ),
        example={"number": "O-1042", "date": None, "total": "£120.00", "items": 3},
        provider=latest_order_block,
        fields={
            "number": _("Order number"),
            "date": _("When it was ordered (a date)"),
            "total": _("Total, formatted as money in the order's currency"),
            "items": _("Number of lines"),
        },
        owner="contact_plans",
        order=40,
    ),
    mp.Placeholder(
        name="recommended_products",
        description=_(
            "Products often bought with what the customer bought and that they do not have yet, best first (up "
            "to five; best-sellers fill the list). Empty for a customer without marketing consent, and a loop "
            "over an empty list renders nothing."
        ),
        example=[{"name": "Teak chair", "url": "https://shop.example.com/p/teak-chair", "price": "£89.00"}],
        provider=recommended_products_block,
        bulk_provider=recommended_products_blocks,
        fields={
            "name": _("Product name"),
            "url": _("Link to the product on the shop (empty when none is configured)"),
            "price": _("Latest price paid, formatted as money"),
        },
        owner="contact_plans",
        order=50,
    ),
    mp.Placeholder(
        name="unsubscribe_url",
        description=_(
            "The customer's one-click unsubscribe link (promotional emails get a footer with it when "
            "the template does not place it)."
        ),
        example="https://crm.example.com/u/…",
        provider=unsubscribe_link,
        owner="contact_plans",
        order=60,
    ),
    mp.Placeholder(
        name="preferences_url",
        description=_("The customer's preference centre (channels and topics)."),
        example="https://crm.example.com/u/…/preferences/",
        provider=preferences_link,
        owner="contact_plans",
        order=70,
    ),
)


def message_placeholders_register() -> None:
    for placeholder in PLACEHOLDERS:
        mp.register(placeholder)
