"""Long lists: keyset pagination, and totals that never count a million rows.

Keyset pagination: a page starts right after (or before) the last row shown, and an index finds it.

An order is a tuple of terms whose last one is unique (the primary key, unless the order already
ends in a unique column), so the values of the terms in a row, its *position*, name exactly one
place in the list. The page after a position is ``WHERE (a, b) > (x, y) ORDER BY a, b LIMIT n``,
which PostgreSQL reads from an index on ``(a, b)`` starting at ``(x, y)``: the same few pages of the
index for the first page and the thousandth, no ``OFFSET`` counted off and no ``COUNT(*)``. Every
list serves the orders it offers with such an index (tests/retention_crm/test_list_plans.py checks
the API's). See docs/architecture.md, "Lists".

Only the first term may be null (an acquisition date). NULLs come last ascending and first
descending, as a PostgreSQL index keeps them; a page that crosses from the rows with a value to
those without is read as two index ranges, one after the other.

A list page that shows a total counts up to EXACT_TOTAL_UP_TO rows and above that shows the
planner's estimate, saying it is one (``total``).

Pure ORM: the API's paginator (retention_crm.api.CursorPagination) and the list pages use it.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import Expression, F, Q, QuerySet, Value
from django.db.models.expressions import RawSQL


class InvalidCursor(ValueError):
    """A cursor that was not made by this module for this order (edited, or from another list)."""


@dataclass(frozen=True)
class Term:
    field: models.Field
    descending: bool = False

    @property
    def name(self) -> str:
        return self.field.attname

    def reversed(self) -> Term:
        return Term(self.field, not self.descending)

    def order_by(self):
        return F(self.name).desc() if self.descending else F(self.name).asc()


class Order(tuple):
    """The terms of a total order of a model's rows: ``Order.of(Customer, ["-name"])`` is
    ``-name, -id``. Terms after a unique one are dropped, as they can never matter."""

    @classmethod
    def of(cls, model: type[models.Model], ordering: Sequence[str] | str) -> Order:
        names = [ordering] if isinstance(ordering, str) else list(ordering)
        terms: list[Term] = []
        for name in names:
            term = _term(model, name)
            if any(t.field == term.field for t in terms):
                continue
            if terms and term.field.null:
                raise ValueError(f"Only the first term of a keyset order may be nullable: {name}")
            terms.append(term)
            if term.field.primary_key or term.field.unique:
                return cls(terms)
        pk = model._meta.pk
        return cls([*terms, Term(pk, terms[-1].descending if terms else False)])

    def reversed(self) -> Order:
        return Order(term.reversed() for term in self)

    @property
    def key(self) -> str:
        """What a cursor is made for: a cursor of another order is refused, not misread."""
        return ",".join(("-" if term.descending else "") + term.name for term in self)

    def position(self, row) -> tuple:
        return tuple(getattr(row, term.name) for term in self)


def _term(model: type[models.Model], name: str) -> Term:
    descending = name.startswith("-")
    bare = name.lstrip("-")
    model_field = model._meta.pk if bare == "pk" else model._meta.get_field(bare)  # a name or an attname
    if not model_field.concrete or model_field.many_to_many:
        raise ValueError(f"A keyset order needs columns of the model's own table: {name}")
    return Term(model_field, descending)


# --- Row comparison -------------------------------------------------------------------------------


class RowCompare(Expression):
    """``(a, b) > (x, y)``: a condition btree indexes on (a, b) take as a range start (PostgreSQL,
    SQLite >= 3.15). ``a > x OR (a = x AND b > y)`` means the same but is read as a filter."""

    conditional = True
    output_field = models.BooleanField()

    def __init__(self, names: Sequence[str], operator: str, values: Sequence):
        super().__init__()
        if operator not in (">", "<"):
            raise ValueError(operator)
        self.operator = operator
        self.lhs = [F(name) for name in names]
        self.rhs = list(values)

    def get_source_expressions(self):
        return [*self.lhs, *self.rhs]

    def set_source_expressions(self, exprs):
        half = len(exprs) // 2
        self.lhs, self.rhs = list(exprs[:half]), list(exprs[half:])

    def as_sql(self, compiler, connection):
        left, right, params = [], [], []
        for side, expressions in ((left, self.lhs), (right, self.rhs)):
            for expression in expressions:
                sql, expression_params = compiler.compile(expression)
                side.append(sql)
                params.extend(expression_params)
        return f"({', '.join(left)}) {self.operator} ({', '.join(right)})", params


class IdIn(Expression):
    """``column IN (ids)``. To PostgreSQL as ``column = ANY('{1,2,…}'::bigint[])``: one constant,
    parsed at once and looked up in a hash per row. An IN list of 5,000 ids took 86 ms to plan and
    run at a million customers, ``ANY(ARRAY[…])`` 790 ms, this 11 ms (bench/lists_bench.py)."""

    conditional = True
    output_field = models.BooleanField()

    def __init__(self, name: str, ids: Sequence[int]):
        super().__init__()
        self.column = F(name)
        self.ids = [int(pk) for pk in ids]

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        column, params = compiler.compile(self.column)
        if not self.ids:
            return "1 = 0", []
        return f"{column} IN ({', '.join(['%s'] * len(self.ids))})", [*params, *self.ids]

    def as_postgresql(self, compiler, connection):
        column, params = compiler.compile(self.column)
        return f"{column} = ANY(%s::bigint[])", [*params, "{" + ",".join(map(str, self.ids)) + "}"]


def _after(terms: Sequence[Term], values: Sequence) -> Q | RowCompare:
    """Rows strictly after ``values`` in the order of ``terms`` (none of them null here)."""
    typed = [Value(value, output_field=term.field) for term, value in zip(terms, values, strict=True)]
    if len({term.descending for term in terms}) == 1:
        operator = "<" if terms[0].descending else ">"
        if len(terms) == 1:
            return Q(**{f"{terms[0].name}__{'lt' if operator == '<' else 'gt'}": values[0]})
        return RowCompare([term.name for term in terms], operator, typed)
    # Mixed directions have no row comparison: spell it out, with the first term as a range start.
    first = terms[0]
    condition = Q()
    for index, term in enumerate(terms):
        equal = {t.name: v for t, v in zip(terms[:index], values[:index], strict=True)}
        condition |= Q(**equal, **{f"{term.name}__{'lt' if term.descending else 'gt'}": values[index]})
    return Q(**{f"{first.name}__{'lte' if first.descending else 'gte'}": values[0]}) & condition


# --- Pages ----------------------------------------------------------------------------------------


@dataclass
class Page:
    """One page of rows in ``order``; ``next_after`` and ``previous_before`` are positions to ask for
    the neighbouring pages with (``previous_before`` None and ``has_previous``: from the end)."""

    rows: list
    order: Order
    has_next: bool = False
    has_previous: bool = False
    next_after: tuple | None = None
    previous_before: tuple | None = None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def object_list(self) -> list:
        """As a Django Page calls its rows, for templates and tests written against one."""
        return self.rows

    @property
    def next_cursor(self) -> str | None:
        """The ``cursor`` of the next page's link ("" for the first page), None without one."""
        if not self.has_next:
            return None
        return "" if self.next_after is None else cursor_encode(self.order, after=self.next_after)

    @property
    def previous_cursor(self) -> str | None:
        if not self.has_previous:
            return None
        return cursor_encode(self.order, before=self.previous_before)


