"""The rules about orders that every writer applies, each stated once with its message.

The services (``order_record``, ``order_refund``, used by the API and the browser) check one order
at a time with the functions below; the import checks a whole file at once as SQL over its staging
tables (``imports.writer``), with the same rule and the same message. What an order is worth is not
a rule to check but a column the database computes (``models.ORDER_NET_AMOUNT``).
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Order

# --- Lines ------------------------------------------------------------------------------------------

QUANTITY_ZERO = _("The quantity cannot be zero.")
QUANTITY_NEGATIVE_ON_PURCHASE = _("The quantity must be positive on a purchase.")
UNIT_PRICE_NEGATIVE = _("The unit price cannot be negative.")
UNKNOWN_SKU = _("No product has the SKU “%(sku)s”; give the line a name to create it.")


def line_errors(*, kind: str, quantity: int, unit_price: Decimal) -> dict[str, str]:
    """What is wrong with one line of an order of ``kind``, by field (empty: nothing).

    A refund's lines are negative whatever sign they are given; a purchase's must be positive.
    """
    errors = {}
    if quantity == 0:
        errors["quantity"] = QUANTITY_ZERO
    elif quantity < 0 and kind == Order.Kind.PURCHASE:
        errors["quantity"] = QUANTITY_NEGATIVE_ON_PURCHASE
    if unit_price < 0:
        errors["unit_price"] = UNIT_PRICE_NEGATIVE
    return errors


# --- Refunds ----------------------------------------------------------------------------------------

# Only a purchase that was not cancelled can be refunded, and never for more than its gross amount
# (the database holds the second half too: the constraint order_refund_only_of_a_purchase_up_to_its_gross).
NOT_REFUNDABLE = _("Only a purchase that was not cancelled can be refunded.")
REFUND_TOO_LARGE = _("The refund cannot be more than the order's amount.")
REFUND_NOT_POSITIVE = _("The refund must be more than 0.")
# An order with a refunded amount is a refunded order (what order_refund records); the import says so.
REFUND_NEEDS_REFUNDED_STATUS = _("A refunded amount needs the status refunded.")


def is_refundable(*, kind: str, status: str) -> bool:
    return kind == Order.Kind.PURCHASE and status != Order.Status.CANCELLED


def refund_check(*, kind: str, status: str, gross_amount: Decimal, amount: Decimal | None) -> None:
    """Raise ValidationError unless an order of this kind and status may be refunded ``amount``
    (None: in full)."""
    if not is_refundable(kind=kind, status=status):
        raise ValidationError(NOT_REFUNDABLE)
    if amount is not None and amount <= 0:
        raise ValidationError({"amount": REFUND_NOT_POSITIVE})
    if amount is not None and amount > gross_amount:
        raise ValidationError({"amount": REFUND_TOO_LARGE})


def record_check(*, kind: str, status: str) -> None:
    """An order recorded as refunded (the API, an import) is a purchase, refunded in full."""
    if status == Order.Status.REFUNDED and kind != Order.Kind.PURCHASE:
        raise ValidationError({"status": NOT_REFUNDABLE})


def refunded_amount_on_record(
    *, kind: str, status: str, gross_amount: Decimal, refunded_amount: Decimal | None = None
) -> Decimal:
    """What a recorded order has had refunded: a refunded purchase its ``refunded_amount`` (an import
    of a partial refund), in full when none is given; anything else nothing."""
    if status == Order.Status.REFUNDED and kind == Order.Kind.PURCHASE:
        return gross_amount if refunded_amount is None else refunded_amount
    return Decimal("0")
