"""The segment form and the rule builder's state.

The builder keeps the whole rule tree in ordinary form fields, named by each node's place in the
tree (``r`` is the outer group, ``r-1`` its second item, ``r-1-0`` the first item of that group)::

    r.kind=group  r.op=and
    r-0.kind=rule r-0.field=metrics.churn_risk r-0.operator=gt r-0.value=0.7
    r-1.kind=group r-1.op=or  r-1-0.kind=rule …

so that the page works without JavaScript (every button submits the form, the view answers with
the changed tree) and htmx only swaps the tree and the preview in place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from retention_crm import segment_conditions as sc

from .conditions import MAX_DEPTH

ROOT = "r"
_PATH = re.compile(r"^r(-\d{1,3}){0,6}$")
# Items in one group through the form: as many as a definition may hold (conditions.MAX_RULES).
MAX_CHILDREN = 100


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("Inactive segments are not refreshed; their members stay as they were."),
    )

    def add_service_errors(self, error: ValidationError) -> None:
        """Name errors on the name field; definition errors are the builder's to show."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, messages in error.message_dict.items():
            if key in self.fields:
                self.add_error(key, messages)
            elif not key.startswith("definition"):
                self.add_error(None, messages)


# --- The builder's tree ------------------------------------------------------------------------------


@dataclass
class Node:
    path: str
    kind: str  # "group" | "rule"
    op: str = "and"
    children: list[Node] = dc_field(default_factory=list)
    field: str = ""
    operator: str = ""
    values: list[str] = dc_field(default_factory=list)
    value2: str = ""
    days: str = ""
    errors: dict[str, list[str]] = dc_field(default_factory=dict)

    @property
    def depth(self) -> int:
        return self.path.count("-") + 1

    @property
    def can_add_group(self) -> bool:
        return self.depth < MAX_DEPTH


def _empty_rule(path: str) -> Node:
    return Node(path=path, kind="rule")


def tree_from_definition(definition: dict | None) -> Node:
    """The builder's tree for a stored (clean) definition; one empty rule for a new segment."""
    if not definition or not definition.get("rules"):
        return Node(path=ROOT, kind="group", children=[_empty_rule(f"{ROOT}-0")])
    return _node_from_definition(definition, ROOT)


def _node_from_definition(node: dict, path: str) -> Node:
    if "rules" in node or "op" in node:
        children = [_node_from_definition(child, f"{path}-{i}") for i, child in enumerate(node.get("rules", []))]
        return Node(path=path, kind="group", op=node.get("op", "and"), children=children)
    value = node.get("value")
    rule = Node(path=path, kind="rule", field=node.get("field", ""), operator=node.get("operator", ""))
    if node.get("operator") == "between" and isinstance(value, list) and len(value) == 2:
        rule.values, rule.value2 = [_text(value[0])], _text(value[1])
    elif isinstance(value, list):
        rule.values = [_text(item) for item in value]
    elif value is not None:
        rule.values = [_text(value)]
    rule.days = _text(node.get("days")) if node.get("days") is not None else ""
    return rule


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def tree_from_post(data) -> Node:
    """The tree as posted by the builder form (a QueryDict). Unknown or malformed paths are ignored."""
    paths = sorted(
        (key[: -len(".kind")] for key in data if key.endswith(".kind") and _PATH.match(key[: -len(".kind")])),
        key=lambda path: [int(part) for part in path.split("-")[1:]],
    )
    if ROOT not in paths:
        return tree_from_definition(None)
    nodes: dict[str, Node] = {}
    for path in paths:
        kind = "group" if data.get(f"{path}.kind") == "group" or path == ROOT else "rule"
        node = Node(path=path, kind=kind)
        if kind == "group":
            node.op = data.get(f"{path}.op", "and")
        else:
            node.field = data.get(f"{path}.field", "").strip()
            node.operator = data.get(f"{path}.operator", "").strip()
            node.values = [item for item in data.getlist(f"{path}.value") if item is not None]
            node.value2 = data.get(f"{path}.value2", "")
            node.days = data.get(f"{path}.days", "")
        nodes[path] = node
        parent = nodes.get(path.rsplit("-", 1)[0]) if path != ROOT else None
        if path != ROOT:
            if parent is None or parent.kind != "group" or len(parent.children) >= MAX_CHILDREN:
                continue
            parent.children.append(node)
    root = nodes[ROOT]
    renumber(root)
    return root


def renumber(node: Node, path: str = ROOT) -> None:
    node.path = path
    for index, child in enumerate(node.children):
        renumber(child, f"{path}-{index}")


def _find(root: Node, path: str) -> Node | None:
    if root.path == path:
        return root
    for child in root.children:
        found = _find(child, path)
        if found is not None:
            return found
    return None


