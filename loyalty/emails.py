"""The programme's emails, through the outbox (contact_plans.messaging.outbox.message_enqueue):
points earned after a purchase, reward redeemed, tier reached, tier about to be lost, points
expiring soon. Each is rendered here in the customer's language with the link to their standing
page, and enqueued with a source key that makes a second call the same message (never two emails
for one event). The outbox decides suppression (no address, bounced) and sends.

Points statements and codes are service messages (transactional); the expiry reminder and the
tier warning invite the customer to buy, so they are promotional and respect consent and the
"loyalty" topic of the preference centre.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from contact_plans.messaging.outbox import message_enqueue
from contact_plans.models.outbox import Channel, Purpose
from customers.models import Customer

from .standing import standing_path

TOPIC = "loyalty"


def _send(*, customer: Customer, source_key: str, purpose: str, subject, lines) -> None:
    with translation.override(customer.language or settings.LANGUAGE_CODE):
        context = {
            "customer": customer,
            "lines": [str(line) for line in lines],
            "link": settings.PUBLIC_BASE_URL + standing_path(customer.pk),
        }
        message_enqueue(
            customer=customer,
            channel=Channel.EMAIL,
            purpose=purpose,
            source_key=source_key,
            subject=str(subject()),
            html=render_to_string("loyalty/email/message.html", context),
            text=render_to_string("loyalty/email/message.txt", context),
            language=customer.language,
            topic=TOPIC if purpose == Purpose.PROMOTIONAL else "",
        )


def points_earned_email(*, customer: Customer, order_external_id: str, points: int, balance: int) -> None:
    _send(
        customer=customer,
        source_key=f"loyalty.earned.{order_external_id}",
        purpose=Purpose.TRANSACTIONAL,
        subject=lambda: _("You earned %(points)s points") % {"points": points},
        lines=[
            _("Your order %(order)s earned %(points)s points. Your balance is now %(balance)s points.")
            % {"order": order_external_id, "points": points, "balance": balance}
        ],
    )


def reward_redeemed_email(*, customer: Customer, redemption_id: int, reward: str, code: str, valid_until: str) -> None:
    _send(
        customer=customer,
        source_key=f"loyalty.redeemed.{redemption_id}",
        purpose=Purpose.TRANSACTIONAL,
        subject=lambda: _("Your reward: %(reward)s") % {"reward": reward},
        lines=[
            _("You redeemed %(reward)s. Show this code in the shop:") % {"reward": reward},
            code,
            _("Valid until %(date)s, once.") % {"date": valid_until},
        ],
    )


def tier_reached_email(*, customer: Customer, tier: str, benefits: str, on: str) -> None:
    _send(
        customer=customer,
        source_key=f"loyalty.tier.{customer.pk}.{tier}.{on}",
        purpose=Purpose.TRANSACTIONAL,
        subject=lambda: _("Welcome to %(tier)s") % {"tier": tier},
        lines=[_("You reached the %(tier)s tier.") % {"tier": tier}, benefits],
    )


def tier_at_risk_email(*, customer: Customer, tier: str, until: str) -> None:
    _send(
        customer=customer,
        source_key=f"loyalty.tier_at_risk.{customer.pk}.{tier}.{until}",
        purpose=Purpose.PROMOTIONAL,
        subject=lambda: _("Keep your %(tier)s tier") % {"tier": tier},
        lines=[_("Earn enough points before %(date)s to keep the %(tier)s tier.") % {"tier": tier, "date": until}],
    )


def points_expiring_email(*, customer: Customer, points: int, days: int, month: str) -> None:
    _send(
        customer=customer,
        source_key=f"loyalty.expiring.{customer.pk}.{month}",
        purpose=Purpose.PROMOTIONAL,
        subject=lambda: _("%(count)s of your points expire soon") % {"count": points},
        lines=[_("%(count)s points expire within %(days)s days.") % {"count": points, "days": days}],
    )


def contest_won_email(*, customer: Customer, contest_id: int, contest: str, prize: str) -> None:
    _send(
        customer=customer,
        source_key=f"loyalty.contest_won.{contest_id}.{customer.pk}",
        purpose=Purpose.TRANSACTIONAL,
        subject=lambda: _("You won: %(contest)s") % {"contest": contest},
        lines=[
            _("Congratulations: you are a winner of %(contest)s.") % {"contest": contest},
            _("Your prize: %(prize)s. We will be in touch to hand it over.") % {"prize": prize},
        ],
    )
