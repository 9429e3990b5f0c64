"""The products API: every role reads the catalogue, administrators change it (also by SKU)."""

import pytest

from customers.models import Product
from tests.conftest import api_client_for

from .factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mug():
    return ProductFactory(sku="MUG-1", name="Mug")


PRODUCTS = "/api/v1/products/"


@pytest.mark.parametrize("persona", ["ada", "alice", "marta"])
def test_every_role_reads_the_catalogue(request, persona, mug):
    client = api_client_for(request.getfixturevalue(persona))

    listed = client.get(PRODUCTS)
    read = client.get(f"{PRODUCTS}{mug.pk}/")

    assert [row["sku"] for row in listed.json()["results"]] == ["MUG-1"]
    assert read.json() == {"id": mug.pk, "sku": "MUG-1", "name": "Mug", "category": "", "margin": None}


def test_a_user_without_a_role_cannot_read_the_catalogue(charlie, mug):
    assert api_client_for(charlie).get(PRODUCTS).status_code == 403


@pytest.mark.parametrize("persona", ["alice", "marta"])
def test_only_administrators_change_the_catalogue(request, persona, mug):
    client = api_client_for(request.getfixturevalue(persona))

    created = client.post(PRODUCTS, {"sku": "TEA-1", "name": "Tea"})
    changed = client.patch(f"{PRODUCTS}{mug.pk}/", {"name": "Cup"})
    upserted = client.put(f"{PRODUCTS}by-sku/TEA-1/", {"name": "Tea"})

    assert (created.status_code, changed.status_code, upserted.status_code) == (403, 403, 403)
    assert not Product.objects.filter(sku="TEA-1").exists()


def test_administrator_creates_and_changes_products(ada, mug):
    client = api_client_for(ada)

    created = client.post(PRODUCTS, {"sku": "TEA-1", "name": "Tea", "margin": "0.35"})
    changed = client.patch(f"{PRODUCTS}{mug.pk}/", {"category": "kitchen"})

    assert created.status_code == 201
    assert created.json()["margin"] == "0.3500"
    assert changed.json()["category"] == "kitchen"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"sku": "MUG-1", "name": "Another mug"}, "sku"),
        ({"sku": "TEA-1", "name": "Tea", "margin": "1.5"}, "margin"),
        ({"sku": "TEA-1", "name": "Tea", "price": "3"}, "price"),
        ({"sku": "", "name": "Tea"}, "sku"),
    ],
)
def test_bad_product_is_a_field_error(ada, mug, payload, field):
    response = api_client_for(ada).post(PRODUCTS, payload)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_put_by_sku_creates_then_updates(ada):
    client = api_client_for(ada)

    created = client.put(f"{PRODUCTS}by-sku/TEA-1/", {"name": "Tea"})
    updated = client.put(f"{PRODUCTS}by-sku/TEA-1/", {"name": "Green tea", "category": "drinks"})

    assert (created.status_code, updated.status_code) == (201, 200)
    assert updated.json()["id"] == created.json()["id"]
    assert Product.objects.get(sku="TEA-1").name == "Green tea"