def apply_action(root: Node, action: str) -> bool:
    """Add a rule or a group to a group, or remove an item: "add_rule:r-1", "remove:r-0".
    True when the tree changed."""
    verb, _sep, path = (action or "").partition(":")
    target = _find(root, path)
    if target is None:
        return False
    if verb == "add_rule" and target.kind == "group" and len(target.children) < MAX_CHILDREN:
        target.children.append(_empty_rule(""))
    elif verb == "add_group" and target.kind == "group" and target.can_add_group:
        group = Node(path="", kind="group", op="or" if target.op == "and" else "and")
        group.children.append(_empty_rule(""))
        target.children.append(group)
    elif verb == "remove" and path != ROOT:
        parent = _find(root, path.rsplit("-", 1)[0])
        if parent is None:
            return False
        parent.children = [child for child in parent.children if child is not target]
    else:
        return False
    renumber(root)
    return True


def tree_to_definition(node: Node) -> dict:
    """The raw definition to clean (segment_definition_clean checks and normalises it)."""
    if node.kind == "group":
        return {"op": node.op, "rules": [tree_to_definition(child) for child in node.children]}
    condition = _condition(node.field)
    if condition is not None and not node.operator:
        # A field just chosen shows its first operator before the tree is drawn again.
        node.operator = condition.operators[0]
    rule: dict[str, Any] = {"field": node.field, "operator": node.operator}
    values = [value for value in node.values if value.strip()]
    if node.operator == "between":
        rule["value"] = [node.values[0] if node.values else "", node.value2]
    elif node.operator in sc.LIST_OPERATORS:
        rule["value"] = values if len(values) != 1 else values[0]
    elif node.operator in sc.NO_VALUE_OPERATORS:
        rule["value"] = None
    else:
        rule["value"] = values[0] if values else ""
    if condition is not None and condition.window:
        rule["days"] = node.days.strip() or None
    return rule


def _condition(key: str):
    try:
        return sc.get(key)
    except ValidationError:
        return None


_ERROR_PATH = re.compile(r"rules\[(\d+)\]")


def attach_errors(root: Node, error: ValidationError) -> list[str]:
    """Put each definition error on the node it names; returns those that name no node."""
    unplaced = []
    for key, messages in error.message_dict.items():
        key = key.removeprefix("definition").lstrip(".")
        indices = _ERROR_PATH.findall(key)
        attribute = _ERROR_PATH.sub("", key).strip(".").split(".")[-1] if key else ""
        path = "-".join([ROOT, *indices])
        node = _find(root, path)
        if node is None:
            unplaced.extend(messages)
            continue
        if node.kind == "group":
            attribute = "group"
        elif attribute not in ("field", "operator", "value", "days"):
            attribute = "rule"
        node.errors.setdefault(attribute, []).extend(messages)
    return unplaced


# --- What the templates draw --------------------------------------------------------------------------


def _widget(condition, operator: str) -> str:
    if condition is None or not operator or operator in sc.NO_VALUE_OPERATORS:
        return "none"
    if operator in ("within", "not_within"):
        return "days"
    if operator == "between":
        return "range"
    if condition.value_type == "choice":
        return "multiselect" if operator in sc.LIST_OPERATORS else "select"
    if operator in sc.LIST_OPERATORS or condition.value_type == "tags":
        return "list"
    return "input"


_INPUT_TYPES = {"number": "number", "integer": "number", "days": "number", "date": "date"}


class BuilderContext:
    """Per request: the grouped fields for the select, and a view of each rule for its template.
    Choice lists are read once per request, however many rules use them."""

    def __init__(self):
        self.groups = sc.grouped_conditions()
        self._choices: dict[str, list[tuple[str, str]]] = {}
        self._suggestions: dict[str, list[str]] = {}

    def choices(self, condition) -> list[tuple[str, str]]:
        if condition.key not in self._choices:
            raw = condition.choices() if condition.choices else []
            self._choices[condition.key] = [(str(value), str(label)) for value, label in raw]
        return self._choices[condition.key]

    def suggestions(self, condition) -> list[str]:
        if condition.key not in self._suggestions:
            self._suggestions[condition.key] = (
                [str(s) for s in condition.suggestions()] if condition.suggestions else []
            )
        return self._suggestions[condition.key]

    def rule_view(self, node: Node) -> dict:
        condition = _condition(node.field)
        operators = [(op, str(sc.OPERATORS[op])) for op in condition.operators] if condition else []
        operator = node.operator if condition and node.operator in condition.operators else ""
        if condition and not operator:
            operator = operators[0][0]
            node.operator = operator
        widget = _widget(condition, operator)
        view = {
            "condition": condition,
            "operators": operators,
            "operator": operator,
            "widget": widget,
            "value": node.values[0] if node.values else "",
            "values": node.values,
            "value2": node.value2,
            "days": node.days,
            "input_type": _INPUT_TYPES.get(condition.value_type, "text") if condition else "text",
            "step": "any" if condition and condition.value_type == "number" else "1",
            "window": condition.window if condition else "",
        }
        if condition and widget in ("select", "multiselect"):
            selected = set(node.values)
            view["choices"] = [(value, label, value in selected) for value, label in self.choices(condition)]
        if condition and widget in ("input", "list") and condition.suggestions:
            view["suggestions"] = self.suggestions(condition)
        return view

    def annotate(self, node: Node) -> Node:
        """Attach ``view`` to every rule of the tree (the templates read node.view)."""
        if node.kind == "rule":
            node.view = self.rule_view(node)
        for child in node.children:
            self.annotate(child)
        return node
