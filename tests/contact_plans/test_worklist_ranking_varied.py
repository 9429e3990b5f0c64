"""The worklist's ranking on a varied book: every registered signal in many combinations, ranked by
SQL, against the priority worked out in Python from what each row shows (its signals' details).

It holds the ranking to its definition (contact_plans.worklist's docstring) whatever the SQL that
computes it: the order, every row's priority, the reasons and the "only with reasons" filter.
"""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from contact_plans import worklist
from contact_plans.models import ContactPlan
from contact_plans.worklist import WorklistFilters
from customers.models import Interaction
from retention_crm import worklist_signals
from surveys.models import Response
from tests.contact_plans.factories import FollowUpFactory, WorklistSnoozeFactory
from tests.customers.factories import InteractionFactory
from tests.loyalty.factories import MemberFactory, TierFactory
from tests.surveys.factories import active_survey

from .worklist_helpers import book_customer, metrics_for

pytestmark = pytest.mark.django_db

BOOK = 72
SIGNALS = {
    "purchase_gap",
    "risk_rise",
    "complaint",
    "order_drop",
    "contact",
    "overdue_case",
    "plan_task",
    "detractor",
    "tier_loss",
}


def _varied_book(alice) -> dict[str, set[str]]:
    """A book of BOOK customers drawn apart (a fixed seed); returns what each was given."""
    rng = random.Random(20261206)
    now, today = timezone.now(), timezone.localdate()
    plan = ContactPlan.objects.create(name="Care", triggers_checked_at=now)
    survey = active_survey("nps")
    gold = TierFactory(name="Gold", threshold=500)
    given: dict[str, set[str]] = {}
    for i in range(BOOK):
        name = f"c{i:02d}"
        customer = book_customer(alice, name=name)
        facts: set[str] = set()
        if i % 11 != 5:  # a few have no metrics row at all
            scored = i % 7 != 3
            metrics_for(
                customer,
                # Distinct risks, so that no two rows tie by accident of float arithmetic.
                churn_risk=round(0.9 * (i * 37 % 97) / 100 + 0.001 * i, 4) if scored else None,
                previous=round(rng.uniform(0.0, 0.9), 3) if rng.random() < 0.5 else None,
                value=rng.choice(["high", "medium", "low", ""]),
                last_purchase=today - timedelta(days=rng.randint(1, 400)),
                interval=rng.choice([None, 20.0, 45.5, 90.0]),
                purchases=rng.randint(1, 9),
            )
        if rng.random() < 0.25:
            InteractionFactory(customer=customer, kind=Interaction.Kind.COMPLAINT, subject=f"Complaint {i}")
            facts.add("complaint")
        if rng.random() < 0.2:  # a resolved complaint counts for nothing
            InteractionFactory(
                customer=customer, kind=Interaction.Kind.COMPLAINT, subject=f"Solved {i}", resolved_at=now
            )
        case = rng.random()
        if case < 0.2:
            InteractionFactory(
                customer=customer,
                kind=Interaction.Kind.SUPPORT_TICKET,
                subject=f"Ticket {i}",
                occurred_at=now - timedelta(days=6),
                due_at=now - timedelta(days=rng.randint(1, 3)),
            )
            facts.add("overdue_case")
        elif case < 0.35:  # pending but not yet due
            InteractionFactory(
                customer=customer,
                kind=Interaction.Kind.SUPPORT_TICKET,
                subject=f"Fresh ticket {i}",
                due_at=now + timedelta(days=2),
            )
        task = rng.random()
        if task < 0.45:
            due = now + timedelta(hours=rng.choice([-60, -5, 20, 40, 200]))
            FollowUpFactory(customer=customer, assigned_to=alice, plan=plan, due_at=due)
            facts.add("plan_task")
        if rng.random() < 0.2:  # a follow-up by hand is not a plan's task
            FollowUpFactory(customer=customer, assigned_to=alice, due_at=now - timedelta(days=1))
        answer = rng.random()
        if answer < 0.4:
            detractor = rng.random() < 0.7
            days_ago = rng.choice([2, 30, 120])
            _response(survey, customer, score=3 if detractor else 9, days_ago=days_ago)
            if answer < 0.1:  # a later answer decides
                detractor = rng.random() < 0.5
                _response(survey, customer, score=2 if detractor else 10, days_ago=1)
                days_ago = 1
            if detractor and days_ago <= 90:
                facts.add("detractor")
        contact = rng.random()
        if contact < 0.3:
            days_ago = rng.choice([0, 3, 13, 20, 60])
            InteractionFactory(
                customer=customer,
                kind=rng.choice([Interaction.Kind.CALL, Interaction.Kind.MEETING]),
                author=alice,
                occurred_at=now - timedelta(days=days_ago, minutes=5),
            )
            if days_ago < 14:
                facts.add("contact")
        if rng.random() < 0.15:
            MemberFactory(customer=customer, tier=gold, tier_grace_until=today + timedelta(days=9))
            facts.add("tier_grace")
        if rng.random() < 0.08:
            WorklistSnoozeFactory(customer=customer, user=alice, until=today + timedelta(days=5))
            facts.add("snoozed")
        given[name] = facts
    return given


