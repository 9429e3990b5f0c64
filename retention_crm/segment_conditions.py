"""The registry of conditions that segment rules are built from.

A neutral module: it knows Django's ``Q`` and nothing of the apps. Each app registers the conditions
on its own data from its ``AppConfig.ready()`` (customers: customer fields and behaviour; metrics:
scores and values; segmentation: membership of another segment; loyalty and surveys later), so no
app imports another to make its data filterable::

    from retention_crm import segment_conditions as sc

    sc.register_group("loyalty", _("Loyalty"), order=40)
    sc.register(sc.Condition(
        key="loyalty.points",                  # "<group>.<name>", stable: it is stored in definitions
        label=_("Points balance"),
        group="loyalty",
        value_type="integer",                  # see VALUE_TYPES
        operators=("gte", "lte", "between"),   # see OPERATORS
        compile=sc.field_compiler("loyalty_account__points"),  # a path from Customer
        min_value=0,
    ))

A rule is ``{"field": key, "operator": op, "value": v}`` (plus ``"days": N`` for a condition with a
``window``). ``Condition.clean`` checks and normalises the operator and value (ValidationError with
a message a marketer understands); ``Condition.to_q`` compiles a cleaned rule to a ``Q`` on
``Customer``. A compiler must not run a query: joins, ``Exists`` and ``pk__in`` subqueries only, so
that a whole segment stays ONE SQL statement.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# --- Operators and value types ---------------------------------------------------------------------

OPERATORS: dict[str, str] = {
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "in": gettext_lazy("is any of"),
    "not_in": gettext_lazy("is none of"),
    "all": gettext_lazy("has all of"),
    "contains": gettext_lazy("contains"),
    "gt": gettext_lazy("is more than"),
    "gte": gettext_lazy("is at least"),
    "lt": gettext_lazy("is less than"),
    "lte": gettext_lazy("is at most"),
    "between": gettext_lazy("is between"),
    "is_true": gettext_lazy("yes"),
    "is_false": gettext_lazy("no"),
    "is_empty": gettext_lazy("is empty"),
    "is_not_empty": gettext_lazy("is not empty"),
    "within": gettext_lazy("in the last … days"),
    "not_within": gettext_lazy("not in the last … days"),
}

# What the value of each operator looks like.
SCALAR_OPERATORS = frozenset({"eq", "ne", "contains", "gt", "gte", "lt", "lte", "within", "not_within"})
LIST_OPERATORS = frozenset({"in", "not_in", "all"})
NO_VALUE_OPERATORS = frozenset({"is_true", "is_false", "is_empty", "is_not_empty"})
RANGE_OPERATORS = frozenset({"between"})

VALUE_TYPES = ("text", "choice", "number", "integer", "date", "boolean", "tags", "days")

# A list value longer than this is a paste gone wrong, and would make an enormous IN (...).
MAX_LIST_ITEMS = 500
MAX_TEXT_LENGTH = 200
# "In the last N days" up to 100 years: anything longer means "ever", which has its own spelling.
MAX_DAYS = 36_500

Compiler = Callable[[str, Any, "int | None"], Q]


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    order: int


@dataclass(frozen=True, eq=False)
class Condition:
    """One field a rule can test. See the module docstring for an example."""

    key: str
    label: str
    group: str
    value_type: str
    operators: tuple[str, ...]
    compile: Compiler
    # Allowed values, as (value, label) pairs; called when a rule is checked or a form is drawn.
    choices: Callable[[], Iterable[tuple[Any, str]]] | None = None
    # Values offered as you type (a datalist); anything else is accepted too.
    suggestions: Callable[[], Iterable[str]] | None = None
    # "" no days input; "optional" blank = ever; "required".
    window: str = ""
    min_value: float | None = None
    max_value: float | None = None
    help_text: str = ""
    # How "<label> in the last N days" starts for a condition with a required window.
    window_label: str = ""

    def __post_init__(self):
        if self.value_type not in VALUE_TYPES:
            raise ValueError(f"{self.key}: unknown value type {self.value_type!r}")
        unknown = set(self.operators) - set(OPERATORS)
        if unknown or not self.operators:
            raise ValueError(f"{self.key}: unknown operators {sorted(unknown)} or none")
        if self.window not in ("", "optional", "required"):
            raise ValueError(f"{self.key}: window must be '', 'optional' or 'required'")

    # -- Checking --------------------------------------------------------------------------------

    def clean(self, operator: str, value: Any, days: Any = None) -> tuple[Any, int | None]:
        """(value, days) normalised, or ValidationError({"operator"|"value"|"days": [...]})."""
        if operator not in self.operators:
            allowed = ", ".join(str(OPERATORS[op]) for op in self.operators)
            raise ValidationError(
                {
                    "operator": _("“%(operator)s” cannot be used with %(field)s; use one of: %(allowed)s.")
                    % {"operator": operator, "field": self.label, "allowed": allowed}
                }
            )
        try:
            cleaned = self._clean_value(operator, value)
        except ValidationError as exc:
            raise ValidationError({"value": exc.messages})
        return cleaned, self._clean_days(days)

    def _clean_value(self, operator: str, value: Any) -> Any:
        if operator in NO_VALUE_OPERATORS:
            return None
        if operator in ("within", "not_within"):
            return clean_days(value)
        if operator in RANGE_OPERATORS:
            if not isinstance(value, list | tuple) or len(value) != 2:
                raise ValidationError(_("Give two values, the lowest and the highest."))
            low, high = (self._clean_scalar(item) for item in value)
            if low > high:
                raise ValidationError(_("The first value must not be more than the second."))
            return [low, high]
        if operator in LIST_OPERATORS or self.value_type == "tags":
            items = _as_list(value)
            if not items:
                raise ValidationError(_("Choose at least one value."))
            if len(items) > MAX_LIST_ITEMS:
                raise ValidationError(_("At most %(count)d values.") % {"count": MAX_LIST_ITEMS})
            cleaned = [self._clean_scalar(item) for item in items]
            return sorted(set(cleaned), key=str) if self.value_type in ("tags", "text") else _unique(cleaned)
        if isinstance(value, list | tuple | dict):
            raise ValidationError(_("Give one value, not a list."))
        return self._clean_scalar(value)

    def _clean_scalar(self, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValidationError(_("Enter a value."))
        kind = self.value_type
        if kind in ("text", "tags"):
            if isinstance(value, dict | list | tuple | bool):
                raise ValidationError(_("Enter text."))
            text = str(value).strip()
            if len(text) > MAX_TEXT_LENGTH:
                raise ValidationError(_("At most %(count)d characters.") % {"count": MAX_TEXT_LENGTH})
            return text
        if kind == "choice":
            return self._clean_choice(value)
        if kind in ("number", "integer"):
            return self._bounded(_clean_number(value, integer=kind == "integer"))
        if kind == "days":
            return clean_days(value)
        if kind == "date":
            return _clean_date(value)
        raise ValidationError(_("This field takes no value."))

    def _clean_choice(self, value: Any) -> Any:
        choices = list(self.choices() if self.choices else [])
        for choice, _label in choices:
            if str(choice) == str(value).strip():
                return choice
        shown = ", ".join(str(label) for _choice, label in choices[:12])
        if len(choices) > 12:
            shown += ", …"
        raise ValidationError(
            _("“%(value)s” is not one of the choices for %(field)s (%(choices)s).")
            % {"value": value, "field": self.label, "choices": shown or _("none yet")}
        )

    def _bounded(self, number: int | float) -> int | float:
        if self.min_value is not None and number < self.min_value:
            raise ValidationError(
                _("The value must be at least %(limit)s.") % {"limit": _format_number(self.min_value)}
            )
        if self.max_value is not None and number > self.max_value:
            raise ValidationError(_("The value must be at most %(limit)s.") % {"limit": _format_number(self.max_value)})
        return number

    def _clean_days(self, days: Any) -> int | None:
        blank = days is None or (isinstance(days, str) and not days.strip())
        if not self.window:
            if not blank:
                raise ValidationError({"days": _("%(field)s has no time window.") % {"field": self.label}})
            return None
        if blank:
            if self.window == "required":
                raise ValidationError({"days": _("Enter the number of days.")})
            return None
        try:
            return clean_days(days)
        except ValidationError as exc:
            raise ValidationError({"days": exc.messages})

    # -- Using -------------------------------------------------------------------------------------

    def to_q(self, operator: str, value: Any, days: int | None = None) -> Q:
        """The rule as a Q on Customer. ``operator`` and ``value`` must be clean."""
        return self.compile(operator, value, days)

    def choice_label(self, value: Any) -> str:
        if self.choices is None:
            return str(value)
        for choice, label in self.choices():
            if str(choice) == str(value):
                return str(label)
        return str(value)

    def describe(self, operator: str, value: Any, days: int | None = None) -> str:
        """The rule in words: "Churn risk is more than 0.8"."""
        if self.window == "required" and days:
            # "Net revenue in the last 30 days is at least 100", not "… at least 100 in the last 30 days".
            label = self.window_label or self.label
            return describe_rule(
                self, operator, value, label=_("%(field)s in the last %(days)d days") % {"field": label, "days": days}
            )
        text = describe_rule(self, operator, value)
        if days:
            text += " " + _("in the last %(days)d days") % {"days": days}
        elif self.window == "optional":
            text += " " + _("(ever)")
        return text


def describe_rule(condition: Condition, operator: str, value: Any, *, label: str | None = None) -> str:
    label = str(label or condition.label)

    def shown(item):
        if condition.value_type == "choice":
            return condition.choice_label(item)
        if isinstance(item, float | int) and not isinstance(item, bool):
            return _format_number(item)
        return str(item)

    if operator == "is_true":
        return _("%(field)s: yes") % {"field": label}
    if operator == "is_false":
        return _("%(field)s: no") % {"field": label}
    if operator in ("is_empty", "is_not_empty"):
        return f"{label} {OPERATORS[operator]}"
    if operator == "within":
        return _("%(field)s in the last %(days)s days") % {"field": label, "days": value}
    if operator == "not_within":
        return _("%(field)s: none in the last %(days)s days") % {"field": label, "days": value}
    if operator == "between":
        return _("%(field)s is between %(low)s and %(high)s") % {
            "field": label,
            "low": shown(value[0]),
            "high": shown(value[1]),
        }
    if isinstance(value, list):
        value_text = ", ".join(shown(item) for item in value)
    else:
        value_text = shown(value)
    if operator == "contains":
        value_text = f"“{value_text}”"
    return f"{label} {OPERATORS[operator]} {value_text}"


# --- Cleaning helpers --------------------------------------------------------------------------------


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list | tuple):
        return [item for item in value if not (isinstance(item, str) and not item.strip())]
    return [value]


def _unique(items: list) -> list:
    seen, out = set(), []
    for item in items:
        if str(item) not in seen:
            seen.add(str(item))
            out.append(item)
    return out


def _clean_number(value: Any, *, integer: bool) -> int | float:
    if isinstance(value, bool) or isinstance(value, dict | list | tuple):
        raise ValidationError(_("Enter a number."))
    if isinstance(value, int | float):
        number = Decimal(str(value))
    else:
        try:
            number = Decimal(str(value).strip().replace(" ", ""))
        except InvalidOperation:
            raise ValidationError(
                _("“%(value)s” is text where a number is needed.") % {"value": str(value)[:MAX_TEXT_LENGTH]}
            )
    if not number.is_finite():
        raise ValidationError(_("Enter a finite number."))
    if integer:
        if number != number.to_integral_value():
            raise ValidationError(_("Enter a whole number."))
        return int(number)
    as_float = float(number)
    if math.isinf(as_float):
        raise ValidationError(_("Enter a smaller number."))
    return int(number) if number == number.to_integral_value() and abs(number) < 2**53 else as_float


def clean_days(value: Any) -> int:
    try:
        days = _clean_number(value, integer=True)
    except ValidationError:
        raise ValidationError(_("Enter a number of days, such as 90."))
    if days < 1 or days > MAX_DAYS:
        raise ValidationError(_("Enter a number of days from 1 to %(max)d.") % {"max": MAX_DAYS})
    return days


def _clean_date(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise ValidationError(_("“%(value)s” is not a date; use YYYY-MM-DD.") % {"value": str(value)[:40]})


def _format_number(number: float) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)


# --- Compilers -----------------------------------------------------------------------------------------


def field_compiler(path: str, *, blank_is_empty: bool = False) -> Compiler:
    """Compile the standard operators on a column reached from Customer by ``path``
    (``"country"``, ``"metrics__churn_risk"``). ``blank_is_empty``: "" counts as empty (text columns).

    Both ends of a range go in one Q so that a path through a relation is joined once.
    """

    def compile(operator: str, value: Any, days: int | None) -> Q:
        if operator == "eq":
            return Q(**{path: value})
        if operator == "ne":
            return ~Q(**{path: value})
        if operator == "in":
            return Q(**{f"{path}__in": value})
        if operator == "not_in":
            return ~Q(**{f"{path}__in": value})
        if operator == "contains":
            return Q(**{f"{path}__icontains": value})
        if operator in ("gt", "gte", "lt", "lte"):
            return Q(**{f"{path}__{operator}": value})
        if operator == "between":
            return Q(**{f"{path}__gte": value[0], f"{path}__lte": value[1]})
        if operator == "is_true":
            return Q(**{path: True})
        if operator == "is_false":
            return Q(**{path: False})
        empty = Q(**{f"{path}__isnull": True})
        if blank_is_empty:
            empty |= Q(**{path: ""})
        if operator == "is_empty":
            return empty
        if operator == "is_not_empty":
            return ~empty
        raise ValueError(f"field_compiler: operator {operator!r} is not supported")

    return compile


def exists_compiler(make: Callable[[Any, int | None], Q]) -> Compiler:
    """For "has / has not" conditions: ``make(value, days)`` is the positive Q; ne, not_in and
    is_false negate it (eq, in, all of one value and is_true keep it)."""

    def compile(operator: str, value: Any, days: int | None) -> Q:
        if operator in ("ne", "not_in"):
            return ~make(value, days)
        if operator == "is_false":
            return ~make(None, days)
        if operator == "is_true":
            return make(None, days)
        return make(value, days)

    return compile


# Operator -> how to compare an aggregate with the value, for aggregate_compiler.
COMPARISONS: dict[str, Callable[[float, Any], bool]] = {
    "eq": lambda x, v: x == v,
    "ne": lambda x, v: x != v,
    "gt": lambda x, v: x > v,
    "gte": lambda x, v: x >= v,
    "lt": lambda x, v: x < v,
    "lte": lambda x, v: x <= v,
    "between": lambda x, v: v[0] <= x <= v[1],
}


def aggregate_lookup(operator: str, value: Any, *, negate: bool = False) -> Q:
    """A Q on an annotation named ``total``: the comparison, or its negation."""
    if operator == "between":
        q = Q(total__gte=value[0], total__lte=value[1])
    elif operator == "ne":
        q = ~Q(total=value)
    elif operator == "eq":
        q = Q(total=value)
    else:
        q = Q(**{f"total__{operator}": value})
    return ~q if negate else q


def aggregate_compiler(subquery: Callable[[Q, int | None], Any]) -> Compiler:
    """For a per-customer sum or count (revenue in a window, referrals who bought).

    ``subquery(having, days)`` returns a values("<customer id>") queryset grouped by customer,
    annotated ``total`` and filtered by ``having``. Customers with no rows have a total of 0; when 0
    satisfies the comparison they match, so the rule becomes "not among those whose total fails
    it". Either way one set-based subquery, never a correlated one per customer.
    """

    def compile(operator: str, value: Any, days: int | None) -> Q:
        if COMPARISONS[operator](0, value):
            return ~Q(pk__in=subquery(aggregate_lookup(operator, value, negate=True), days))
        return Q(pk__in=subquery(aggregate_lookup(operator, value), days))

    return compile


# --- The registry ------------------------------------------------------------------------------------

_groups: dict[str, Group] = {}
_conditions: dict[str, Condition] = {}


def register_group(key: str, label: str, order: int = 100) -> Group:
    group = Group(key, label, order)
    _groups[key] = group
    return group


def register(condition: Condition) -> Condition:
    """Add a condition; registering a key again replaces it (a second ready() changes nothing)."""
    if condition.group not in _groups:
        register_group(condition.group, condition.group.title())
    _conditions[condition.key] = condition
    return condition


def unregister(key: str) -> None:
    _conditions.pop(key, None)


def get(key: str) -> Condition:
    """The condition, or ValidationError naming the unknown field."""
    try:
        return _conditions[key]
    except (KeyError, TypeError):
        raise ValidationError(_("“%(field)s” is not a field segments can use.") % {"field": key})


def all_conditions() -> list[Condition]:
    """Every condition, by group order then label."""
    return sorted(_conditions.values(), key=lambda c: (group_of(c).order, str(group_of(c).label), str(c.label)))


def group_of(condition: Condition) -> Group:
    return _groups.get(condition.group) or Group(condition.group, condition.group, 1000)


def grouped_conditions() -> list[tuple[Group, list[Condition]]]:
    """[(group, its conditions)], for a select with one optgroup per group."""
    grouped: dict[str, list[Condition]] = {}
    for condition in all_conditions():
        grouped.setdefault(condition.group, []).append(condition)
    return [(group_of(items[0]), items) for items in grouped.values()]
