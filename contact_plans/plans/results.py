"""Does a plan work? Its figures per plan and per step, in a handful of GROUP BY queries whatever the
number of enrolments, and the uplift of purchases within 30 days against the control group
(``metrics.analytics.uplift``, pure).

- enrolled (contacted) and in control; ended by unsubscribe;
- per step: messages queued, sent, failed, suppressed (with the reasons), tasks created, done, done
  on time (``done_at`` by ``due_at``), skipped for conditions or no account manager;
- purchased within 30 days of enrolment, for each group: an enrolment younger than 30 days counts
  the purchases so far (both groups alike, so the comparison stays fair while it fills in).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils.translation import gettext as _

from customers.models import Order
from metrics.analytics.uplift import Uplift, uplift

from ..models import ContactPlan, Enrolment, EnrolmentStep, FollowUp, Message, PlanStep

WINDOW_DAYS = 30


@dataclass
class StepResult:
    step: PlanStep
    ran: int = 0
    skipped: int = 0
    failed: int = 0
    messages: dict[str, int] = field(default_factory=dict)  # state -> count
    suppressed_reasons: dict[str, int] = field(default_factory=dict)  # reason label -> count
    tasks: int = 0
    tasks_done: int = 0
    tasks_on_time: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # outcome label -> count


@dataclass
class PlanResults:
    plan: ContactPlan
    enrolled: int
    control: int
    open: int
    unsubscribed: int
    sent: int
    suppressed: int
    failed: int
    tasks: int
    tasks_done_on_time: int
    uplift: Uplift
    steps: list[StepResult]


def _purchased_within(window_days: int):
    return Order.objects.filter(
        customer=OuterRef("customer_id"),
        kind=Order.Kind.PURCHASE,
        ordered_at__gt=OuterRef("enrolled_at"),
        ordered_at__lte=OuterRef("enrolled_at") + timedelta(days=window_days),
    ).exclude(status=Order.Status.CANCELLED)


def plan_results(*, plan: ContactPlan) -> PlanResults:
    groups = (
        Enrolment.objects.filter(plan=plan)
        .annotate(bought=Exists(_purchased_within(WINDOW_DAYS)))
        .values("is_control")
        .annotate(
            n=Count("id"),
            converted=Count("id", filter=Q(bought=True)),
            still_open=Count("id", filter=~Q(state=Enrolment.State.ENDED)),
            unsubscribed=Count("id", filter=Q(end_reason=Enrolment.EndReason.UNSUBSCRIBED)),
        )
    )
    by_group = {row["is_control"]: row for row in groups}
    treated, control = by_group.get(False, {}), by_group.get(True, {})
    steps = {step.pk: StepResult(step=step) for step in plan.steps.select_related("template").order_by("position")}
    for row in EnrolmentStep.objects.filter(step__plan=plan).values("step_id", "outcome").annotate(n=Count("id")):
        result = steps.get(row["step_id"])
        if result is None:
            continue
        result.ran += row["n"]
        if row["outcome"].startswith("skipped"):
            result.skipped += row["n"]
        elif row["outcome"] == EnrolmentStep.Outcome.FAILED:
            result.failed += row["n"]
    messages = _messages_by_step(plan)
    totals = {"sent": 0, "suppressed": 0, "failed": 0}
    for step_id, state, reason, n in messages:
        result = steps.get(step_id)
        if result is None:
            continue
        result.messages[state] = result.messages.get(state, 0) + n
        if state in totals:
            totals[state] += n
        if state == Message.State.SUPPRESSED and reason:
            label = str(Message.Reason(reason).label)
            result.suppressed_reasons[label] = result.suppressed_reasons.get(label, 0) + n
    tasks = (
        FollowUp.objects.filter(plan=plan)
        .values("plan_step_id", "state", "outcome")
        .annotate(n=Count("id"), on_time=Count("id", filter=Q(state=FollowUp.State.DONE, done_at__lte=F("due_at"))))
    )
    task_total = task_on_time = 0
    for row in tasks:
        task_total += row["n"]
        task_on_time += row["on_time"]
        result = steps.get(row["plan_step_id"])
        if result is None:
            continue
        result.tasks += row["n"]
        if row["state"] == FollowUp.State.DONE:
            result.tasks_done += row["n"]
            result.tasks_on_time += row["on_time"]
            label = str(FollowUp.Outcome(row["outcome"]).label) if row["outcome"] else _("No outcome given")
            result.outcomes[label] = result.outcomes.get(label, 0) + row["n"]
    return PlanResults(
        plan=plan,
        enrolled=treated.get("n", 0),
        control=control.get("n", 0),
        open=treated.get("still_open", 0) + control.get("still_open", 0),
        unsubscribed=treated.get("unsubscribed", 0),
        sent=totals["sent"],
        suppressed=totals["suppressed"],
        failed=totals["failed"],
        tasks=task_total,
        tasks_done_on_time=task_on_time,
        uplift=uplift(
            treated=treated.get("n", 0),
            treated_converted=treated.get("converted", 0),
            control=control.get("n", 0),
            control_converted=control.get("converted", 0),
        ),
        steps=list(steps.values()),
    )


def _messages_by_step(plan: ContactPlan) -> list[tuple[int, str, str, int]]:
    """(step id, message state, reason, count) of the plan's messages: one join and GROUP BY."""
    rows = (
        EnrolmentStep.objects.filter(step__plan=plan, message__isnull=False)
        .values("step_id", "message__state", "message__reason")
        .annotate(n=Count("id"))
    )
    return [(row["step_id"], row["message__state"], row["message__reason"], row["n"]) for row in rows]


def results_chart(results: PlanResults) -> dict | None:
    """A Chart.js spec (static/js/charts.js): the share who purchased within 30 days, plan against
    control."""
    u = results.uplift
    if u.treated_rate is None and u.control_rate is None:
        return None
    return {
        "type": "bar",
        "labels": [_("Contacted by the plan"), _("Control group")],
        "datasets": [
            {
                "label": _("Purchased within 30 days"),
                "data": [u.treated_rate, u.control_rate],
                "color": "#0d6efd",
            }
        ],
        "y": {"percent": True, "min": 0, "title": _("Share of customers")},
    }


def results_csv_rows(results: PlanResults) -> tuple[list[str], list[list]]:
    header = [
        "step",
        "kind",
        "template",
        "ran",
        "skipped",
        "failed",
        "queued",
        "sent",
        "suppressed",
        "message_failed",
        "suppressed_reasons",
        "tasks",
        "tasks_done",
        "tasks_on_time",
    ]
    rows = []
    for s in results.steps:
        rows.append(
            [
                s.step.position,
                s.step.kind,
                s.step.template.name if s.step.template else "",
                s.ran,
                s.skipped,
                s.failed,
                s.messages.get("queued", 0),
                s.messages.get("sent", 0),
                s.messages.get("suppressed", 0),
                s.messages.get("failed", 0),
                "; ".join(f"{label}: {n}" for label, n in s.suppressed_reasons.items()),
                s.tasks,
                s.tasks_done,
                s.tasks_on_time,
            ]
        )
    u = results.uplift
    rows.append([])
    rows.append(["plan", "enrolled", results.enrolled, "control", results.control])
    rows.append(
        [
            "purchased_within_30_days",
            "plan",
            u.treated_rate,
            "control",
            u.control_rate,
            "difference",
            u.difference,
            "ci95_low",
            u.low,
            "ci95_high",
            u.high,
        ]
    )
    return header, rows
