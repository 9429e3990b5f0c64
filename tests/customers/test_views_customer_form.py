"""The customer form pages: creating, editing (tags, referrer, consent), archiving and restoring.

Personas: Alice owns the customers under test (tests/customers/conftest.py), Bob is a colleague
(another account manager), Charlie has no role, Marta is a marketer, Ada an administrator.
"""

import pytest
from django.urls import reverse

from customers.models import Customer
from tests.clients import client_for

from .factories import CustomerFactory
from .views_helpers import detail_url

pytestmark = pytest.mark.django_db


def customer_form_data(**overrides) -> dict:
    data = {
        "external_id": "NEW-1",
        "name": "Nur Aisyah",
        "email": "nur@example.com",
        "country": "MY",
        "language": "ms",
        "time_zone": "Asia/Kuala_Lumpur",
        "tags": "vip, wholesale",
        "referred_by": "",
        "consent_source": "",
    }
    data.update(overrides)
    return data


def test_account_managers_new_customer_goes_into_their_own_book(alice):
    response = client_for(alice).post(reverse("customers:create"), customer_form_data())

    customer = Customer.objects.get(external_id="NEW-1")
    assert response.status_code == 302
    assert response["Location"] == detail_url(customer)
    assert customer.account_manager == alice
    assert sorted(customer.tags.values_list("name", flat=True)) == ["vip", "wholesale"]


def test_administrator_chooses_the_account_manager_of_a_new_customer(ada, bob):
    client_for(ada).post(reverse("customers:create"), customer_form_data(account_manager=bob.pk))

    assert Customer.objects.get(external_id="NEW-1").account_manager == bob


def test_account_manager_is_not_offered_other_books(alice, bob):
    response = client_for(alice).get(reverse("customers:create"))

    assert "account_manager" not in response.context["form"].fields


@pytest.mark.parametrize("persona", ["marta", "charlie"])
def test_who_may_not_create_customers_gets_404(request, persona):
    user = request.getfixturevalue(persona)

    response = client_for(user).post(reverse("customers:create"), customer_form_data())

    assert response.status_code == 404
    assert not Customer.objects.exists()


def test_creating_with_a_taken_external_id_names_the_field(alice, alices_customer):
    response = client_for(alice).post(
        reverse("customers:create"), customer_form_data(external_id=alices_customer.external_id)
    )

    assert response.status_code == 200
    assert "external_id" in response.context["form"].errors


def test_referrer_is_chosen_by_external_id_with_a_clear_error_if_unknown(alice, alices_customer):
    response = client_for(alice).post(reverse("customers:create"), customer_form_data(referred_by="NOPE-9"))

    assert response.status_code == 200
    assert response.context["form"].errors["referred_by"] == ["No customer with the external id “NOPE-9” was found."]


def test_owner_edits_a_customer_with_tags_and_referrer(alice, alices_customer):
    referrer = CustomerFactory(account_manager=alice, external_id="REF-1")
    data = customer_form_data(external_id=alices_customer.external_id, name="Ana A.", tags="gold", referred_by="REF-1")

    response = client_for(alice).post(reverse("customers:edit", args=[alices_customer.pk]), data)

    alices_customer.refresh_from_db()
    assert response.status_code == 302
    assert alices_customer.name == "Ana A."
    assert alices_customer.referred_by == referrer
    assert list(alices_customer.tags.values_list("name", flat=True)) == ["gold"]
    assert alices_customer.account_manager == alice


def test_saving_the_edit_form_unchanged_says_nothing_was_changed(alice, alices_customer):
    client = client_for(alice)
    url = reverse("customers:edit", args=[alices_customer.pk])
    data = customer_form_data(external_id=alices_customer.external_id, name="Ana A.", tags="gold")
    client.post(url, data, follow=True)
    alices_customer.refresh_from_db()
    saved_at = alices_customer.updated_at

    response = client.post(url, data, follow=True)

    alices_customer.refresh_from_db()
    assert [str(m) for m in response.context["messages"]] == ["Nothing was changed."]
    assert alices_customer.updated_at == saved_at


def test_edit_form_shows_current_tags_and_referrer(alice, alices_customer):
    alices_customer.referred_by = CustomerFactory(account_manager=alice, external_id="REF-2")
    alices_customer.save()

    form = client_for(alice).get(reverse("customers:edit", args=[alices_customer.pk])).context["form"]

    assert form["tags"].value() == "vip"
    assert form["referred_by"].value() == "REF-2"


def test_edit_refuses_a_customer_as_their_own_referrer(alice, alices_customer):
    data = customer_form_data(external_id=alices_customer.external_id, referred_by=alices_customer.external_id)

    response = client_for(alice).post(reverse("customers:edit", args=[alices_customer.pk]), data)

    assert response.context["form"].errors["referred_by"] == ["A customer cannot refer themselves."]


def test_consent_given_in_the_form_is_recorded_with_date_and_source(alice):
    client_for(alice).post(reverse("customers:create"), customer_form_data(marketing_consent="on"))

    customer = Customer.objects.get(external_id="NEW-1")
    assert customer.marketing_consent and customer.consent_at and customer.consent_source


@pytest.mark.parametrize("persona", ["marta", "charlie", "bob"])
def test_only_the_owner_may_edit_others_get_404(request, settings, persona, alices_customer):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True
    user = request.getfixturevalue(persona)
    url = reverse("customers:edit", args=[alices_customer.pk])

    shown = client_for(user).get(url)
    sent = client_for(user).post(url, customer_form_data(external_id=alices_customer.external_id, name="Hacked"))

    alices_customer.refresh_from_db()
    assert (shown.status_code, sent.status_code) == (404, 404)
    assert alices_customer.name == "Ana Aguilar"


def test_owner_archives_and_restores_a_customer(alice, alices_customer):
    client = client_for(alice)

    archived = client.post(reverse("customers:archive", args=[alices_customer.pk]))
    alices_customer.refresh_from_db()
    was_archived = alices_customer.is_archived
    client.post(reverse("customers:restore", args=[alices_customer.pk]))
    alices_customer.refresh_from_db()

    assert archived.status_code == 302
    assert was_archived
    assert not alices_customer.is_archived


def test_archive_is_post_only(alice, alices_customer):
    response = client_for(alice).get(reverse("customers:archive", args=[alices_customer.pk]))

    alices_customer.refresh_from_db()
    assert response.status_code == 405
    assert not alices_customer.is_archived


@pytest.mark.parametrize("persona", ["marta", "charlie", "bob"])
def test_only_the_owner_may_archive_others_get_404(request, settings, persona, alices_customer):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True
    user = request.getfixturevalue(persona)

    response = client_for(user).post(reverse("customers:archive", args=[alices_customer.pk]))

    alices_customer.refresh_from_db()
    assert response.status_code == 404
    assert not alices_customer.is_archived


def test_the_birth_date_is_kept_and_shown_and_one_outside_its_window_refused(alice):
    browser = client_for(alice)

    refused = browser.post(reverse("customers:create"), customer_form_data(birth_date="1899-12-31"))
    created = browser.post(reverse("customers:create"), customer_form_data(birth_date="1962-02-28"))

    assert refused.status_code == 200 and "not before 1900" in refused.content.decode()
    customer = Customer.objects.get(external_id="NEW-1")
    assert created.status_code == 302 and str(customer.birth_date) == "1962-02-28"
    assert "Birth date" in browser.get(detail_url(customer)).content.decode()
