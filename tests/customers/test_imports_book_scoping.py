"""An account manager's import report does not tell her which ids other books hold: a customer of
another book is reported in the same words as an id nobody has."""

import pytest

from customers.models import Customer

from .factories import CustomerFactory, errors_of, run_import

pytestmark = pytest.mark.django_db

ORDERS = "order_id,customer_id,ordered_at,sku,quantity,unit_price,product_name\n"


def test_an_order_for_a_customer_of_another_book_reads_as_for_an_unknown_customer(alice, bob):
    CustomerFactory(external_id="BOBS", account_manager=bob)

    job = run_import(
        alice,
        ORDERS + "O-1,BOBS,2024-05-01 10:00:00,MUG-1,1,5,Mug\nO-2,NOBODY,2024-05-01 10:00:00,MUG-1,1,5,Mug\n",
        "orders",
    )

    (line_a, column_a, bobs), (line_b, column_b, nobodys) = errors_of(job)
    assert (column_a, column_b) == ("customer_id", "customer_id")
    assert bobs.replace("BOBS", "X") == nobodys.replace("NOBODY", "X")


def test_a_referrer_in_another_book_reads_as_an_unknown_referrer(alice, bob):
    CustomerFactory(external_id="BOBS", account_manager=bob)
    CustomerFactory(external_id="ALICES", account_manager=alice)

    job = run_import(
        alice,
        "external_id,name,referred_by\nN-1,Ann,BOBS\nN-2,Ben,NOBODY\nN-3,Cy,ALICES\n",
        "customers",
    )

    (_, _, bobs), (_, _, nobodys) = errors_of(job)
    assert bobs.replace("BOBS", "X") == nobodys.replace("NOBODY", "X")
    assert Customer.objects.get(external_id="N-3").referred_by.external_id == "ALICES"


def test_an_administrator_may_name_any_referrer(ada, bob):
    CustomerFactory(external_id="BOBS", account_manager=bob)

    job = run_import(ada, "external_id,name,referred_by\nN-1,Ann,BOBS\n", "customers")

    assert errors_of(job) == []
    assert Customer.objects.get(external_id="N-1").referred_by.external_id == "BOBS"
