import pytest
from django.urls import reverse

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["customer", "order", "product", "interaction", "importjob", "tag"])
def test_administrator_opens_every_customers_admin_list(client, ada, model):
    CustomerFactory()
    client.force_login(ada)

    response = client.get(reverse(f"admin:customers_{model}_changelist"))

    assert response.status_code == 200


def test_account_manager_cannot_open_the_admin(client, alice):
    client.force_login(alice)

    response = client.get(reverse("admin:customers_customer_changelist"))

    assert response.status_code == 302
