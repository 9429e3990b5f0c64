"""The loyalty API: the persona trio (Alice's customer: Alice writes, Marta the marketer reads,
Bob's and Charlie's requests find nothing or may not write), idempotent earning, redemption and
codes, and the error shape of every refusal."""

import pytest
from django.urls import reverse

from loyalty import services
from loyalty.models import LedgerEntry, Member, Reward
from tests.conftest import api_client_for
from tests.customers.factories import CustomerFactory

from .factories import EarningRuleFactory, MemberFactory, RewardFactory, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(alice):
    EarningRuleFactory()
    return MemberFactory(customer=CustomerFactory(account_manager=alice))


def test_earning_on_an_order_awards_once_whatever_is_sent_again(member, alice):
    order = place_order(member.customer, amount="42.50")
    client = api_client_for(alice)
    url = reverse("api-loyalty-earn", args=[order.pk])

    first = client.post(url, HTTP_IDEMPOTENCY_KEY="till-7-0001")
    replay = client.post(url, HTTP_IDEMPOTENCY_KEY="till-7-0001")
    again = client.post(url)

    assert first.status_code == 200 and first.json()["earned"] == 42 and first.json()["balance"] == 42
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == first.json()
    assert again.json()["balance"] == 42
    assert LedgerEntry.objects.filter(order=order).count() == 1


def test_the_persona_trio_on_a_members_standing_and_earning(member, alice, bob, charlie, marta):
    order = place_order(member.customer)
    standing = reverse("api-loyalty-member", args=[member.pk])
    earn = reverse("api-loyalty-earn", args=[order.pk])

    assert api_client_for(alice).get(standing).json()["points"] == 0
    assert api_client_for(marta).get(standing).status_code == 200
    assert api_client_for(bob).get(standing).status_code == 404
    assert api_client_for(charlie).get(standing).status_code == 403
    assert api_client_for(bob).post(earn).status_code == 404
    refused = api_client_for(marta).post(earn)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert not LedgerEntry.objects.exists()


def test_earning_for_a_customer_who_is_not_a_member_is_refused_with_the_reason(alice):
    order = place_order(CustomerFactory(account_manager=alice))

    response = api_client_for(alice).post(reverse("api-loyalty-earn", args=[order.pk]))

    assert response.status_code == 400
    assert "not a member" in str(response.json()["error"]["fields"])


def test_enrol_redeem_check_and_use_a_code(alice, ada):
    customer = CustomerFactory(account_manager=alice)
    client = api_client_for(alice)

    enrolled = client.post(reverse("api-loyalty-enrol"), {"customer_id": customer.pk}, format="json")
    assert enrolled.status_code == 201
    services.points_adjust(customer=customer, points=150, reason="Welcome", user=ada)
    reward = RewardFactory(points_cost=100, stock=1)

    assert [r["id"] for r in client.get(reverse("api-loyalty-rewards")).json()["results"]] == [reward.pk]
    redeemed = client.post(
        reverse("api-loyalty-redeem"), {"customer_id": customer.pk, "reward_id": reward.pk}, format="json"
    )
    assert redeemed.status_code == 201
    code = redeemed.json()["code"]
    short = client.post(
        reverse("api-loyalty-redeem"), {"customer_id": customer.pk, "reward_id": reward.pk}, format="json"
    )
    assert short.status_code == 400 and "balance is 50" in str(short.json()["error"]["fields"])

    checked = client.get(reverse("api-loyalty-code", args=[code]))
    assert checked.json()["usable"] is True and checked.json()["reward"]["id"] == reward.pk
    assert client.post(reverse("api-loyalty-code-use", args=[code])).status_code == 200
    twice = client.post(reverse("api-loyalty-code-use", args=[code]))
    assert twice.status_code == 400 and twice.json()["error"]["fields"] == {"code": ["This code was already used."]}
    assert client.get(reverse("api-loyalty-code", args=["NOPE0-NOPE0"])).status_code == 404
    assert Reward.objects.get(pk=reward.pk).stock == 0 and Member.objects.get(pk=customer.pk).points == 50


def test_bad_input_is_refused_field_by_field(member, alice):
    client = api_client_for(alice)

    response = client.post(
        reverse("api-loyalty-redeem"), {"customer_id": "x", "reward_id": 2**70, "extra": 1}, format="json"
    )

    fields = response.json()["error"]["fields"]
    assert response.status_code == 400 and set(fields) == {"customer_id", "reward_id", "extra"}
    unknown = client.post(reverse("api-loyalty-redeem"), {"customer_id": member.pk, "reward_id": 999}, format="json")
    assert unknown.json()["error"]["fields"] == {"reward": ["There is no such reward."]}


def test_the_ledger_lists_a_members_entries_newest_first_and_only_to_those_who_see_them(member, alice, bob, ada):
    services.points_adjust(customer=member.customer, points=5, reason="First", user=ada)
    services.points_adjust(customer=member.customer, points=7, reason="Second", user=ada)

    rows = api_client_for(alice).get(reverse("api-loyalty-ledger"), {"customer_id": member.pk}).json()["results"]

    assert [(row["reason"], row["points"], row["created_by"]) for row in rows] == [
        ("Second", 7, "ada"),
        ("First", 5, "ada"),
    ]
