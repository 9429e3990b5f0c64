"""The "Follow-ups" card of the customer page, registered with customers.panels at startup.

Registered from ContactPlansConfig.ready() (``register``). The customer page has already checked that the user may
see the customer; the card shows that customer's open follow-ups, and the buttons and the form
only to users who may edit the customer (customers.selectors.customer_can_edit).
"""

from customers import panels
from customers.selectors import customer_can_edit

from . import selectors
from .forms import FollowUpForm

TEMPLATE = "contact_plans/_followups_panel.html"


def followups_panel_context(request, customer, *, form: FollowUpForm | None = None, error: str = "") -> dict:
    can_edit = customer_can_edit(user=request.user, customer=customer)
    return {
        "customer": customer,
        "followups": list(selectors.followup_open_for_customer(customer=customer)),
        "can_edit": can_edit,
        "form": (form or FollowUpForm()) if can_edit else None,
        "error": error,
    }


def register() -> None:
    panels.register("followups", TEMPLATE, followups_panel_context, order=20)
