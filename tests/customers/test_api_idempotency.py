"""POST creates with an Idempotency-Key: a retry returns the first answer and creates nothing."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import Customer, ImportJob, Interaction, Order
from retention_crm.models import IdempotencyKey
from tests.conftest import api_client_for

from .factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


def post(client, url, data, key, **kwargs):
    return client.post(url, data, HTTP_IDEMPOTENCY_KEY=key, **kwargs)


def test_customer_create_retried_with_the_same_key_returns_the_first_customer(alice):
    client = api_client_for(alice)
    payload = {"external_id": "SHOP-1", "name": "Ana"}

    first = post(client, "/api/v1/customers/", payload, "key-1")
    retry = post(client, "/api/v1/customers/", payload, "key-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json()["id"] == first.json()["id"]
    assert retry["Idempotent-Replayed"] == "true"
    assert Customer.objects.filter(external_id="SHOP-1").count() == 1


def test_same_key_with_a_different_body_is_refused_with_422(alice):
    client = api_client_for(alice)
    post(client, "/api/v1/customers/", {"external_id": "SHOP-1", "name": "Ana"}, "key-1")

    response = post(client, "/api/v1/customers/", {"external_id": "SHOP-2", "name": "Budi"}, "key-1")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert not Customer.objects.filter(external_id="SHOP-2").exists()


def test_keys_belong_to_one_user(alice, ada):
    post(api_client_for(alice), "/api/v1/customers/", {"external_id": "SHOP-1", "name": "Ana"}, "shared")

    response = post(api_client_for(ada), "/api/v1/customers/", {"external_id": "SHOP-2", "name": "Budi"}, "shared")

    assert response.status_code == 201
    assert Customer.objects.count() == 2


def test_a_refused_request_can_be_corrected_and_sent_again_with_the_same_key(alice):
    client = api_client_for(alice)

    refused = post(client, "/api/v1/customers/", {"external_id": "SHOP-1"}, "key-1")
    corrected = post(client, "/api/v1/customers/", {"external_id": "SHOP-1", "name": "Ana"}, "key-1")

    assert refused.status_code == 400
    assert corrected.status_code == 201


def test_order_create_retried_records_one_order(alice):
    customer = CustomerFactory(account_manager=alice)
    ProductFactory(sku="MUG-1")
    client = api_client_for(alice)
    payload = {
        "external_id": "WEB-1",
        "customer": customer.external_id,
        "ordered_at": "2025-03-01T10:00:00Z",
        "lines": [{"sku": "MUG-1", "quantity": 1, "unit_price": "9.99"}],
    }

    first = post(client, "/api/v1/orders/", payload, "order-1")
    retry = post(client, "/api/v1/orders/", payload, "order-1")

    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert Order.objects.count() == 1


def test_interaction_create_retried_logs_one_interaction(alice):
    customer = CustomerFactory(account_manager=alice)
    client = api_client_for(alice)
    payload = {"customer": customer.external_id, "kind": "call", "subject": "Follow-up"}

    first = post(client, "/api/v1/interactions/", payload, "call-1")
    retry = post(client, "/api/v1/interactions/", payload, "call-1")

    assert retry.json()["id"] == first.json()["id"]
    assert Interaction.objects.count() == 1


def test_import_upload_retried_queues_one_job(settings, tmp_path, alice):
    settings.IMPORT_UPLOAD_DIR = tmp_path
    client = api_client_for(alice)

    def upload():
        data = {"file": SimpleUploadedFile("c.csv", b"external_id,name\nC-1,Ana\n"), "format": "customers"}
        return post(client, "/api/v1/imports/", data, "import-1", format="multipart")

    first = upload()
    retry = upload()

    assert (first.status_code, retry.status_code) == (202, 202)
    assert retry.json()["id"] == first.json()["id"]
    assert ImportJob.objects.count() == 1


def test_a_key_longer_than_255_characters_is_refused(alice):
    response = post(api_client_for(alice), "/api/v1/customers/", {"external_id": "S", "name": "A"}, "k" * 256)

    assert response.status_code == 400
    assert Customer.objects.count() == 0


def _send_at_once(count: int, request) -> list:
    """`count` threads, each with its own database connection, sending `request()` together."""
    from django.db import connection

    barrier = threading.Barrier(count)

    def send(_):
        try:
            barrier.wait(timeout=30)
            return request()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(send, range(count)))


# PostgreSQL: the test database of SQLite is in memory, where a second connection meets a locked
# table at once instead of waiting as it does on the file `make run` uses.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twelve_identical_orders_sent_at_once_store_one_order_and_all_get_its_answer(alice):
    customer = CustomerFactory(account_manager=alice)
    ProductFactory(sku="MUG-1")
    payload = {
        "external_id": "WEB-1",
        "customer": customer.external_id,
        "ordered_at": "2025-03-01T10:00:00Z",
        "lines": [{"sku": "MUG-1", "quantity": 1, "unit_price": "9.99"}],
    }

    responses = _send_at_once(12, lambda: post(api_client_for(alice), "/api/v1/orders/", payload, "order-1"))

    order = Order.objects.get()
    assert sorted(response.status_code for response in responses) == [201] * 12
    assert {response.json()["id"] for response in responses} == {order.pk}
    assert sum(response.get("Idempotent-Replayed") == "true" for response in responses) == 11


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_request_that_failed_while_others_waited_lets_one_of_them_do_the_work(alice):
    customer = CustomerFactory(account_manager=alice)
    payload = {"external_id": "WEB-1", "customer": customer.external_id, "ordered_at": "2025-03-01T10:00:00Z"}

    responses = _send_at_once(4, lambda: post(api_client_for(alice), "/api/v1/orders/", payload, "order-1"))

    # No lines: every attempt is refused on its own merits, none is told about a key in use.
    assert [response.status_code for response in responses] == [400] * 4
    assert all(response.json()["error"]["code"] == "invalid" for response in responses)
    assert not IdempotencyKey.objects.exists()
