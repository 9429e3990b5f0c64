"""A contact plan checked as a whole, its steps included: every problem at once, keyed by where it is
(``trigger_segment``, ``steps.2.template``, ``steps.1.branches.meeting_booked``), in words a marketer
understands. The browser's builder, the API and the ready-made plans share these checks, and the
runner asks ``plan_problems`` again before it runs a plan (a template or segment may have been
deleted since it was saved).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from segmentation.conditions import segment_definition_clean
from segmentation.models import Segment

from ..models import ContactPlan, FollowUp, MessageTemplate, PlanStep
from ..models.plans import MAX_CONTROL_PERCENT, MAX_DELAY_DAYS, MAX_STEPS

END = "end"
MAX_TASK_DUE_DAYS = 90


@dataclass
class StepData:
    """One step as the builder or the API sends it (positions are the list's order, from 1)."""

    kind: str
    delay_days: Any = 0
    template: MessageTemplate | int | None = None
    task_kind: str = ""
    task_note: str = ""
    task_due_days: Any = 3
    conditions: Any = field(default_factory=dict)
    unless_purchased: bool = False
    branches: Any = field(default_factory=dict)


class _Errors:
    def __init__(self):
        self.by_key: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        self.by_key.setdefault(key, []).append(str(message))


def _int_in(value: Any, low: int, high: int) -> int | None:
    """A whole number from low to high (an int, or text of one), else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("-").isdigit():
            return None
        value = int(text)
    if not isinstance(value, int):
        return None
    return value if low <= value <= high else None


def _template_of(value) -> MessageTemplate | None:
    if value is None or isinstance(value, MessageTemplate):
        return value
    pk = _int_in(value, 1, 2**63 - 1)
    return MessageTemplate.objects.filter(pk=pk).first() if pk else None


def plan_fields_clean(data: dict, errors: _Errors) -> dict:
    """The plan's own fields (not its steps), normalised."""
    cleaned = dict(data)
    trigger = data.get("trigger") or ContactPlan.Trigger.MANUAL
    if trigger not in ContactPlan.Trigger.values:
        errors.add("trigger", _("Choose a trigger from the list."))
    cleaned["trigger"] = trigger
    name = (data.get("name") or "").strip()
    if not name:
        errors.add("name", _("Give the plan a name."))
    cleaned["name"] = name[:120]
    if trigger == ContactPlan.Trigger.DAYS_AFTER_PURCHASE:
        days = _int_in(data.get("trigger_days"), 1, MAX_DELAY_DAYS)
        if days is None:
            errors.add(
                "trigger_days",
                _("Say how many days after a purchase, from 1 to %(max)d.") % {"max": MAX_DELAY_DAYS},
            )
        cleaned["trigger_days"] = days
    else:
        cleaned["trigger_days"] = None
    segment = data.get("trigger_segment")
    if trigger in (ContactPlan.Trigger.SEGMENT_ENTERED, ContactPlan.Trigger.SEGMENT_EXITED):
        if segment is not None and not isinstance(segment, Segment):
            pk = _int_in(segment, 1, 2**63 - 1)
            segment = Segment.objects.filter(pk=pk).first() if pk else None
        if segment is None:
            errors.add(
                "trigger_segment",
                _("Choose the segment whose entries or exits enrol customers; it may have been deleted."),
            )
        cleaned["trigger_segment"] = segment
    else:
        cleaned["trigger_segment"] = None
    reenrol = data.get("reenrol") or ContactPlan.Reenrol.NEVER
    if reenrol not in ContactPlan.Reenrol.values:
        errors.add("reenrol", _("Choose a re-enrolment rule from the list."))
    cleaned["reenrol"] = reenrol
    if reenrol == ContactPlan.Reenrol.AFTER_DAYS:
        days = _int_in(data.get("reenrol_days"), 1, 3650)
        if days is None:
            errors.add("reenrol_days", _("Say after how many days a customer may be enrolled again, from 1 to 3650."))
        cleaned["reenrol_days"] = days
    else:
        cleaned["reenrol_days"] = None
    control = _int_in(data.get("control_percent", 10), 0, MAX_CONTROL_PERCENT)
    if control is None:
        errors.add(
            "control_percent",
            _("The control group is a whole percentage from 0 to %(max)d.") % {"max": MAX_CONTROL_PERCENT},
        )
    cleaned["control_percent"] = control
    if (data.get("goal") or "") not in ContactPlan.Goal.values:
        errors.add("goal", _("Choose a goal from the list."))
    cleaned["goal"] = data.get("goal") or ""
    purpose = data.get("purpose") or ContactPlan.Purpose.PROMOTIONAL
    if purpose not in ContactPlan.Purpose.values:
        errors.add("purpose", _("Choose whether the plan is promotional or a service."))
    cleaned["purpose"] = purpose
    return cleaned


def _step_clean(step: StepData, index: int, count: int, purpose: str, errors: _Errors) -> dict:
    key = f"steps.{index}"
    position = index + 1
    cleaned: dict[str, Any] = {"position": position, "kind": step.kind}
    if step.kind not in PlanStep.Kind.values:
        errors.add(f"{key}.kind", _("Step %(n)d: choose email, SMS, task or wait.") % {"n": position})
        return cleaned
    delay = _int_in(step.delay_days, 0, MAX_DELAY_DAYS)
    if delay is None:
        errors.add(
            f"{key}.delay_days",
            _("Step %(n)d: the delay is a whole number of days from 0 to %(max)d.")
            % {"n": position, "max": MAX_DELAY_DAYS},
        )
    cleaned["delay_days"] = delay or 0
    cleaned["template"] = None
    if step.kind in (PlanStep.Kind.EMAIL, PlanStep.Kind.SMS):
        template = _template_of(step.template)
        if template is None:
            errors.add(
                f"{key}.template",
                _("Step %(n)d: choose a message template (the one it used may have been deleted).") % {"n": position},
            )
        elif template.channel != step.kind:
            errors.add(
                f"{key}.template",
                _("Step %(n)d: “%(name)s” is not an %(kind)s template.")
                % {"n": position, "name": template.name, "kind": PlanStep.Kind(step.kind).label},
            )
        elif not template.is_active:
            errors.add(
                f"{key}.template",
                _("Step %(n)d: the template “%(name)s” is inactive.") % {"n": position, "name": template.name},
            )
        elif template.purpose == MessageTemplate.Purpose.PROMOTIONAL and purpose != ContactPlan.Purpose.PROMOTIONAL:
            errors.add(
                f"{key}.template",
                _(
                    "Step %(n)d: “%(name)s” is promotional; make the plan promotional, so that only customers "
                    "with marketing consent are enrolled."
                )
                % {"n": position, "name": template.name},
            )
        cleaned["template"] = template
    cleaned["task_kind"] = ""
    cleaned["task_note"] = ""
    cleaned["task_due_days"] = 3
    if step.kind == PlanStep.Kind.TASK:
        if step.task_kind not in PlanStep.TaskKind.values:
            errors.add(f"{key}.task_kind", _("Step %(n)d: choose call, meeting, visit or gift.") % {"n": position})
        cleaned["task_kind"] = step.task_kind
        cleaned["task_note"] = (step.task_note or "").strip()[:500]
        due = _int_in(step.task_due_days, 0, MAX_TASK_DUE_DAYS)
        if due is None:
            errors.add(
                f"{key}.task_due_days",
                _("Step %(n)d: the task is due within 0 to %(max)d days.") % {"n": position, "max": MAX_TASK_DUE_DAYS},
            )
        cleaned["task_due_days"] = due if due is not None else 3
    cleaned["conditions"] = _conditions_clean(step.conditions, key, position, errors)
    cleaned["unless_purchased"] = bool(step.unless_purchased)
    cleaned["branches"] = _branches_clean(step, key, position, count, errors)
    return cleaned


def _conditions_clean(conditions: Any, key: str, position: int, errors: _Errors) -> dict:
    if not conditions:
        return {}
    if isinstance(conditions, list):
        conditions = {"op": "and", "rules": conditions}
    try:
        return segment_definition_clean(conditions)
    except ValidationError as exc:
        for path, messages in exc.message_dict.items():
            for message in messages:
                errors.add(f"{key}.conditions.{path}", _("Step %(n)d: %(error)s") % {"n": position, "error": message})
        return {}


def _branches_clean(step: StepData, key: str, position: int, count: int, errors: _Errors) -> dict:
    branches = step.branches or {}
    if not isinstance(branches, dict):
        errors.add(f"{key}.branches", _("Step %(n)d: branches map an outcome to “end” or a step.") % {"n": position})
        return {}
    if branches and step.kind != PlanStep.Kind.TASK:
        errors.add(f"{key}.branches", _("Step %(n)d: only a task has outcomes to branch on.") % {"n": position})
        return {}
    cleaned = {}
    for outcome, target in branches.items():
        if outcome not in FollowUp.Outcome.values:
            errors.add(
                f"{key}.branches",
                _("Step %(n)d: “%(outcome)s” is not a task outcome.") % {"n": position, "outcome": outcome},
            )
            continue
        if target in ("", None, "next"):
            continue
        if target == END:
            cleaned[outcome] = END
            continue
        goto = _int_in(target, 1, MAX_STEPS)
        if goto is None or goto > count:
            errors.add(
                f"{key}.branches.{outcome}",
                _("Step %(n)d: “%(outcome)s” goes to a step that does not exist.")
                % {"n": position, "outcome": FollowUp.Outcome(outcome).label},
            )
        elif goto <= position:
            # Only forward: a branch back would make a cycle, and a plan must end.
            errors.add(
                f"{key}.branches.{outcome}",
                _("Step %(n)d: “%(outcome)s” goes back to step %(to)d, which makes a cycle; branch to a later step.")
                % {"n": position, "outcome": FollowUp.Outcome(outcome).label, "to": goto},
            )
        else:
            cleaned[outcome] = goto
    return cleaned


def plan_clean(data: dict, steps: list[StepData]) -> tuple[dict, list[dict]]:
    """The plan's fields and its steps, normalised; ValidationError({key: [messages]}) otherwise."""
    errors = _Errors()
    fields = plan_fields_clean(data, errors)
    if not steps:
        errors.add("steps", _("A plan needs at least one step."))
    elif len(steps) > MAX_STEPS:
        errors.add("steps", _("A plan has at most %(max)d steps.") % {"max": MAX_STEPS})
    cleaned_steps = [
        _step_clean(step, index, len(steps), fields["purpose"], errors) for index, step in enumerate(steps[:MAX_STEPS])
    ]
    if steps and all(step.kind == PlanStep.Kind.WAIT for step in steps):
        errors.add("steps", _("A plan of waits only does nothing: add an email, an SMS or a task."))
    if errors.by_key:
        raise ValidationError(errors.by_key)
    return fields, cleaned_steps


def steps_of(plan: ContactPlan) -> list[StepData]:
    return [
        StepData(
            kind=step.kind,
            delay_days=step.delay_days,
            template=step.template,
            task_kind=step.task_kind,
            task_note=step.task_note,
            task_due_days=step.task_due_days,
            conditions=step.conditions,
            unless_purchased=step.unless_purchased,
            branches=step.branches,
        )
        for step in plan.steps.select_related("template").order_by("position")
    ]


def plan_problems(plan: ContactPlan) -> list[str]:
    """What is wrong with a saved plan now (a template or segment deleted or switched off since)."""
    data = {
        "name": plan.name,
        "trigger": plan.trigger,
        "trigger_days": plan.trigger_days,
        "trigger_segment": plan.trigger_segment,
        "reenrol": plan.reenrol,
        "reenrol_days": plan.reenrol_days,
        "control_percent": plan.control_percent,
        "goal": plan.goal,
        "purpose": plan.purpose,
    }
    try:
        plan_clean(data, steps_of(plan))
    except ValidationError as exc:
        return [message for messages in exc.message_dict.values() for message in messages]
    return []
