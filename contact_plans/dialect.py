"""The few SQL fragments of contact plans and campaigns that PostgreSQL and SQLite (``make run``'s
default) say differently, chosen in one place.

The set-based statements (enrolment, a campaign's recipients, a chunk's links) are written once
and portable: ``INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING`` and window functions are
both databases' (SQLite 3.35+). What differs is small and lives here:

- a uniform random number in [0, 1) per row (``random_unit``): PostgreSQL's ``random()`` is one,
  SQLite's ``random()`` is a signed 64-bit integer;
- a row read so that a writer waits (``share_lock``): ``FOR SHARE`` on PostgreSQL; SQLite takes the
  database's write lock at ``BEGIN`` (``transaction_mode`` IMMEDIATE, settings), so a plain read is
  already as safe;
- one ``UPDATE`` for many rows, each its own values (``update_by_id``): PostgreSQL's callers join
  ``unnest`` of arrays in one statement; SQLite runs the same ``UPDATE`` once per row with
  ``executemany`` in one call (in-process: no round trips to save);
- a date plus a number of days (``DatePlusDays``): ``date + integer`` on PostgreSQL, SQLite's
  ``date(d, 'N days')``;
- datetimes passed to raw SQL (``db_datetime``): in the database's own format, so that they compare
  with what the ORM wrote (SQLite keeps text in UTC; an offset written by hand would not sort);
  it and ``is_postgresql`` are the kernel's (``retention_crm.sql``), used here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection
from django.db.models import DateField, Func, IntegerField
from django.db.models.functions import Cast, Round

from retention_crm.sql import db_datetime, is_postgresql

# 2**53 - 1: the low 53 bits of SQLite's random integer, divided by 2**53, are uniform in [0, 1) and
# exact in a double (the whole range of a float's mantissa, so no value is favoured).
_LOW_53_BITS = 9007199254740991
_TWO_TO_53 = 9007199254740992.0


def random_unit() -> str:
    """A SQL expression: a new uniform random number in [0, 1) for each row."""
    if is_postgresql():
        return "random()"
    return f"((random() & {_LOW_53_BITS}) / {_TWO_TO_53})"


def share_lock() -> str:
    """`` FOR SHARE`` where the database locks rows (PostgreSQL), else nothing (see the module)."""
    return " FOR SHARE" if connection.features.has_select_for_update else ""


class DatePlusDays(Func):
    """``date`` plus ``days`` rounded to a whole number of days: a date, on either database."""

    output_field = DateField()
    arg_joiner = " + "
    template = "(%(expressions)s)"

    def __init__(self, date, days, **extra):
        super().__init__(date, Cast(Round(days), IntegerField()), **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="date(%(expressions)s || ' days')", arg_joiner=", ", **extra_context
        )


def update_by_id(table: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """``UPDATE table SET columns = row's values WHERE id = row's last value`` for each row, in one
    ``executemany`` (SQLite's form of the callers' ``UPDATE ... FROM unnest(...)``). Datetimes are
    written in the database's format."""
    if not rows:
        return
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column)} = %s" for column in columns)
    statement = f"UPDATE {quote(table)} SET {assignments} WHERE id = %s"  # noqa: S608 (names are the callers' constants)
    values = [[db_datetime(v) if isinstance(v, datetime) else v for v in row] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(statement, values)
