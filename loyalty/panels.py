"""The "Loyalty" card of the customer page, registered with customers.panels from
LoyaltyConfig.ready(). The page has already checked that the user may see the customer; the
enrol button and the adjustment form show only to those allowed (services.adjustment_allowed)."""

from customers import panels

from . import referrals, selectors, services
from .forms import AdjustmentForm
from .models import Member

TEMPLATE = "loyalty/_loyalty_panel.html"


def loyalty_panel_context(request, customer, *, form: AdjustmentForm | None = None, error: str = "") -> dict:
    member = Member.objects.filter(pk=customer.pk).first()
    can_adjust = services.adjustment_allowed(user=request.user, customer=customer)
    context = {"customer": customer, "member": member, "can_adjust": can_adjust, "error": error}
    if member is not None:
        context["standing"] = selectors.member_standing(member=member)
        context["entries"] = list(selectors.member_ledger(member_id=member.pk, limit=8))
        context["form"] = (form or AdjustmentForm()) if can_adjust else None
        context["referral_code"] = referrals.referral_code_get(customer=customer).code
        context["referrals"] = referrals.member_referrals(customer_id=member.pk)
    return context


def register() -> None:
    panels.register("loyalty", TEMPLATE, loyalty_panel_context, order=30)
