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
