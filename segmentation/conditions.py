"""Segment definitions: check, compile to one Q, say in words.

A definition is a tree of groups and rules::

    {"op": "and", "rules": [
        {"field": "metrics.churn_risk", "operator": "gt", "value": 0.7},
        {"op": "or", "rules": [
            {"field": "customer.country", "operator": "eq", "value": "GB"},
            {"field": "behaviour.bought_category", "operator": "in", "value": ["Books"], "days": 90}]}]}

``segment_definition_clean`` checks all of it (every error at once, keyed by its place in the tree,
e.g. ``rules[1].rules[0].value``) and returns the normalised tree; ``definition_to_q`` compiles a
clean tree into a single ``Q`` on Customer, so ``Customer.objects.filter(q)`` is one SQL statement.
The conditions come from the registry ``retention_crm.segment_conditions``; this module adds
"member of another segment" (``segment.member_of``), which reads that segment's open memberships.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from retention_crm import segment_conditions as sc

# Groups within groups, counting the outermost: deeper trees are unreadable in the builder and
# in words, and nothing a marketer asks for needs them.
MAX_DEPTH = 4
# Rules in one definition: a guard against a runaway client; a readable segment has a handful.
MAX_RULES = 100

GROUP_OPS = ("and", "or")
RULE_KEYS = frozenset({"field", "operator", "value", "days"})
GROUP_KEYS = frozenset({"op", "rules"})


class _Errors:
    def __init__(self):
        self.by_path: dict[str, list[str]] = {}

    def add(self, path: str, message) -> None:
        self.by_path.setdefault(path or "definition", []).append(str(message))

    def add_validation_error(self, path: str, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for key, messages in exc.message_dict.items():
                for message in messages:
                    self.add(f"{path}.{key}" if path else key, message)
        else:
            for message in exc.messages:
                self.add(path, message)


def _is_group(node: dict) -> bool:
    return "rules" in node or "op" in node


def segment_definition_clean(definition: Any, *, segment_id: int | None = None) -> dict:
    """The normalised definition, or ValidationError({path: [messages]}) listing every problem.

    ``segment_id``: the segment being edited, which must not refer to itself.
    """
    errors = _Errors()
    if not isinstance(definition, dict):
        raise ValidationError({"definition": [_("The definition must be a group: {“op”: …, “rules”: […]}.")]})
    counter = {"rules": 0}
    cleaned = _clean_group(definition, "", 1, errors, counter, segment_id)
    if counter["rules"] > MAX_RULES:
        errors.add("rules", _("At most %(count)d conditions in one segment.") % {"count": MAX_RULES})
    if errors.by_path:
        raise ValidationError(errors.by_path)
    return cleaned


def _clean_group(node: dict, path: str, depth: int, errors: _Errors, counter: dict, segment_id) -> dict:
    unknown = sorted(set(node) - GROUP_KEYS)
    if unknown:
        errors.add(path, _("Unknown key(s) in a group: %(keys)s.") % {"keys": ", ".join(unknown)})
    op = node.get("op", "and")
    if op not in GROUP_OPS:
        errors.add(
            _join(path, "op"), _("A group combines its conditions with “and” or “or”, not “%(op)s”.") % {"op": op}
        )
    if depth > MAX_DEPTH:
        errors.add(path, _("Groups can be nested at most %(depth)d levels deep.") % {"depth": MAX_DEPTH})
        return {"op": op, "rules": []}
    rules = node.get("rules")
    if not isinstance(rules, list):
        errors.add(_join(path, "rules"), _("A group needs a list of conditions."))
        return {"op": op, "rules": []}
    if not rules:
        errors.add(_join(path, "rules"), _("This group is empty: add a condition or remove the group."))
    cleaned = []
    for index, child in enumerate(rules):
        child_path = f"{_join(path, 'rules')}[{index}]"
        if not isinstance(child, dict):
            errors.add(child_path, _("A condition must be an object with field, operator and value."))
        elif _is_group(child):
            cleaned.append(_clean_group(child, child_path, depth + 1, errors, counter, segment_id))
        else:
            counter["rules"] += 1
            rule = _clean_rule(child, child_path, errors, segment_id)
            if rule is not None:
                cleaned.append(rule)
    return {"op": op, "rules": cleaned}


def _clean_rule(node: dict, path: str, errors: _Errors, segment_id) -> dict | None:
    unknown = sorted(set(node) - RULE_KEYS)
    if unknown:
        errors.add(path, _("Unknown key(s) in a condition: %(keys)s.") % {"keys": ", ".join(unknown)})
    key = node.get("field")
    if not key:
        errors.add(_join(path, "field"), _("Choose a field."))
        return None
    try:
        condition = sc.get(key)
    except ValidationError as exc:
        errors.add_validation_error(_join(path, "field"), exc)
        return None
    operator = node.get("operator")
    if not operator:
        errors.add(_join(path, "operator"), _("Choose an operator."))
        return None
    try:
        value, days = condition.clean(operator, node.get("value"), node.get("days"))
    except ValidationError as exc:
        errors.add_validation_error(path, exc)
        return None
    if key == MEMBER_OF and segment_id is not None and segment_id in _as_ids(value):
        errors.add(_join(path, "value"), _("A segment cannot be defined by its own members."))
        return None
    rule = {"field": key, "operator": operator, "value": value}
    if condition.window:
        rule["days"] = days
    return rule


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- Compile and describe ------------------------------------------------------------------------


def definition_to_q(definition: dict) -> Q:
    """One Q on Customer for a CLEAN definition (segment_definition_clean's output)."""
    combined = Q()
    for node in definition.get("rules", []):
        q = definition_to_q(node) if _is_group(node) else _rule_q(node)
        combined = combined | q if definition.get("op") == "or" and combined else combined & q
    return combined


def _rule_q(rule: dict) -> Q:
    return sc.get(rule["field"]).to_q(rule["operator"], rule.get("value"), rule.get("days"))


def definition_describe(definition: dict, *, top: bool = True) -> str:
    """The definition in words: "Churn risk is more than 0.7 and (Country is GB or …)"."""
    parts = []
    for node in definition.get("rules", []):
        if _is_group(node):
            inner = definition_describe(node, top=False)
            parts.append(f"({inner})" if len(node.get("rules", [])) > 1 else inner)
        else:
            parts.append(_describe_rule(node))
    joiner = f" {_('or') if definition.get('op') == 'or' else _('and')} "
    return joiner.join(parts)


def _describe_rule(rule: dict) -> str:
    try:
        condition = sc.get(rule["field"])
    except ValidationError:
        return _("unknown field %(field)s") % {"field": rule.get("field")}
    return condition.describe(rule["operator"], rule.get("value"), rule.get("days"))


def definition_rules(definition: dict) -> list[dict]:
    """Every rule of the tree, depth first."""
    rules = []
    for node in definition.get("rules", []) if isinstance(definition, dict) else []:
        if isinstance(node, dict) and _is_group(node):
            rules.extend(definition_rules(node))
        elif isinstance(node, dict):
            rules.append(node)
    return rules


def definition_references(definition: dict) -> set[int]:
    """Ids of the segments a definition reads the members of."""
    ids: set[int] = set()
    for rule in definition_rules(definition):
        if rule.get("field") == MEMBER_OF:
            ids |= _as_ids(rule.get("value"))
    return ids


def _as_ids(value) -> set[int]:
    items = value if isinstance(value, list) else [value]
    return {int(item) for item in items if str(item).isdigit()}


# --- "Member of another segment" ----------------------------------------------------------------

MEMBER_OF = "segment.member_of"


def _segment_choices():
    from .models import Segment

    return [(segment.pk, segment.display_name) for segment in Segment.objects.only("pk", "name", "kind", "key")]


def _member_of(value, days) -> Q:
    from .models import SegmentMembership

    ids = value if isinstance(value, list) else [value]
    return Q(
        Exists(SegmentMembership.objects.filter(customer_id=OuterRef("pk"), segment_id__in=ids, exited_at__isnull=True))
    )


class _SegmentCondition(sc.Condition):
    def _clean_choice(self, value):
        # A deleted segment is not just "not a choice": say what happened.
        try:
            return super()._clean_choice(value)
        except ValidationError:
            raise ValidationError(
                _("Segment %(id)s no longer exists (it was deleted); remove this condition.") % {"id": value}
            )


def register_all() -> None:
    sc.register_group("segments", gettext_lazy("Segments"), order=90)
    sc.register(
        _SegmentCondition(
            key=MEMBER_OF,
            label=gettext_lazy("Member of segment"),
            group="segments",
            value_type="choice",
            operators=("in", "not_in"),
            compile=sc.exists_compiler(_member_of),
            choices=_segment_choices,
            help_text=gettext_lazy("The other segment's members at its last refresh."),
        )
    )
