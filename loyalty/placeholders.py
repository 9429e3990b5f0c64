"""The "loyalty" block of the message templates (retention_crm.message_placeholders), registered
from LoyaltyConfig.ready(): a template writes {{ loyalty.points }}, {{ loyalty.tier }}, … A
customer who is not a member gets the block with ``member`` false and zeros (a template can test it).
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from retention_crm import message_placeholders as mp

from . import selectors
from .models import Member
from .standing import standing_path

FIELDS = {
    "member": _("Whether the customer is a member (true or false)"),
    "points": _("Points balance"),
    "tier": _("Current tier (empty: none)"),
    "next_tier": _("The next tier (empty: none)"),
    "to_next_tier": _("Points or spend still needed for the next tier"),
    "expiring": _("Points that expire within the reminder period"),
    "standing_url": _("Link to the customer's own page of points and rewards"),
}


def loyalty_for_message(customer) -> dict:
    member = Member.objects.filter(pk=customer.pk).first()
    if member is None:
        return {"member": False, "points": 0, "tier": "", "next_tier": "", "to_next_tier": 0, "expiring": 0,
                "standing_url": ""}  # fmt: skip
    standing = selectors.member_standing(member=member)
    return {
        "member": True,
        "points": standing["points"],
        "tier": standing["tier"].name if standing["tier"] else "",
        "next_tier": standing["next_tier"].name if standing["next_tier"] else "",
        "to_next_tier": standing["to_next_tier"] or 0,
        "expiring": standing["expiring"],
        "standing_url": settings.PUBLIC_BASE_URL + standing_path(member.pk),
    }


def register() -> None:
    mp.register(
        mp.Placeholder(
            name="loyalty",
            description=_("The customer's loyalty account: balance, tier, progress, points expiring, their page."),
            example={
                "member": True,
                "points": 1250,
                "tier": "Gold",
                "next_tier": "",
                "to_next_tier": 0,
                "expiring": 120,
                "standing_url": "https://crm.example.com/loyalty/s/…/",
            },  # fmt: skip
            provider=loyalty_for_message,
            fields=FIELDS,
            owner="loyalty",
            order=80,
        )
    )
