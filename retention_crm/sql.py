"""The pieces of raw SQL that PostgreSQL and SQLite (``make run``'s default) say differently,
chosen in one place for every app (contact plans keep their own few in ``contact_plans/dialect.py``).

The apps' set-based statements are written once, in the SQL both databases speak: ``CAST(x AS
bigint)`` rather than ``x::bigint``, ``SUBSTR`` rather than ``LEFT``, CTEs rather than column-aliased
subqueries, window functions and ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` (SQLite 3.35+).
What cannot be written once is built here:

- ``greatest`` / ``least``: PostgreSQL's ``GREATEST`` and ``LEAST`` are SQLite's multi-argument
  ``MAX`` and ``MIN``. One difference: SQLite's return NULL when any argument is NULL, PostgreSQL's
  skip NULLs, so callers pass expressions that are never NULL (wrap them in ``COALESCE``);
- ``month_day``: a date's month x 100 + day (``EXTRACT`` on PostgreSQL, ``strftime`` on SQLite), to
  find anniversaries;
- ``db_datetime``: a datetime passed to raw SQL in the database's own format. SQLite keeps datetimes
  as text in UTC and compares them as text, so an aware datetime written by hand ("+00:00") would
  not sort with what the ORM wrote;
- ``AnyOf``, the lookup ``__any``: ``column = ANY(%s)`` with the whole list as ONE array parameter
  on PostgreSQL, where ``__in`` writes and prepares a placeholder per value (for a chunk's 2,000 ids
  that was more than the query itself); ``IN (...)`` elsewhere;
- ``copy_text``: rows in the text format of PostgreSQL's ``COPY ... FROM STDIN``, for the bulk writes
  that go straight into a table;
- ``is_postgresql``: for the few statements whose PostgreSQL form is kept because it is the faster
  one (a data-modifying CTE, a lateral join), next to their SQLite form.

The kernel imports no app: this module knows SQL, not tables.
"""

from __future__ import annotations

import io
from datetime import datetime

from django.db import connection
from django.db.models import Lookup
from django.db.models.lookups import In


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _extreme(postgresql: str, sqlite: str, exprs: tuple[str, ...]) -> str:
    if len(exprs) < 2:
        raise ValueError("needs two expressions or more")
    return f"{postgresql if is_postgresql() else sqlite}({', '.join(exprs)})"


def greatest(*exprs: str) -> str:
    """The SQL of the largest of ``exprs`` (none of them NULL: see the module)."""
    return _extreme("GREATEST", "MAX", exprs)


def least(*exprs: str) -> str:
    """The SQL of the smallest of ``exprs`` (none of them NULL: see the module)."""
    return _extreme("LEAST", "MIN", exprs)


def month_day(expr: str) -> str:
    """The SQL of ``expr``'s month x 100 + day (401 for 1 April), a number. For a statement run with
    parameters (its ``%`` is written ``%%``, as Django's SQLite cursor expects then)."""
    if is_postgresql():
        return f"(EXTRACT(MONTH FROM {expr}) * 100 + EXTRACT(DAY FROM {expr}))"
    return f"CAST(strftime('%%m%%d', {expr}) AS INTEGER)"


def db_datetime(value: datetime | None):
    """``value`` as the ORM writes it to a datetime column of this database (None stays None)."""
    return connection.ops.adapt_datetimefield_value(value)


class AnyOf(Lookup):
    """``filter(pk__any=ids)``: the rows whose column is one of ``ids`` (ids or texts, as they are
    stored: no per-value conversion), written ``= ANY(%s)`` with one array parameter on PostgreSQL
    (the pk index is read as for ``IN``) and as ``__in`` on other databases. Registered for every
    field and relation by RetentionCrmConfig.ready()."""

    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        if connection.vendor != "postgresql":
            return compiler.compile(In(self.lhs, self.rhs))
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, self.rhs]


def copy_text(rows, *, first=None, last: tuple = ()) -> io.StringIO:
    """The rows in ``COPY ... FROM STDIN``'s text format (PostgreSQL): a line each, tab-separated, each text's
    backslashes, tabs and line ends escaped, None as ``\\N``. Four ``str.replace`` per text, in C: a
    quarter of the ``csv`` module's time on a message's HTML, which it scans for quoting. ``first``:
    a value put before each row's (in turn); ``last``: values after every row's, written once."""
    end = "".join("\t" + copy_value(value) for value in last) + "\n"
    lines = ["\t".join([copy_value(value) for value in row]) + end for row in rows]
    if first is not None:
        lines = [f"{value}\t{line}" for value, line in zip(first, lines, strict=True)]
    return io.StringIO("".join(lines))


def copy_value(value) -> str:
    if type(value) is str:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return "\\N" if value is None else str(value)
