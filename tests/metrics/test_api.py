"""The metrics API: who sees what (the persona trio and friends), validation and the answer's shape."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from customers.models import AccountAssignment
from metrics.models import CustomerMetrics, RecomputeRun
from metrics.services import metrics_recompute
from tests.conftest import api_client_for
from tests.customers.factories import CustomerFactory

from .conftest import at_noon, order_on

pytestmark = pytest.mark.django_db

AS_OF = date(2024, 6, 30)


@pytest.fixture
def books(alice, bob):
    """Alice's customer (GB) with three purchases, Bob's (FR) with one; metrics computed."""
    mine = CustomerFactory(account_manager=alice, country="GB")
    theirs = CustomerFactory(account_manager=bob, country="FR")
    for customer, manager in ((mine, alice), (theirs, bob)):
        AccountAssignment.objects.create(customer=customer, manager=manager, started_at=at_noon("2023-01-01"))
    for day in ("2024-01-05", "2024-03-05", "2024-06-05"):
        order_on(mine, day, "40.00")
    order_on(theirs, "2024-02-10", "90.00")
    metrics_recompute(as_of=AS_OF)
    return {"mine": mine, "theirs": theirs}


def test_account_manager_lists_only_their_own_book(books, alice):
    response = api_client_for(alice).get("/api/v1/metrics/customers/")

    assert response.status_code == 200
    assert [row["customer_id"] for row in response.data["results"]] == [books["mine"].pk]


def test_account_manager_gets_404_for_a_colleagues_customer(books, alice):
    response = api_client_for(alice).get(f"/api/v1/metrics/customers/{books['theirs'].pk}/")

    assert response.status_code == 404
    assert response.data["error"]["code"] == "not_found"


def test_owner_reads_a_customer_with_the_reasons_behind_the_risk(books, alice):
    response = api_client_for(alice).get(f"/api/v1/metrics/customers/{books['mine'].pk}/")

    assert response.status_code == 200
    body = response.data
    assert (body["purchases"], body["net_revenue"], body["first_purchase"]) == (3, "120.00", "2024-01-05")
    assert body["rfm_segment"] in {"champions", "loyal", "potential_loyalists", "need_attention"}
    assert any("usually buys every" in reason for reason in body["risk_reasons"])


def test_marketer_and_administrator_see_every_customer(books, marta, ada):
    for user in (marta, ada):
        response = api_client_for(user).get("/api/v1/metrics/customers/")
        assert {row["customer_id"] for row in response.data["results"]} == {books["mine"].pk, books["theirs"].pk}


def test_user_without_a_role_is_refused_everywhere(books, charlie):
    client = api_client_for(charlie)

    for path in ("summary/", "timeseries/", "cohorts/", "customers/", f"customers/{books['mine'].pk}/", "models/"):
        assert client.get(f"/api/v1/metrics/{path}").status_code == 403, path


def test_anonymous_is_refused(books, api_client):
    assert api_client.get("/api/v1/metrics/summary/").status_code in (401, 403)


def test_customer_list_filters(books, marta):
    client = api_client_for(marta)

    segment = CustomerMetrics.objects.get(customer=books["mine"]).rfm_segment
    same_segment = client.get("/api/v1/metrics/customers/", {"rfm_segment": segment}).data["results"]
    not_top = client.get("/api/v1/metrics/customers/", {"pareto_top": "false"}).data["results"]
    in_fr = client.get("/api/v1/metrics/customers/", {"country": "FR"}).data["results"]
    bad = client.get("/api/v1/metrics/customers/", {"risk_level": "extreme"})

    assert [row["customer_id"] for row in same_segment] == [books["mine"].pk]
    assert not_top == []  # 120 of the trailing 210 is short of 80%: both customers make the top tier
    assert [row["customer_id"] for row in in_fr] == [books["theirs"].pk]
    assert bad.status_code == 400


def test_summary_of_the_workspace_for_a_marketer(books, marta):
    response = api_client_for(marta).get("/api/v1/metrics/summary/")

    assert response.status_code == 200
    assert (response.data["kind"], response.data["scope"], response.data["as_of"]) == ("summary", "", "2024-06-30")
    assert response.data["data"]["period"] == {"start": "2024-05-01", "end": "2024-06-01"}


def test_account_manager_gets_their_book_by_default_and_no_other_scope(books, alice, bob):
    client = api_client_for(alice)

    own = client.get("/api/v1/metrics/timeseries/")

    assert own.status_code == 200 and own.data["scope"] == f"manager:{alice.pk}"
    assert client.get("/api/v1/metrics/summary/", {"scope": ""}).status_code == 404
    assert client.get("/api/v1/metrics/summary/", {"scope": f"manager:{bob.pk}"}).status_code == 404
    assert client.get("/api/v1/metrics/cohorts/", {"scope": "country:GB"}).status_code == 404


def test_snapshot_as_of_picks_the_newest_not_after_the_date(books, marta):
    metrics_recompute(as_of=date(2024, 3, 31))
    client = api_client_for(marta)

    assert client.get("/api/v1/metrics/cohorts/").data["as_of"] == "2024-06-30"
    assert client.get("/api/v1/metrics/cohorts/", {"as_of": "2024-05-01"}).data["as_of"] == "2024-03-31"
    assert client.get("/api/v1/metrics/cohorts/", {"as_of": "2020-01-01"}).status_code == 404


def test_snapshot_of_an_unknown_country_is_404(books, marta):
    response = api_client_for(marta).get("/api/v1/metrics/summary/", {"scope": "country:Atlantis"})

    assert response.status_code == 404


def test_model_versions_list_the_back_test(books, alice):
    response = api_client_for(alice).get("/api/v1/metrics/models/")

    assert response.status_code == 200
    assert set(response.data["results"][0]) >= {"bgnbd_r", "backtest_auc", "backtest_baseline_auc", "is_current"}


def test_marketer_starts_a_recompute_and_follows_it(books, marta, django_capture_on_commit_callbacks):
    client = api_client_for(marta)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/metrics/recompute/", {"as_of": "2024-06-30"})

    assert response.status_code == 202
    run_id = response.data["id"]
    followed = client.get(f"/api/v1/metrics/recompute/{run_id}/")
    assert followed.status_code == 200
    # Tests run tasks eagerly, so the run has finished by now.
    assert (followed.data["status"], followed.data["progress_percent"]) == ("succeeded", 100)
    assert RecomputeRun.objects.get(pk=run_id).created_by == marta


def test_account_manager_cannot_start_or_follow_a_recompute(books, alice, ada):
    run = RecomputeRun.objects.first()

    assert api_client_for(alice).post("/api/v1/metrics/recompute/", {}).status_code == 403
    assert api_client_for(alice).get(f"/api/v1/metrics/recompute/{run.pk}/").status_code == 403
    assert api_client_for(ada).get(f"/api/v1/metrics/recompute/{run.pk}/").status_code == 200


def test_recompute_refuses_a_future_date_and_unknown_fields(db, ada):
    client = api_client_for(ada)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()

    future = client.post("/api/v1/metrics/recompute/", {"as_of": tomorrow})
    unknown = client.post("/api/v1/metrics/recompute/", {"asof": "2024-01-01"})

    assert future.status_code == 400 and "as_of" in future.data["error"]["fields"]
    assert unknown.status_code == 400 and "asof" in unknown.data["error"]["fields"]
    assert not RecomputeRun.objects.exists()


def test_recompute_refuses_a_date_before_1970_before_queueing(db, ada):
    response = api_client_for(ada).post("/api/v1/metrics/recompute/", {"as_of": "0001-01-01"})

    assert response.status_code == 400
    assert "1970-01-01" in str(response.data["error"]["fields"]["as_of"])
    assert not RecomputeRun.objects.exists()


def test_following_an_unknown_recompute_is_404(db, ada):
    assert api_client_for(ada).get("/api/v1/metrics/recompute/999/").status_code == 404


def test_no_snapshot_yet_is_a_404_with_a_message(db, marta):
    response = api_client_for(marta).get("/api/v1/metrics/summary/")

    assert response.status_code == 404
    assert "recompute" in response.data["error"]["message"]
