"""The worklist remembers what the account manager did: each row's last call or meeting (when,
what, by whom, how it went), and a recent one lowers the row's urgency for a while, saying so."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from contact_plans import worklist
from contact_plans.worklist import WorklistFilters
from customers import services as customer_services
from customers.models import Interaction
from retention_crm.formats import format_date
from tests.customers.factories import InteractionFactory

from .worklist_helpers import book_customer, metrics_for

pytestmark = pytest.mark.django_db


def ranked(alice, **filters):
    return worklist.rows_with_reasons(
        worklist.worklist_queryset(viewer=alice, manager=alice, filters=WorklistFilters(**filters))
    )


def _until(days_ago: int, window: int = 14) -> str:
    day = timezone.localdate() - timedelta(days=days_ago) + timedelta(days=window)
    return format_date(day)


def test_a_call_logged_today_halves_the_priority_and_says_until_when(alice):
    called = book_customer(alice, name="called")
    metrics_for(called, value="high", churn_risk=0.8)
    other = book_customer(alice, name="other")
    metrics_for(other, value="high", churn_risk=0.6)

    customer_services.interaction_log(
        customer=called, kind="call", subject="Checked in", author=alice, outcome=Interaction.Outcome.REACHED
    )
    rows = {row.name: row for row in ranked(alice)}

    # 3 x 0.8 x 0.5 = 1.2 against 3 x 0.6 = 1.8: the customer nobody called comes first.
    assert [row.name for row in ranked(alice)] == ["other", "called"]
    assert rows["called"].wl_priority == pytest.approx(1.2)
    assert rows["called"].reasons[-1] == f"Called today by Alice: lower priority until {_until(0)}."


def test_a_meeting_some_days_ago_is_said_with_its_days(alice):
    customer = book_customer(alice, name="met")
    metrics_for(customer, churn_risk=0.2)
    InteractionFactory(
        customer=customer, kind=Interaction.Kind.MEETING, author=alice, occurred_at=timezone.now() - timedelta(days=3)
    )

    (row,) = ranked(alice)

    assert row.reasons == [f"Met 3 days ago by Alice: lower priority until {_until(3)}."]


def test_an_old_contact_or_an_email_lowers_nothing(alice):
    old = book_customer(alice, name="old")
    metrics_for(old, churn_risk=0.2)
    InteractionFactory(customer=old, kind=Interaction.Kind.CALL, occurred_at=timezone.now() - timedelta(days=15))
    mailed = book_customer(alice, name="mailed")
    metrics_for(mailed, churn_risk=0.2)
    InteractionFactory(customer=mailed, kind=Interaction.Kind.EMAIL)

    rows = {row.name: row for row in ranked(alice)}

    assert rows["old"].wl_priority == pytest.approx(0.2) and rows["old"].reasons == []
    assert rows["mailed"].wl_priority == pytest.approx(0.2) and rows["mailed"].wl_contact_at is None
    assert rows["old"].wl_contact_kind == "call"


@override_settings(WORKLIST_RECENT_CONTACT_DAYS=30)
def test_the_window_is_a_setting(alice):
    customer = book_customer(alice, name="c")
    metrics_for(customer, churn_risk=0.4)
    InteractionFactory(customer=customer, kind=Interaction.Kind.CALL, occurred_at=timezone.now() - timedelta(days=20))

    (row,) = ranked(alice)

    assert row.wl_priority == pytest.approx(0.2)
    assert row.reasons[-1].endswith(f"lower priority until {_until(20, 30)}.")


@override_settings(WORKLIST_RECENT_CONTACT_DAYS=0)
def test_a_window_of_zero_days_turns_it_off(alice):
    customer = book_customer(alice, name="c")
    metrics_for(customer, churn_risk=0.3)
    InteractionFactory(customer=customer, kind=Interaction.Kind.CALL)

    (row,) = ranked(alice)

    assert row.wl_priority == pytest.approx(0.3) and row.reasons == []


def test_the_last_contact_is_the_newest_call_or_meeting_with_its_author_and_outcome(alice, bob):
    customer = book_customer(alice, name="c")
    metrics_for(customer, churn_risk=0.2)
    InteractionFactory(customer=customer, kind=Interaction.Kind.MEETING, occurred_at=timezone.now() - timedelta(days=9))
    InteractionFactory(
        customer=customer,
        kind=Interaction.Kind.CALL,
        author=bob,
        outcome=Interaction.Outcome.NO_ANSWER,
        occurred_at=timezone.now() - timedelta(days=2),
    )
    InteractionFactory(customer=customer, kind=Interaction.Kind.NOTE, occurred_at=timezone.now())

    (row,) = ranked(alice)

    assert (row.wl_contact_kind, row.wl_contact_by, row.wl_contact_outcome) == ("call", "Bob", "no_answer")


def test_the_only_with_reasons_filter_includes_recently_called_rows(alice):
    customer = book_customer(alice, name="called")
    metrics_for(customer, churn_risk=0.2)
    InteractionFactory(customer=customer, kind=Interaction.Kind.CALL, author=alice)
    metrics_for(book_customer(alice, name="calm"), churn_risk=0.2)

    assert [row.name for row in ranked(alice, with_reasons=True)] == ["called"]


def test_last_contacts_of_a_page_cost_no_query_per_row(alice, django_assert_num_queries):
    for i in range(60):
        customer = book_customer(alice, name=f"c{i:02d}")
        metrics_for(customer, churn_risk=0.5)
        InteractionFactory(customer=customer, kind=Interaction.Kind.CALL, author=alice)
    queryset = worklist.worklist_queryset(viewer=alice, manager=alice)

    with django_assert_num_queries(1):
        rows = worklist.rows_with_reasons(queryset[: worklist.PAGE_SIZE])

    assert len(rows) == worklist.PAGE_SIZE and all(row.wl_contact_by == "Alice" for row in rows)
