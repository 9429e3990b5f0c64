"""The reads the dashboards rely on: scopes per persona, live segment aggregates, risk reasons."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from metrics import selectors
from metrics.models import CustomerMetrics, MetricSnapshot
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _metrics(customer, **fields) -> CustomerMetrics:
    values = {"as_of": timezone.localdate(), "purchases": 1, "net_revenue": Decimal("10.00")}
    values.update(fields)
    return CustomerMetrics.objects.create(customer=customer, **values)


@pytest.fixture
def rows(alice, bob):
    today = timezone.localdate()
    return {
        "a1": _metrics(
            CustomerFactory(account_manager=alice, country="GB"),
            rfm_segment="at_risk",
            churn_risk=0.8,
            risk_level="high",
            value_level="high",
            predicted_clv=Decimal("300.00"),
            net_revenue=Decimal("500.00"),
            last_purchase=today - timedelta(days=142),
            purchases=5,
            usual_interval_days=30.2,
            previous_churn_risk=0.35,
        ),
        "a2": _metrics(
            CustomerFactory(account_manager=alice, country="FR"),
            rfm_segment="champions",
            churn_risk=0.2,
            risk_level="low",
            predicted_clv=Decimal("100.00"),
        ),
        "b1": _metrics(
            CustomerFactory(account_manager=bob, country="GB"),
            rfm_segment="at_risk",
            churn_risk=0.6,
            risk_level="medium",
            predicted_clv=Decimal("50.00"),
        ),
    }


def test_marketer_may_filter_by_every_country_and_book(rows, marta, alice, bob):
    scopes = selectors.dashboard_scopes(user=marta)

    assert scopes["countries"] == ["FR", "GB"]
    assert [m["id"] for m in scopes["managers"]] == [alice.pk, bob.pk]
    assert scopes["scopes"][0][0] == "" and ("country:GB", "GB") in scopes["scopes"]


def test_account_manager_may_filter_by_their_own_book_only(rows, alice, bob):
    scopes = selectors.dashboard_scopes(user=alice)

    assert scopes["countries"] == [] and [m["id"] for m in scopes["managers"]] == [alice.pk]
    assert [key for key, _label in scopes["scopes"]] == [f"manager:{alice.pk}"]
    assert selectors.scope_allowed(user=alice, scope=f"manager:{alice.pk}")
    assert not selectors.scope_allowed(user=alice, scope=f"manager:{bob.pk}")
    assert not selectors.scope_allowed(user=alice, scope="")


@override_settings(ACCOUNT_MANAGERS_SEE_ALL_BOOKS=True)
def test_account_manager_sees_every_book_when_the_setting_allows(rows, alice, bob):
    scopes = selectors.dashboard_scopes(user=alice)

    assert [m["id"] for m in scopes["managers"]] == [alice.pk, bob.pk]
    assert selectors.scope_allowed(user=alice, scope="country:GB")


def test_user_without_a_role_has_no_scope(rows, charlie):
    assert selectors.dashboard_scopes(user=charlie) == {"countries": [], "managers": [], "scopes": []}
    assert not selectors.scope_allowed(user=charlie, scope="")


def test_segment_summary_aggregates_the_visible_customers_of_the_segment(rows, marta, alice):
    everyone = selectors.segment_metrics_summary(user=marta, rfm_segment="at_risk")
    own_book = selectors.segment_metrics_summary(user=alice, rfm_segment="at_risk")
    in_gb = selectors.segment_metrics_summary(user=marta, country="GB", risk_level="high")

    assert (everyone["customers"], everyone["total_clv"], everyone["avg_clv"]) == (2, 350.0, 175.0)
    assert everyone["avg_churn_risk"] == pytest.approx(0.7)
    assert (own_book["customers"], own_book["total_clv"], own_book["at_high_risk"]) == (1, 300.0, 1)
    assert in_gb["customers"] == 1


def test_segment_summary_of_nothing_has_zero_sums_and_no_averages(rows, charlie):
    figures = selectors.segment_metrics_summary(user=charlie)

    assert (figures["customers"], figures["total_clv"], figures["avg_clv"], figures["avg_churn_risk"]) == (
        0,
        0.0,
        None,
        None,
    )


def test_risk_explanation_says_how_overdue_and_how_the_risk_moved(rows):
    reasons = selectors.risk_explanation(metrics=rows["a1"])

    assert reasons == [
        "No purchase for 142 days; usually buys every 30 days.",
        "Churn risk rose from 35% to 80% since the last recompute.",
    ]


def test_risk_explanation_of_a_one_time_buyer_and_of_no_buyer(db):
    one = _metrics(CustomerFactory(), last_purchase=timezone.localdate() - timedelta(days=200))
    none = _metrics(CustomerFactory(), purchases=0)

    assert selectors.risk_explanation(metrics=one)[0] == "Only one purchase so far, 200 days ago."
    assert selectors.risk_explanation(metrics=none) == ["No purchase yet."]


def test_snapshot_latest_picks_the_newest(db):
    today = timezone.localdate()
    for days in (3, 1, 2):
        MetricSnapshot.objects.create(as_of=today - timedelta(days=days), kind="rfm", scope="", data={"n": days})

    assert selectors.snapshot_latest(kind="rfm").data == {"n": 1}
    assert selectors.snapshot_latest(kind="rfm", as_of=today - timedelta(days=2)).data == {"n": 2}
    assert selectors.snapshot_latest(kind="rfm", scope="country:GB") is None


def test_segment_summary_is_kept_until_the_next_recompute_and_warmed_for_every_scope(rows, marta, alice):
    from metrics.models import RecomputeRun

    first = selectors.segment_metrics_summary_cached(user=marta)
    _metrics(CustomerFactory(account_manager=alice, country="GB"))
    kept = selectors.segment_metrics_summary_cached(user=marta)
    RecomputeRun.objects.create(as_of=timezone.localdate(), status=RecomputeRun.Status.SUCCEEDED)
    views = selectors.segment_summaries_warm()

    assert kept == first
    assert selectors.segment_metrics_summary_cached(user=marta)["customers"] == first["customers"] + 1
    # The workspace, its two countries, two books, and each account manager's own view.
    assert views == 1 + 2 + 2 + 2
