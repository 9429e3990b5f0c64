"""The plan builder's form: the plan's fields and its list of steps, read from the POST as the page
draws them (``step-<i>-<field>``), so that adding, removing and moving steps works without
JavaScript (each button posts the form and the page comes back with the change). The checks are
the service's (validation.plan_clean): the form only reads what was typed and draws it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from retention_crm import segment_conditions as sc
from segmentation.models import Segment

from ..models import ContactPlan, FollowUp, MessageTemplate, PlanStep
from .validation import END, StepData

STEP_FIELDS = ("kind", "delay_days", "template", "task_kind", "task_note", "task_due_days", "unless_purchased")
CONDITION_FIELDS = ("field", "operator", "value", "days")


@dataclass
class StepRow:
    """One step as drawn in the builder (raw text, so what was typed comes back with its error)."""

    values: dict[str, Any] = field(default_factory=dict)
    condition: dict[str, Any] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)

    def to_data(self) -> StepData:
        rule = None
        if self.condition.get("field"):
            rule = {"field": self.condition["field"], "operator": self.condition.get("operator") or ""}
            condition = _condition(self.condition["field"])
            raw = (self.condition.get("value") or "").strip()
            operator = rule["operator"]
            if operator in sc.LIST_OPERATORS:
                rule["value"] = [part.strip() for part in raw.split(",") if part.strip()]
            elif operator in sc.RANGE_OPERATORS:
                rule["value"] = [part.strip() for part in raw.split(",")]
            elif operator not in sc.NO_VALUE_OPERATORS:
                rule["value"] = raw
            if condition is not None and condition.window and self.condition.get("days"):
                rule["days"] = self.condition["days"]
        branches = {outcome: target for outcome, target in self.branches.items() if target}
        return StepData(
            kind=self.values.get("kind") or "",
            delay_days=self.values.get("delay_days", "0") or "0",
            template=self.values.get("template") or None,
            task_kind=self.values.get("task_kind") or "",
            task_note=self.values.get("task_note") or "",
            task_due_days=self.values.get("task_due_days", "3") or "3",
            conditions=[rule] if rule else {},
            unless_purchased=bool(self.values.get("unless_purchased")),
            branches={k: (END if v == END else v) for k, v in branches.items()},
        )


def _condition(key: str):
    try:
        return sc.get(key)
    except Exception:  # an unknown key: the service says so
        return None


def rows_from_post(post) -> list[StepRow]:
    try:
        count = min(int(post.get("steps", "0")), 30)
    except ValueError:
        count = 0
    rows = []
    for i in range(count):
        prefix = f"step-{i}-"
        rows.append(
            StepRow(
                values={name: post.get(prefix + name, "") for name in STEP_FIELDS},
                condition={name: post.get(f"{prefix}condition-{name}", "") for name in CONDITION_FIELDS},
                branches={outcome: post.get(f"{prefix}branch-{outcome}", "") for outcome in FollowUp.Outcome.values},
            )
        )
    return rows


def rows_from_plan(plan: ContactPlan) -> list[StepRow]:
    rows = []
    for step in plan.steps.order_by("position"):
        rule = (step.conditions or {}).get("rules", [None])[0] if step.conditions else None
        condition = {}
        if rule and "field" in rule:
            value = rule.get("value")
            condition = {
                "field": rule["field"],
                "operator": rule.get("operator", ""),
                "value": ", ".join(str(v) for v in value)
                if isinstance(value, list)
                else ("" if value is None else str(value)),
                "days": "" if rule.get("days") is None else str(rule["days"]),
            }
        rows.append(
            StepRow(
                values={
                    "kind": step.kind,
                    "delay_days": str(step.delay_days),
                    "template": str(step.template_id or ""),
                    "task_kind": step.task_kind,
                    "task_note": step.task_note,
                    "task_due_days": str(step.task_due_days),
                    "unless_purchased": "1" if step.unless_purchased else "",
                },
                condition=condition,
                branches={outcome: str(target) for outcome, target in (step.branches or {}).items()},
            )
        )
    return rows


def plan_data_from_post(post) -> dict:
    return {
        "name": post.get("name", ""),
        "description": post.get("description", ""),
        "purpose": post.get("purpose", ""),
        "trigger": post.get("trigger", ""),
        "trigger_days": post.get("trigger_days", "") or None,
        "trigger_segment": post.get("trigger_segment") or None,
        "goal": post.get("goal", ""),
        "reenrol": post.get("reenrol", ""),
        "reenrol_days": post.get("reenrol_days", "") or None,
        "control_percent": post.get("control_percent", "0") or "0",
        "is_active": bool(post.get("is_active")),
    }


def plan_data_from_plan(plan: ContactPlan | None) -> dict:
    if plan is None:
        return {
            "name": "",
            "description": "",
            "purpose": ContactPlan.Purpose.PROMOTIONAL,
            "trigger": ContactPlan.Trigger.FIRST_PURCHASE,
            "trigger_days": "",
            "trigger_segment": "",
            "goal": "",
            "reenrol": ContactPlan.Reenrol.NEVER,
            "reenrol_days": "",
            "control_percent": "10",
            "is_active": True,
        }
    return {
        "name": plan.name,
        "description": plan.description,
        "purpose": plan.purpose,
        "trigger": plan.trigger,
        "trigger_days": plan.trigger_days or "",
        "trigger_segment": str(plan.trigger_segment_id or ""),
        "goal": plan.goal,
        "reenrol": plan.reenrol,
        "reenrol_days": plan.reenrol_days or "",
        "control_percent": str(plan.control_percent),
        "is_active": plan.is_active,
    }


def builder_choices() -> dict:
    """What the builder's selects offer."""
    return {
        "purposes": ContactPlan.Purpose.choices,
        "triggers": ContactPlan.Trigger.choices,
        "goals": ContactPlan.Goal.choices,
        "reenrols": ContactPlan.Reenrol.choices,
        "segments": [(s.pk, s.display_name) for s in Segment.objects.filter(is_active=True).order_by("kind", "name")],
        "kinds": PlanStep.Kind.choices,
        "task_kinds": PlanStep.TaskKind.choices,
        "templates": list(MessageTemplate.objects.filter(is_active=True).order_by("channel", "name")),
        "outcomes": FollowUp.Outcome.choices,
        "condition_groups": [
            (str(group.label), [(c.key, str(c.label)) for c in conditions])
            for group, conditions in sc.grouped_conditions()
        ],
        "operators": [(key, str(label)) for key, label in sc.OPERATORS.items()],
        "end": END,
        "end_label": _("End the plan"),
    }


def apply_row_action(post, rows: list[StepRow]) -> tuple[list[StepRow], bool]:
    """The builder's buttons: add a step (of a kind), remove one, move one up. Returns the rows and
    whether a button was pressed (then nothing is saved: the page comes back with the change)."""
    if post.get("add_step"):
        rows.append(StepRow(values={"kind": post["add_step"], "delay_days": "0", "task_due_days": "3"}))
        return rows, True
    if post.get("remove_step", "").isdigit():
        index = int(post["remove_step"])
        if 0 <= index < len(rows):
            rows.pop(index)
        return rows, True
    if post.get("up_step", "").isdigit():
        index = int(post["up_step"])
        if 0 < index < len(rows):
            rows[index - 1], rows[index] = rows[index], rows[index - 1]
        return rows, True
    return rows, False