def _segments(queryset: QuerySet, order: Order, after: tuple | None) -> Iterator[QuerySet]:
    """The querysets that, read one after the other, give the rows after ``after`` in ``order``."""
    first, rest = order[0], Order(order[1:])
    if not first.field.null:
        rows = queryset if after is None else queryset.filter(_after(order, after))
        yield rows.order_by(*(term.order_by() for term in order))
        return
    with_value = queryset.filter(**{f"{first.name}__isnull": False})
    without = queryset.filter(**{f"{first.name}__isnull": True})
    parts = [(False, with_value, order), (True, without, rest)]
    if first.descending:  # NULLs first
        parts.reverse()
    started = after is None
    for is_null_part, rows, terms in parts:
        if not started:
            if (after[0] is None) != is_null_part:
                continue
            started = True
            rows = rows.filter(_after(terms, after[1:] if is_null_part else after))
        yield rows.order_by(*(term.order_by() for term in terms))


def _read(queryset: QuerySet, order: Order, after: tuple | None, limit: int) -> list:
    """The rows in two steps: their keys from the order's index, on the list's own table, then the
    rows by key with everything joined to them. As one query, the joins let the planner trade the
    index for a join and a sort of the whole table whenever it misjudges how many rows lie after a
    position (it judges ``(a, b) < (x, y)`` by ``a < x`` alone: nothing, when every row has the
    same ``a``, as customers imported in one go have the same creation time)."""
    keys: list = []
    for part in _segments(queryset, order, after):
        keys.extend(part.values_list("pk", flat=True)[: limit - len(keys)])
        if len(keys) >= limit:
            break
    if not keys:
        return []
    rows = {row.pk: row for row in queryset.filter(pk__in=keys).order_by()}
    return [rows[key] for key in keys if key in rows]


def page(
    queryset: QuerySet,
    order: Order,
    *,
    size: int,
    after: tuple | None = None,
    before: tuple | None = None,
    from_end: bool = False,
) -> Page:
    """The ``size`` rows after ``after`` (or before ``before``, or the last ones with ``from_end``)."""
    if before is not None or from_end:
        rows = _read(queryset, order.reversed(), before, size + 1)
        result = Page(rows=list(reversed(rows[:size])), order=order)
        result.has_previous = len(rows) > size
        result.has_next = before is not None
    else:
        rows = _read(queryset, order, after, size + 1)
        result = Page(rows=rows[:size], order=order)
        result.has_next = len(rows) > size
        result.has_previous = after is not None
    if result.rows:
        result.next_after = order.position(result.rows[-1])
        result.previous_before = order.position(result.rows[0])
    elif before is not None:
        # Nothing before that position: the next page is the first one.
        result.has_next, result.has_previous = True, False
    elif after is not None:
        # Nothing after that position: the previous page is the last one (previous_before None).
        result.has_next, result.has_previous = False, True
    return result


