"""The "Loyalty" card of the customer page and its actions (enrol, adjust).

Alice owns the customer and adjusts; Marta, a marketer, sees the card without the form; Bob (another
account manager) and Charlie (no role) get a 404 from the actions.
"""

import pytest
from django.urls import reverse

from customers.models import Interaction
from loyalty.models import LedgerEntry, Member
from tests.clients import client_for
from tests.customers.factories import CustomerFactory

from .factories import MemberFactory, TierFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def customer(alice):
    return CustomerFactory(account_manager=alice, name="Hoang Bakery")


def test_a_non_member_is_enrolled_from_the_card(alice, customer):
    page = client_for(alice).get(customer.get_absolute_url()).content.decode()
    assert 'id="customer-loyalty"' in page and "Enrol in the programme" in page

    card = client_for(alice).post(reverse("loyalty:enrol", args=[customer.pk]), headers=HTMX).content.decode()

    assert Member.objects.filter(pk=customer.pk).exists()
    assert "Adjust the points" in card


def test_the_owner_adjusts_with_a_reason_and_it_shows_on_the_card_and_the_timeline(alice, customer):
    MemberFactory(customer=customer)
    TierFactory(name="Silver", threshold=100)

    card = (
        client_for(alice)
        .post(reverse("loyalty:adjust", args=[customer.pk]), {"points": "40", "reason": "Broken mug"}, headers=HTMX)
        .content.decode()
    )

    assert 'data-testid="loyalty-points">40<' in card and "Broken mug" in card and "to reach Silver" in card
    assert Interaction.objects.get(customer=customer, kind="loyalty").subject.startswith(
        "Loyalty points adjusted by +40"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"points": "2.5", "reason": "x"}, "Enter a whole number of points."),
        ({"points": "0", "reason": "x"}, "An adjustment of zero points changes nothing."),
        ({"points": "-5", "reason": "x"}, "cannot go below zero"),
        ({"points": "5", "reason": ""}, "This field is required."),
    ],
)
def test_a_bad_adjustment_is_refused_on_the_card_and_writes_nothing(alice, customer, data, message):
    MemberFactory(customer=customer)

    response = client_for(alice).post(reverse("loyalty:adjust", args=[customer.pk]), data, headers=HTMX)

    assert response.status_code == 200 and message in response.content.decode()
    assert not LedgerEntry.objects.exists()


def test_a_marketer_sees_the_card_without_the_form_and_strangers_get_nothing(customer, marta, bob, charlie):
    MemberFactory(customer=customer)

    page = client_for(marta).get(customer.get_absolute_url()).content.decode()

    assert 'id="customer-loyalty"' in page and "Adjust the points" not in page
    assert (
        client_for(marta)
        .post(reverse("loyalty:adjust", args=[customer.pk]), {"points": "5", "reason": "x"})
        .status_code
        == 403
    )
    for stranger in (bob, charlie):
        response = client_for(stranger).post(
            reverse("loyalty:adjust", args=[customer.pk]), {"points": "5", "reason": "x"}
        )
        assert response.status_code == 404
    assert not LedgerEntry.objects.exists()


def test_the_card_shows_the_members_referral_code_and_referrals(alice, customer):
    from loyalty import referrals

    MemberFactory(customer=customer)
    code = referrals.referral_code_get(customer=customer).code
    referrals.referral_record(customer=CustomerFactory(), code=code)

    page = client_for(alice).get(customer.get_absolute_url()).content.decode()

    assert f"Referral code {code}: 1 customer referred, 0 rewarded." in page
