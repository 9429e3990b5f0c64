"""The worklist selector: ranking, reasons, next follow-up, snoozes, filters, one query per page.

Metrics rows are built by hand (tests/contact_plans/worklist_helpers.py), so every figure the
ranking reads is known.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from contact_plans import services as contact_services
from contact_plans import worklist
from contact_plans.worklist import WorklistFilters
from customers.models import Interaction
from metrics import selectors
from retention_crm import formats
from tests.customers.factories import InteractionFactory, OrderFactory, order_add_line

from .worklist_helpers import book_customer, metrics_for

pytestmark = pytest.mark.django_db


def names(queryset) -> list[str]:
    return [row.name for row in queryset]


def alices_list(alice, **filters):
    return worklist.worklist_queryset(viewer=alice, manager=alice, filters=WorklistFilters(**filters))


def row_of(alice, customer, **filters):
    rows = worklist.rows_with_reasons(alices_list(alice, include_snoozed=True, **filters).filter(pk=customer.pk))
    return rows[0]


# --- Ranking ------------------------------------------------------------------------------------


def test_high_value_and_high_risk_come_first(alice):
    # priority = V x churn risk here (no other signal): 3 x 0.8 = 2.4, 2 x 0.5 = 1.0, 1 x 0.8 = 0.8,
    # 3 x 0.1 = 0.3.
    for name, value, risk in [
        ("safe VIP", "high", 0.1),
        ("risky small", "low", 0.8),
        ("risky VIP", "high", 0.8),
        ("middling", "medium", 0.5),
    ]:
        metrics_for(book_customer(alice, name=name), value=value, churn_risk=risk)

    assert names(alices_list(alice)) == ["risky VIP", "middling", "risky small", "safe VIP"]


def test_rising_risk_beats_flat_risk_at_the_same_level(alice):
    # Both at 60%, medium value: flat 2 x 0.6 = 1.2; rising from 30% adds 0.5 x min(0.3 / 0.3, 1):
    # 2 x (0.6 + 0.5) = 2.2.
    metrics_for(book_customer(alice, name="flat"), value="medium", churn_risk=0.6, previous=0.6)
    metrics_for(book_customer(alice, name="rising"), value="medium", churn_risk=0.6, previous=0.3)

    rows = list(alices_list(alice))

    assert [r.name for r in rows] == ["rising", "flat"]
    assert rows[0].wl_priority == pytest.approx(2.2)
    assert rows[1].wl_priority == pytest.approx(1.2)


def test_open_complaint_raises_the_priority_and_the_gap_ranks_only_unscored_customers(alice):
    today = timezone.localdate()
    quiet = book_customer(alice, name="quiet")
    metrics_for(quiet, value="low", churn_risk=0.5, last_purchase=today - timedelta(days=10), interval=30.0)
    complaining = book_customer(alice, name="complaining")
    metrics_for(complaining, value="low", churn_risk=0.5, last_purchase=today - timedelta(days=10), interval=30.0)
    InteractionFactory(customer=complaining, kind=Interaction.Kind.COMPLAINT, subject="Broken oven")
    late = book_customer(alice, name="late")
    metrics_for(late, value="low", churn_risk=0.5, last_purchase=today - timedelta(days=45), interval=30.0)
    unscored = book_customer(alice, name="unscored")
    metrics_for(unscored, value="low", churn_risk=None, last_purchase=today - timedelta(days=45), interval=30.0)

    rows = {row.name: row.wl_priority for row in alices_list(alice)}

    # 0.5 + 0.5 complaint; 0.5 for the late one too (its churn risk already reads the gap); no
    # churn risk: 0.3 x (45 / 30 - 1) = 0.15; 0.5 (10 days is within the usual 30).
    assert rows == {
        "complaining": pytest.approx(1.0),
        "late": pytest.approx(0.5),
        "quiet": pytest.approx(0.5),
        "unscored": pytest.approx(0.15),
    }


def test_a_one_time_buyer_at_high_risk_ranks_above_late_repeat_buyers_at_lower_risk(alice):
    # The demo's case (issue 13): a 79% one-time buyer came after 50% repeat buyers who were late,
    # the gap being counted on top of a churn risk that already reads it, for repeat buyers only.
    today = timezone.localdate()
    once = book_customer(alice, name="once")
    metrics_for(once, value="high", churn_risk=0.79, purchases=1, last_purchase=today - timedelta(days=325))
    for name in ("late 1", "late 2"):
        metrics_for(
            book_customer(alice, name=name),
            value="high",
            churn_risk=0.5,
            purchases=5,
            last_purchase=today - timedelta(days=200),
            interval=60.0,
        )

    rows = worklist.rows_with_reasons(alices_list(alice))

    assert [row.name for row in rows][0] == "once"
    assert rows[0].reasons == ["Only one purchase so far, 325 days ago."]


def test_every_row_at_medium_or_high_risk_says_why_as_the_customer_card_does(alice):
    today = timezone.localdate()
    cases = {
        "once": {"purchases": 1, "last_purchase": today - timedelta(days=325), "interval": None},
        "late but not twice": {"purchases": 4, "last_purchase": today - timedelta(days=176), "interval": 89.0},
        "recent": {"purchases": 3, "last_purchase": today - timedelta(days=43), "interval": 133.0},
    }
    for name, fields in cases.items():
        metrics_for(book_customer(alice, name=name), churn_risk=0.56, **fields)

    rows = worklist.rows_with_reasons(alices_list(alice))

    for row in rows:
        card = selectors.risk_explanation(metrics=row.metrics)
        assert row.reasons, row.name
        assert row.reasons[0] == card[0]
    assert {row.name: row.reasons for row in rows} == {
        "once": ["Only one purchase so far, 325 days ago."],
        "late but not twice": ["No purchase for 176 days; usually buys every 89 days."],
        "recent": ["Last purchase 43 days ago; usually buys every 133 days."],
    }


def test_only_the_managers_active_customers_are_listed(alice, bob):
    book_customer(alice, name="mine")
    book_customer(bob, name="bob's")
    archived = book_customer(alice, name="archived")
    archived.archived_at = timezone.now()
    archived.save()

    assert names(alices_list(alice)) == ["mine"]


# --- Reasons ------------------------------------------------------------------------------------


def test_reason_for_a_long_purchase_gap(alice):
    customer = book_customer(alice)
    metrics_for(customer, last_purchase=timezone.localdate() - timedelta(days=142), interval=30.4)

    assert row_of(alice, customer).reasons == ["No purchase for 142 days; usually buys every 30 days."]


def test_no_gap_reason_below_twice_the_usual_interval(alice):
    customer = book_customer(alice)
    metrics_for(customer, last_purchase=timezone.localdate() - timedelta(days=59), interval=30.0)

    assert row_of(alice, customer).reasons == []


def test_reason_for_a_rising_risk(alice):
    customer = book_customer(alice)
    metrics_for(customer, churn_risk=0.72, previous=0.35)

    assert row_of(alice, customer).reasons == [
        "Churn risk rose from 35% to 72% since the last recompute.",
        "Last purchase 10 days ago.",
    ]


def test_reason_for_an_open_complaint_names_the_oldest_one(alice):
    customer = book_customer(alice)
    metrics_for(customer)
    since = timezone.now() - timedelta(days=3)
    # Not yet due (an overdue case adds a reason of its own: customers.case_signals).
    InteractionFactory(
        customer=customer,
        kind=Interaction.Kind.COMPLAINT,
        subject="Late delivery",
        occurred_at=since,
        due_at=timezone.now() + timedelta(days=1),
    )
    InteractionFactory(customer=customer, kind=Interaction.Kind.COMPLAINT, subject="Wrong invoice")
    InteractionFactory(
        customer=customer,
        kind=Interaction.Kind.COMPLAINT,
        subject="Old and solved",
        occurred_at=since - timedelta(days=9),
        resolved_at=timezone.now(),
    )

    day = timezone.localtime(since).date()
    when = formats.format_date(day, with_year=day.year != timezone.localdate().year)  # "3 Dec" this year
    assert row_of(alice, customer).reasons == [f"Open complaint since {when}: Late delivery"]


def test_reason_for_a_falling_order_value(alice):
    customer = book_customer(alice)
    metrics_for(customer, purchases=4)
    for days_ago, amount in [(90, "100"), (60, "100"), (30, "100"), (2, "60")]:
        order = OrderFactory(customer=customer, ordered_at=timezone.now() - timedelta(days=days_ago))
        order_add_line(order, unit_price=amount)

    # Average of the four purchases (100 + 100 + 100 + 60) / 4 = 90; 60 is 1 - 60/90 = 33% below.
    assert row_of(alice, customer).reasons == ["Last order 33% below their average."]
    # Issue 13: the percentage in the reader's language, as every other figure (Catalan: "33 %").
    with translation.override("ca"):
        assert row_of(alice, customer).reasons == ["L'última comanda és un 33\xa0% inferior a la seva mitjana."]


def test_reasons_are_listed_heaviest_signal_first(alice):
    customer = book_customer(alice)
    metrics_for(
        customer, churn_risk=0.9, previous=0.4, last_purchase=timezone.localdate() - timedelta(days=100), interval=20.0
    )
    InteractionFactory(customer=customer, kind=Interaction.Kind.COMPLAINT, subject="Rude driver")

    reasons = row_of(alice, customer).reasons

    assert reasons[0].startswith("Open complaint since")
    assert reasons[1:] == [
        "Churn risk rose from 40% to 90% since the last recompute.",
        "No purchase for 100 days; usually buys every 20 days.",
    ]


def test_only_with_reasons_filter_matches_the_reasons_shown(alice):
    metrics_for(book_customer(alice, name="calm"), churn_risk=0.3, previous=0.29)
    metrics_for(book_customer(alice, name="rising"), churn_risk=0.3, previous=0.2)
    late = book_customer(alice, name="late")
    metrics_for(late, last_purchase=timezone.localdate() - timedelta(days=80), interval=40.0)

    rows = worklist.rows_with_reasons(alices_list(alice, with_reasons=True))

    assert sorted(r.name for r in rows) == ["late", "rising"]
    assert all(r.reasons for r in rows)


# --- Next contact, snoozes, filters -------------------------------------------------------------


def test_next_planned_contact_is_the_earliest_open_followup(alice):
    customer = book_customer(alice)
    metrics_for(customer)
    now = timezone.now()
    later = contact_services.followup_schedule(customer=customer, assigned_to=alice, due_at=now + timedelta(days=9))
    sooner = contact_services.followup_schedule(customer=customer, assigned_to=alice, due_at=now + timedelta(days=2))
    done = contact_services.followup_schedule(customer=customer, assigned_to=alice, due_at=now + timedelta(days=1))
    contact_services.followup_complete(followup=done)

    assert row_of(alice, customer).wl_next_followup == sooner.due_at
    assert later.due_at > sooner.due_at


def test_a_snoozed_customer_is_hidden_until_the_date(alice):
    customer = book_customer(alice, name="snoozed")
    metrics_for(customer)
    until = timezone.localdate() + timedelta(days=7)
    contact_services.worklist_snooze(customer=customer, user=alice, until=until, reason="On holiday")

    hidden = names(alices_list(alice))
    shown = list(alices_list(alice, include_snoozed=True))
    on_the_day = worklist.worklist_queryset(viewer=alice, manager=alice, today=until)

    assert hidden == []
    assert [(r.name, r.wl_snoozed_until, r.wl_snooze_reason) for r in shown] == [("snoozed", until, "On holiday")]
    assert names(on_the_day) == ["snoozed"]


def test_a_snooze_hides_only_from_the_worklist_it_was_made_for(alice, bob):
    customer = book_customer(alice, name="shared")
    contact_services.worklist_snooze(
        customer=customer, user=bob, until=timezone.localdate() + timedelta(days=3), reason="x"
    )

    assert names(alices_list(alice)) == ["shared"]


def test_risk_and_value_filters(alice):
    metrics_for(book_customer(alice, name="high-high"), value="high", churn_risk=0.8)
    metrics_for(book_customer(alice, name="high-low"), value="high", churn_risk=0.1)
    metrics_for(book_customer(alice, name="low-high"), value="low", churn_risk=0.9)

    assert names(alices_list(alice, risk_level="high")) == ["high-high", "low-high"]
    assert names(alices_list(alice, value_level="high")) == ["high-high", "high-low"]


# --- Without metrics ----------------------------------------------------------------------------


def test_without_metrics_the_book_is_ordered_by_last_purchase_longest_ago_first(alice):
    never = book_customer(alice, name="never bought")
    recent = book_customer(alice, name="recent")
    old = book_customer(alice, name="old")
    for customer, days_ago in [(recent, 3), (old, 200)]:
        order_add_line(OrderFactory(customer=customer, ordered_at=timezone.now() - timedelta(days=days_ago)))

    rows = worklist.rows_with_reasons(worklist.worklist_queryset(viewer=alice, manager=alice, ranked=False))

    assert [r.name for r in rows] == ["old", "recent", "never bought"]
    assert rows[0].last_purchase_on == timezone.localdate() - timedelta(days=200)
    assert never.pk == rows[2].pk and rows[2].last_purchase_on is None
    assert not worklist.metrics_exist()


# --- Cost ---------------------------------------------------------------------------------------


def test_one_query_for_a_page_with_reasons_followups_and_complaints(alice, django_assert_num_queries):
    today = timezone.localdate()
    for i in range(60):
        customer = book_customer(alice, name=f"c{i:02d}")
        metrics_for(
            customer, churn_risk=0.5 + i / 200, previous=0.3, last_purchase=today - timedelta(days=90), interval=20.0
        )
        InteractionFactory(customer=customer, kind=Interaction.Kind.COMPLAINT, subject=f"Complaint {i}")
        contact_services.followup_schedule(
            customer=customer, assigned_to=alice, due_at=timezone.now() + timedelta(days=i + 1)
        )
        order_add_line(OrderFactory(customer=customer), unit_price=Decimal("10"))
    queryset = alices_list(alice)

    with django_assert_num_queries(1):
        rows = worklist.rows_with_reasons(queryset[: worklist.PAGE_SIZE])

    assert len(rows) == worklist.PAGE_SIZE
    assert rows[0].name == "c59" and len(rows[0].reasons) == 3 and rows[0].wl_next_followup is not None


# --- Whose worklist -----------------------------------------------------------------------------


def test_whose_worklist_each_persona_gets(alice, bob, charlie, marta, ada):
    assert worklist.worklist_manager(viewer=alice) == alice
    assert worklist.worklist_manager(viewer=ada) is None
    assert worklist.worklist_manager(viewer=ada, manager_id=bob.pk) == bob
    for viewer, manager_id in [(alice, bob.pk), (charlie, None), (marta, None), (ada, charlie.pk)]:
        with pytest.raises(worklist.WorklistNotAllowed):
            worklist.worklist_manager(viewer=viewer, manager_id=manager_id)