def page_from_cursor(queryset: QuerySet, order: Order, cursor: str | None, *, size: int) -> Page:
    """For a list page: a cursor that cannot be read (edited by hand, or made for another sort order)
    shows the first page, as a bad page number does."""
    try:
        where = cursor_decode(order, cursor) if cursor else {}
    except InvalidCursor:
        where = {}
    return page(queryset, order, size=size, **where)


# --- Distinct values -----------------------------------------------------------------------------


def distinct_values(queryset: QuerySet, field: str, *, after="") -> list:
    """The distinct values of an indexed column above ``after``, in order, one index probe each
    (a loose index scan, as a recursive query): the countries of a million customers in well under a
    millisecond, where ``SELECT DISTINCT`` reads the whole index (400 ms)."""
    if queryset.query.is_empty():
        return []
    rows = queryset.order_by(field).values_list(field, flat=True)
    first, first_params = rows.filter(**{f"{field}__gt": after})[:1].query.sql_with_params()
    following = rows.filter(**{f"{field}__gt": RawSQL("previous.value", ())})[:1]
    step, step_params = following.query.sql_with_params()
    # Both parts are the ORM's own SQL, their values passed as parameters.
    sql = (
        f"WITH RECURSIVE previous(value) AS (SELECT ({first}) UNION ALL "  # noqa: S608
        f"SELECT ({step}) FROM previous WHERE previous.value IS NOT NULL) "
        "SELECT value FROM previous WHERE value IS NOT NULL"
    )
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, [*first_params, *step_params])
        return [value for (value,) in cursor.fetchall()]


# --- Totals ---------------------------------------------------------------------------------------

# Counting this many rows takes a few milliseconds (an index-only scan); a million takes about a
# second, so above this a list says "about" and gives the planner's estimate.
EXACT_TOTAL_UP_TO = 10_000


@dataclass(frozen=True)
class Total:
    value: int
    exact: bool


def total(queryset: QuerySet, *, exact_up_to: int = EXACT_TOTAL_UP_TO) -> Total:
    """How many rows ``queryset`` has: exact up to ``exact_up_to``, else PostgreSQL's estimate
    (at least ``exact_up_to + 1``; elsewhere that lower bound)."""
    if connections[queryset.db].vendor == "postgresql":
        # A constant, not the key: the count can then read any index that holds the filtered
        # columns (Django drops the unused constant: PostgreSQL counts ``SELECT FROM ...``).
        rows = queryset.order_by().values(one=Value(1))
    else:
        rows = queryset.order_by().values("pk")  # SQLite needs a column in the counted subquery
    counted = rows[: exact_up_to + 1].count()
    if counted <= exact_up_to:
        return Total(counted, exact=True)
    return Total(max(_estimate(rows), counted), exact=False)


def _estimate(queryset: QuerySet) -> int:
    if connections[queryset.db].vendor != "postgresql":
        return 0
    plan = json.loads(queryset.explain(format="json"))
    rows = int(plan[0]["Plan"]["Plan Rows"])
    # Two significant figures: an estimate that looks exact would claim more than it knows.
    digits = max(len(str(rows)) - 2, 0)
    return round(rows, -digits)


# --- Cursors ----------------------------------------------------------------------------------------


def _plain(value):
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()  # full microseconds, unlike DjangoJSONEncoder
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def cursor_encode(order: Order, *, after: tuple | None = None, before: tuple | None = None) -> str:
    """An opaque, URL-safe cursor for the page after ``after`` or before ``before`` (neither: the
    last page)."""
    body = {"o": order.key}
    if after is not None:
        body["a"] = [_plain(value) for value in after]
    else:
        body["b"] = None if before is None else [_plain(value) for value in before]
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(order: Order, cursor: str) -> dict:
    """``{"after": position}``, ``{"before": position}`` or ``{"from_end": True}`` for ``page()``."""
    try:
        body = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(body, dict) or body.get("o") != order.key:
            raise InvalidCursor(cursor)
        if "a" in body:
            return {"after": _position(order, body["a"])}
        if body.get("b") is None:
            return {"from_end": True}
        return {"before": _position(order, body["b"])}
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, ValidationError) as exc:
        raise InvalidCursor(cursor) from exc


def _position(order: Order, values) -> tuple:
    if not isinstance(values, list) or len(values) != len(order):
        raise InvalidCursor(str(values))
    position = []
    for index, (term, value) in enumerate(zip(order, values, strict=True)):
        if value is None and not (index == 0 and term.field.null):
            raise InvalidCursor(str(values))
        position.append(None if value is None else term.field.to_python(value))
    return tuple(position)
