"""retention_crm/sql.py: the pieces of raw SQL said each database's way give the same answers."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection

from retention_crm import sql

pytestmark = pytest.mark.django_db


def _one(statement: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()


def test_greatest_and_least_take_the_extremes_of_several_expressions():
    row = _one(f"SELECT {sql.greatest('%s', '3', '-2')}, {sql.least('%s', '3', '-2')}", (1, 1))

    assert [int(value) for value in row] == [3, -2]


def test_greatest_of_one_expression_is_refused():
    with pytest.raises(ValueError, match="two expressions"):
        sql.greatest("1")


def test_month_day_of_a_date_is_its_month_times_100_plus_its_day():
    from customers.models import Customer
    from tests.customers.factories import CustomerFactory

    ids = [CustomerFactory(birth_date=born).pk for born in (date(1980, 4, 1), date(2000, 12, 31))]
    table = Customer._meta.db_table

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sql.month_day('birth_date')} FROM {table} WHERE id IN (%s, %s) ORDER BY id",  # noqa: S608 - table name only
            ids,
        )
        days = [int(value) for (value,) in cursor.fetchall()]

    assert days == [401, 1231]


def test_a_datetime_parameter_compares_with_what_the_orm_wrote():
    from customers.models import Customer
    from tests.customers.factories import CustomerFactory

    customer = CustomerFactory()
    Customer.objects.filter(pk=customer.pk).update(created_at=datetime(2025, 3, 1, 12, 0, 0, 500, tzinfo=UTC))
    table = Customer._meta.db_table

    (count,) = _one(
        f"SELECT count(*) FROM {table} WHERE id = %s AND created_at >= %s AND created_at < %s",  # noqa: S608 - table name only
        (
            customer.pk,
            sql.db_datetime(datetime(2025, 3, 1, 12, 0, tzinfo=UTC)),
            sql.db_datetime(datetime(2025, 3, 1, 12, 0, 1, tzinfo=UTC)),
        ),
    )

    assert count == 1


def test_the_any_lookup_finds_what_in_finds_with_one_array_parameter():
    from customers.models import Customer, Order
    from tests.customers.factories import CustomerFactory, OrderFactory

    customers = [CustomerFactory(email=f"any{i}@example.com") for i in range(4)]
    orders = [OrderFactory(customer=customer) for customer in customers[:2]]
    wanted = [customers[0].pk, customers[2].pk, 10**12]

    by_any = Customer.objects.filter(pk__any=wanted)
    emails = Customer.objects.filter(email__any=["any1@example.com", "any3@example.com"])

    assert set(by_any) == set(Customer.objects.filter(pk__in=wanted)) == {customers[0], customers[2]}
    assert {c.pk for c in emails} == {customers[1].pk, customers[3].pk}
    assert set(Order.objects.filter(customer__any=wanted)) == {orders[0]}
    assert set(Order.objects.filter(customer_id__any=[customers[1].pk])) == {orders[1]}
    assert not Customer.objects.filter(pk__any=[]).exists()
    sql_text, params = by_any.query.sql_with_params()
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql_text and len(params) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_copy_text_round_trips_awkward_texts_none_and_numbers():
    rows = [("a\tb\\c\nd\r\\N é", None, 7), ("", "x", 0)]

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE copy_probe (n bigint, t text, u text, v bigint, w text)")
        cursor.copy_expert("COPY copy_probe FROM STDIN", sql.copy_text(rows, first=[1, 2], last=("end",)))
        cursor.execute("SELECT n, t, u, v, w FROM copy_probe ORDER BY n")
        got = cursor.fetchall()

    assert got == [(1, "a\tb\\c\nd\r\\N é", None, 7, "end"), (2, "", "x", 0, "end")]
