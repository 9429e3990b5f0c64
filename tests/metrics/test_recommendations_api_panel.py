""" "Bought together" shown to people: the card on the customer page and the two API endpoints, each
scoped by the one visibility rule (Alice owns the customer, Bob is a colleague, Charlie has no role,
Marta is a marketer)."""

from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse

from metrics.services.recommendations import product_pairs_recompute
from tests.clients import client_for
from tests.conftest import api_client_for
from tests.customers.factories import CustomerFactory, OrderFactory, ProductFactory, order_add_line

pytestmark = pytest.mark.django_db


def basket(customer, *products):
    order = OrderFactory(customer=customer)
    for product in products:
        order_add_line(order, product=product, unit_price="12.00" if product.sku == "POT" else "4.50")
    return order


@pytest.fixture
def shop():
    tea, pot, tin = (
        ProductFactory(sku=s, name=n) for s, n in (("TEA", "Green tea"), ("POT", "Teapot"), ("TIN", "Tin"))
    )
    others = CustomerFactory()
    for _ in range(3):
        basket(others, tea, pot)
    basket(others, tea, tin)
    basket(others, tea, tin)
    return {"tea": tea, "pot": pot, "tin": tin}


@pytest.fixture
def customer(shop, alice):
    customer = CustomerFactory(account_manager=alice, marketing_consent=False)
    basket(customer, shop["tea"])
    product_pairs_recompute()
    return customer


def detail(user, customer):
    return client_for(user).get(reverse("customers:detail", args=[customer.pk]))


# --- The card ----------------------------------------------------------------------------------------


def test_the_owner_sees_what_to_offer_with_what_it_goes_with(customer, alice):
    response = detail(alice, customer)

    assert response.status_code == 200
    html = response.content.decode()
    card = html[html.index('id="bought-together"') :]
    assert card.index("Teapot") < card.index("Tin")
    assert "bought with Green tea" in card
    assert "£12.00" in card
    assert "No marketing consent: messages do not offer these to this customer." in card


def test_a_colleague_and_a_stranger_get_404_and_a_marketer_sees_the_card(customer, bob, charlie, marta):
    assert detail(bob, customer).status_code == 404
    assert detail(charlie, customer).status_code == 404
    assert 'id="bought-together"' in detail(marta, customer).content.decode()


def test_before_any_recompute_the_card_says_when_they_appear(alice):
    customer = CustomerFactory(account_manager=alice)

    html = detail(alice, customer).content.decode()

    assert "Recommendations appear after the next metrics recompute." in html


def test_the_card_speaks_the_users_language(customer, alice):
    html = (
        client_for(alice)
        .get(reverse("customers:detail", args=[customer.pk]), HTTP_ACCEPT_LANGUAGE="ca")
        .content.decode()
    )

    assert "Es compren junts" in html
    assert "12,00" in html


# --- The API -----------------------------------------------------------------------------------------


def recommendations_url(customer_id) -> str:
    return f"/api/v1/customers/{customer_id}/recommendations/"


def test_the_api_gives_a_customers_recommendations_to_those_who_may_see_them(customer, alice, bob, charlie, marta):
    response = api_client_for(alice).get(recommendations_url(customer.pk))

    assert response.status_code == 200
    body = response.json()
    assert body["customer_id"] == customer.pk and body["computed_at"]
    assert [(r["sku"], r["reason"]) for r in body["results"]] == [
        ("POT", "bought_together"),
        ("TIN", "bought_together"),
    ]
    assert Decimal(body["results"][0]["price"]) == Decimal("12.00") and body["results"][0]["url"] == ""
    assert api_client_for(marta).get(recommendations_url(customer.pk)).status_code == 200
    for outsider in (bob, charlie):
        refused = api_client_for(outsider).get(recommendations_url(customer.pk))
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "not_found"


def test_the_api_refuses_a_bad_limit_with_the_field_named(customer, alice):
    for bad in ("0", "51", "many"):
        response = api_client_for(alice).get(recommendations_url(customer.pk), {"limit": bad})
        assert response.status_code == 400
        assert "limit" in response.json()["error"]["fields"]
    assert len(api_client_for(alice).get(recommendations_url(customer.pk), {"limit": 1}).json()["results"]) == 1


def test_the_api_answers_404_for_a_customer_that_does_not_exist(alice):
    assert api_client_for(alice).get(recommendations_url(999999)).status_code == 404


def test_nobody_without_credentials_reads_recommendations(customer, api_client):
    assert api_client.get(recommendations_url(customer.pk)).status_code in (401, 403)


@override_settings(METRICS_PRODUCT_URL="https://shop.example.com/p/{sku}/")
def test_a_products_related_products_best_first(customer, shop, alice, charlie):
    response = api_client_for(alice).get(f"/api/v1/products/{shop['tea'].pk}/related/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["rank"], r["sku"], r["together"]) for r in results] == [(1, "POT", 3), (2, "TIN", 2)]
    assert results[0]["url"] == "https://shop.example.com/p/POT/"
    assert Decimal(results[1]["price"]) == Decimal("4.50")
    limited = api_client_for(alice).get(f"/api/v1/products/{shop['tea'].pk}/related/", {"limit": 1}).json()
    assert len(limited["results"]) == 1
    assert api_client_for(alice).get("/api/v1/products/999999/related/").status_code == 404
    assert api_client_for(charlie).get(f"/api/v1/products/{shop['tea'].pk}/related/").status_code == 403