def _response(survey, customer, *, score: int, days_ago: int) -> Response:
    at = timezone.now() - timedelta(days=days_ago)
    return Response.objects.create(
        survey=survey,
        customer=customer,
        language="en",
        score=score,
        is_detractor=score <= 6,
        answered_on=timezone.localtime(at).date(),
        answered_at=at,
    )


def _clamp01(x: float) -> float:
    return min(max(x, 0.0), 1.0)


def _expected_priority(row) -> float:
    """The module docstring's formula, from the row's details (the columns its reasons read)."""
    now = timezone.now()
    value = worklist.VALUE_FACTORS.get(row.wl_value_level or "", 1.0)
    urgency = row.wl_churn_risk or 0.0
    days, interval = row.wl_purchase_gap_days, row.wl_purchase_gap_interval
    if row.wl_purchase_gap_risk is None and interval is not None and days is not None:
        urgency += 0.3 * _clamp01(days / max(interval, 1.0) - 1.0)
    if row.wl_risk_rise_now is not None and row.wl_risk_rise_before is not None:
        urgency += 0.5 * _clamp01((row.wl_risk_rise_now - row.wl_risk_rise_before) / worklist.RISK_RISE_FULL)
    if row.wl_complaint_since is not None:
        urgency += 0.5
    if row.wl_overdue_case_due is not None:
        urgency += 0.4
    if row.wl_plan_task_due is not None:
        urgency += 0.6 if row.wl_plan_task_due < now else 0.3 if row.wl_plan_task_due < now + timedelta(days=2) else 0
    if row.wl_detractor_is:
        urgency += 0.5
    if row.wl_tier_loss_until and row.wl_tier_loss_tier and row.wl_tier_loss_value in ("high", "medium"):
        urgency += 0.3
    factor = 0.5 if row.wl_contact_at is not None and row.wl_contact_at >= now - timedelta(days=14) else 1.0
    return value * urgency * factor


def _ranked_page_rows(alice, **filters):
    shown = worklist.worklist_rows_queryset(viewer=alice, manager=alice)
    customers = worklist.worklist_queryset(viewer=alice, manager=alice, filters=WorklistFilters(**filters), rows=shown)
    priorities = dict(customers.values_list("pk", "wl_priority"))
    return worklist.rows_with_reasons(worklist.worklist_page_rows(shown, priorities, priorities))


def test_the_ranking_is_the_formula_of_what_each_row_shows_on_a_varied_book(alice, settings):
    settings.WORKLIST_RECENT_CONTACT_DAYS = 14
    assert {signal.key for signal in worklist_signals.signals()} == SIGNALS  # a new signal: add it above
    given = _varied_book(alice)

    rows = _ranked_page_rows(alice)

    shown = [row.name for row in rows]
    assert sorted(shown) == sorted(name for name, facts in given.items() if "snoozed" not in facts)
    for row in rows:
        assert row.wl_priority == pytest.approx(_expected_priority(row), abs=1e-9), row.name
    far_past = timezone.localdate() - timedelta(days=100000)

    def key(row):
        return (-round(_expected_priority(row), 9), row.last_purchase_on or far_past, row.pk)

    # Ties on the priority: the older last purchase first, none last, then the id.
    expected = sorted(rows, key=lambda r: (key(r)[0], r.last_purchase_on is None, key(r)[1], r.pk))
    assert shown == [row.name for row in expected]


def test_each_row_says_why_for_exactly_what_it_was_given_on_a_varied_book(alice, settings):
    settings.WORKLIST_RECENT_CONTACT_DAYS = 14
    given = _varied_book(alice)
    starts = {
        "complaint": ("Open complaint since",),
        "overdue_case": ("Support ticket overdue since",),
        "plan_task": ("Overdue task of the plan “Care”", "Task of the plan “Care”"),
        "detractor": ("Detractor answer:",),
        "contact": ("Called ", "Met "),
        "tier_grace": ("Loses the Gold tier",),
    }

    rows = {row.name: row for row in _ranked_page_rows(alice, include_snoozed=True)}

    for name, facts in given.items():
        reasons = rows[name].reasons
        for fact, prefixes in starts.items():
            said = any(reason.startswith(prefixes) for reason in reasons)
            valuable = rows[name].wl_value_level in ("high", "medium")
            assert said == (fact in facts and (fact != "tier_grace" or valuable)), (name, fact, reasons)


def test_only_with_reasons_keeps_exactly_the_rows_that_say_why_on_a_varied_book(alice, settings):
    settings.WORKLIST_RECENT_CONTACT_DAYS = 14
    _varied_book(alice)

    every = _ranked_page_rows(alice)
    with_reasons = _ranked_page_rows(alice, with_reasons=True)

    assert [row.name for row in with_reasons] == [row.name for row in every if row.reasons]
    assert 0 < len(with_reasons) < len(every)
