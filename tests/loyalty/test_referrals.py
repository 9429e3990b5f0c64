"""Referrals: codes and links, recording a referral (and its refusals), the reward once the first
purchase stood unrefunded for the waiting days, never twice, never in a loop; results; the API
scoped as the CRM is."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from customers import services as customer_services
from customers.models import Customer
from loyalty import referrals, selectors
from loyalty.models import LedgerEntry, Programme, ReferralCode
from loyalty.results import programme_results
from tests.conftest import api_client_for
from tests.customers.factories import CustomerFactory

from .factories import MemberFactory, place_order

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def rewards():
    selectors.programme_get()
    Programme.objects.filter(pk=1).update(referral_reward_points=200, referred_reward_points=50, referral_wait_days=30)


@pytest.fixture
def ann(db):
    return MemberFactory(customer=CustomerFactory(name="Ann"))


def _code(member) -> str:
    return referrals.referral_code_get(customer=member.customer).code


def test_a_member_has_one_code_and_a_link(ann):
    code = _code(ann)

    assert code == _code(ann) and len(code) == 8 and set(code) <= set(referrals.CODE_ALPHABET)
    assert referrals.referral_path(code) == f"/loyalty/r/{code}/"
    assert ReferralCode.objects.count() == 1


def test_the_link_counts_the_visit_and_sends_to_the_shop_with_the_code(client, ann):
    code = _code(ann)
    selectors.programme_get()
    Programme.objects.filter(pk=1).update(shop_url="https://shop.example/welcome?utm=x")

    answer = client.get(f"/loyalty/r/{code.lower()}/")

    assert answer.status_code == 302 and answer["Location"] == f"https://shop.example/welcome?utm=x&ref={code}"
    assert answer["Referrer-Policy"] == "no-referrer"
    assert ReferralCode.objects.get().visits == 1


def test_without_a_shop_the_link_shows_the_code_and_an_unknown_code_says_so(client, ann):
    code = _code(ann)

    page = client.get(f"/loyalty/r/{code}/?lang=ca")
    unknown = client.get("/loyalty/r/NOPE2345/")

    assert page.status_code == 200 and code in page.content.decode()
    assert unknown.status_code == 404 and "does not work" in unknown.content.decode()


def test_recording_a_referral_sets_referred_by(ann):
    new = CustomerFactory()

    referrals.referral_record(customer=new, code=_code(ann).lower())
    referrals.referral_record(customer=new, code=_code(ann))  # the same again: nothing changes

    assert Customer.objects.get(pk=new.pk).referred_by_id == ann.pk


def test_refusals_name_what_is_wrong_and_change_nothing(ann):
    bea = MemberFactory()
    referrals.referral_record(customer=bea.customer, code=_code(ann))  # Ann referred Bea
    bought = CustomerFactory()
    place_order(bought, at=timezone.now() - timedelta(days=3))

    cases = [
        (ann.customer, "WRONG234", "code", "unknown"),
        (ann.customer, _code(ann), "code", "themselves"),
        (ann.customer, _code(bea), "code", "loop"),  # Bea refers Ann, who referred Bea
        (bea.customer, _code(MemberFactory()), "customer_id", "already referred"),
        (bought, _code(ann), "customer_id", "bought before"),
    ]
    for customer, code, field, reason in cases:
        with pytest.raises(ValidationError) as refused:
            referrals.referral_record(customer=customer, code=code)
        assert reason in " ".join(refused.value.message_dict[field])
    assert Customer.objects.get(pk=ann.pk).referred_by_id is None
    assert Customer.objects.get(pk=bea.pk).referred_by_id == ann.pk
    assert Customer.objects.get(pk=bought.pk).referred_by_id is None


def test_a_longer_loop_is_refused_too(ann):
    bea, cid = MemberFactory(), MemberFactory()
    referrals.referral_record(customer=bea.customer, code=_code(ann))
    referrals.referral_record(customer=cid.customer, code=_code(bea))

    with pytest.raises(ValidationError, match="loop"):
        referrals.referral_record(customer=ann.customer, code=_code(cid))


def _referred(referrer, *, member: bool, at: datetime, amount="40", **order):
    customer = MemberFactory().customer if member else CustomerFactory()
    referrals.referral_record(customer=customer, code=_code(referrer), at=at - timedelta(hours=1))
    return customer, place_order(customer, amount=amount, at=at, **order)


def test_the_reward_comes_once_the_first_purchase_stood_unrefunded(rewards, ann):
    kept, _order = _referred(ann, member=True, at=NOW - timedelta(days=31))
    young, _order = _referred(ann, member=False, at=NOW - timedelta(days=10))
    refunded, order = _referred(ann, member=False, at=NOW - timedelta(days=40))
    customer_services.order_refund(order=order, amount=Decimal("40"))

    assert referrals.referrals_reward(now=NOW) == 2  # Ann, and the referred member
    assert referrals.referrals_reward(now=NOW) == 0  # once

    entries = dict(LedgerEntry.objects.filter(source="referral").values_list("key", "points"))
    assert entries == {f"referrer:{kept.pk}": 200, f"referred:{kept.pk}": 50}
    assert referrals.referrals_reward(now=NOW + timedelta(days=21)) == 1  # the young one's turn
    assert referrals.member_referrals(customer_id=ann.pk) == {"referred": 3, "converted": 2, "points": 400}
    assert selectors.balance_drift() == []


def test_a_second_reward_for_the_same_person_is_refused_by_the_database(rewards, ann):
    new, _order = _referred(ann, member=False, at=NOW - timedelta(days=31))
    referrals.referrals_reward(now=NOW)
    other = MemberFactory()
    Customer.objects.filter(pk=new.pk).update(referred_by=other.customer)  # edited behind the services' back

    assert referrals.referrals_reward(now=NOW) == 0
    assert not LedgerEntry.objects.filter(member=other).exists()


def test_a_loop_written_around_the_services_is_never_rewarded(rewards, ann):
    bea = MemberFactory()
    place_order(bea.customer, at=NOW - timedelta(days=50))
    place_order(ann.customer, at=NOW - timedelta(days=50))
    Customer.objects.filter(pk=bea.pk).update(referred_by=ann.customer)
    Customer.objects.filter(pk=ann.pk).update(referred_by=bea.customer)

    assert referrals.referrals_reward(now=NOW) == 0


def test_results_count_referrals_conversions_and_points(rewards, ann):
    _referred(ann, member=False, at=NOW - timedelta(days=31))
    referrals.referrals_reward(now=NOW)

    results = programme_results(start=NOW - timedelta(days=1), end=NOW + timedelta(days=1))

    assert (results.referrals_converted, results.referral_points) == (1, 200)


def test_the_api_records_a_referral_for_a_customer_the_user_may_edit(alice, bob, marta, ann):
    mine = CustomerFactory(account_manager=alice)
    url = reverse("api-loyalty-referrals")

    created = api_client_for(alice).post(url, {"customer_id": mine.pk, "code": _code(ann)}, format="json")
    unknown = api_client_for(alice).post(url, {"customer_id": mine.pk, "code": "ZZZZ2345"}, format="json")
    stranger = api_client_for(bob).post(url, {"customer_id": mine.pk, "code": _code(ann)}, format="json")
    marketer = api_client_for(marta).post(url, {"customer_id": mine.pk, "code": _code(ann)}, format="json")

    assert created.status_code == 201 and created.json() == {"customer_id": mine.pk, "referred_by": ann.pk}
    assert unknown.status_code == 400 and "unknown" in str(unknown.json())
    assert stranger.status_code == 404 and marketer.status_code == 403


def test_the_api_gives_a_visible_members_code_and_link(alice, bob):
    member = MemberFactory(customer=CustomerFactory(account_manager=alice))
    url = reverse("api-loyalty-referral", args=[member.pk])

    mine = api_client_for(alice).get(url)

    assert mine.status_code == 200 and mine.json()["link"].endswith(f"/loyalty/r/{mine.json()['code']}/")
    assert mine.json()["referred"] == 0
    assert api_client_for(bob).get(url).status_code == 404
