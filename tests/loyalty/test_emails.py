"""The programme's emails through the outbox, and the path of the issue's "Done when" without a
browser: a tier and a reward set up, an order placed and awarded through the API, the standing
page opened from the email in the outbox, the reward redeemed there (the browser test drives the
same path in Chromium when it is written)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contact_plans.models.outbox import Message
from customers.models import Customer
from loyalty import services
from loyalty.models import Redemption
from tests.conftest import api_client_for
from tests.customers.factories import CustomerFactory

from .factories import EarningRuleFactory, MemberFactory, RewardFactory, TierFactory, place_order

pytestmark = pytest.mark.django_db


def test_an_order_through_the_api_emails_the_points_and_the_link_opens_the_page_to_redeem(alice):
    EarningRuleFactory()
    TierFactory(name="Silver", threshold=100, benefits="5% off")
    reward = RewardFactory(name="Tote bag", points_cost=100, stock=3)
    customer = CustomerFactory(account_manager=alice, email="siti@example.com", language="ms")
    MemberFactory(customer=customer)
    order = place_order(customer, amount="150", at=timezone.now() - timedelta(hours=1))

    earned = api_client_for(alice).post(reverse("api-loyalty-earn", args=[order.pk]))
    assert earned.json()["earned"] == 150

    emails = {m.subject: m for m in Message.objects.filter(customer=customer)}
    assert set(emails) == {"Anda memperoleh 150 mata", "Selamat datang ke Silver"}
    link = re.search(r"https?://\S+/loyalty/s/\S+/", emails["Anda memperoleh 150 mata"].text).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = Client().get("/" + path)
    assert page.status_code == 200 and 'data-testid="standing-points">150<' in page.content.decode()

    redeemed = Client().post("/" + path + "redeem/", {"reward": reward.pk}, follow=True)

    code = Redemption.objects.get().code
    assert code in redeemed.content.decode()
    assert (
        Message.objects.filter(customer=customer, source_key__startswith="loyalty.redeemed.").get().text.count(code)
        == 1
    )


def test_emails_are_sent_once_per_event(alice):
    EarningRuleFactory()
    customer = MemberFactory(customer=CustomerFactory(email="a@example.com")).customer
    order = place_order(customer, amount="20", at=timezone.now() - timedelta(hours=1))

    services.order_points_earn(order_id=order.pk)
    services.order_points_earn(order_id=order.pk)

    assert Message.objects.filter(source_key__startswith="loyalty.earned.").count() == 1


def test_the_expiry_reminder_and_the_tier_warning_are_promotional_and_sent_once(ada):
    Customer.objects.all().delete()
    member = MemberFactory(
        customer=CustomerFactory(
            email="b@example.com", marketing_consent=True, consent_at=timezone.now(), consent_source="web_form"
        )
    )
    services.points_adjust(customer=member.customer, points=80, reason="Welcome", user=ada)
    later = timezone.now() + timedelta(days=350)  # the adjustment's points expire 365 days on

    assert services.points_expiry_remind(now=later) == 1
    services.points_expiry_remind(now=later + timedelta(hours=1))

    reminder = Message.objects.get(source_key__startswith="loyalty.expiring.")
    assert reminder.purpose == "promotional" and reminder.topic == "loyalty" and "80" in reminder.subject
    silver = TierFactory(name="Silver", threshold=Decimal("1"))
    member.tier = silver
    member.save()
    services.member_tiers_refresh(member_ids=[member.pk])  # no points earned: the grace period starts
    assert Message.objects.filter(source_key__startswith="loyalty.tier_at_risk.").count() == 1
