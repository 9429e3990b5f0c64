"""The dashboard tells the truth (issue 13): the value x risk cells link to their customers within the
visibility rule, the cell to protect first is the most prominent, the cohorts' running month is
marked as such, the CLV chart names the CLV it counts, and model health warns of a degenerate fit
and says what the back-test means.

Personas: Alice and Bob are account managers (each sees their own book), Charlie has no role,
Marta is a marketer (sees every customer).
"""

import pytest
from django.urls import reverse

from metrics import charts
from metrics.models import ModelVersion
from tests.clients import client_for
from tests.customers.factories import CustomerFactory

from .factories import CustomerMetricsFactory
from .snapshots import AS_OF, snapshots_create

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("metrics:dashboard")
CELL = reverse("metrics:cell_customers")
HIGH_HIGH = {"value_level": "high", "risk_level": "high"}


def _scored(name: str, manager, *, value="high", risk="high", clv="500.00", country="GB"):
    customer = CustomerFactory(name=name, account_manager=manager, country=country)
    CustomerMetricsFactory(customer=customer, value_level=value, risk_level=risk, churn_risk=0.8, predicted_clv=clv)
    return customer


# --- Value x risk: links and colours ---------------------------------------------------------------


def test_every_cell_of_the_matrix_links_to_its_customers_in_the_dashboards_scope(alice):
    snapshots_create(scope=f"manager:{alice.pk}")

    html = client_for(alice).get(DASHBOARD).content.decode()

    for value in ("high", "medium", "low"):
        for risk in ("low", "medium", "high"):
            link = f"{CELL}?value_level={value}&amp;risk_level={risk}&amp;scope=manager%3A{alice.pk}"
            assert link in html, (value, risk)


def test_an_account_managers_cell_link_shows_only_her_customers(alice, bob):
    _scored("Ana Aguilar", alice)
    _scored("Bruno Braga", bob)
    _scored("Ana's low-risk customer", alice, risk="low")

    response = client_for(alice).get(CELL, {**HIGH_HIGH, "scope": f"manager:{alice.pk}"})

    assert response.status_code == 200
    names = [row.customer.name for row in response.context["page"]]
    assert names == ["Ana Aguilar"]
    assert "Bruno Braga" not in response.content.decode()


def test_an_account_manager_asking_for_a_colleagues_book_or_the_workspace_gets_404(alice, bob):
    _scored("Bruno Braga", bob)
    client = client_for(alice)

    assert client.get(CELL, {**HIGH_HIGH, "scope": f"manager:{bob.pk}"}).status_code == 404
    assert client.get(CELL, {**HIGH_HIGH, "scope": ""}).status_code == 404
    # Without a scope: her own book, as on the dashboard.
    assert [row.customer.name for row in client.get(CELL, HIGH_HIGH).context["page"]] == []


def test_a_marketer_sees_the_cell_of_every_book_most_valuable_first_and_by_country(marta, alice, bob):
    _scored("Ana Aguilar", alice, clv="100.00")
    _scored("Bruno Braga", bob, clv="900.00", country="ES")
    client = client_for(marta)

    everyone = client.get(CELL, {**HIGH_HIGH, "scope": ""})
    spain = client.get(CELL, {**HIGH_HIGH, "scope": "country:ES"})

    assert [row.customer.name for row in everyone.context["page"]] == ["Bruno Braga", "Ana Aguilar"]
    assert [row.customer.name for row in spain.context["page"]] == ["Bruno Braga"]


@pytest.mark.parametrize(
    "params", [{"value_level": "huge", "risk_level": "high"}, {"value_level": "high"}, {**HIGH_HIGH, "scope": "x:1"}]
)
def test_a_bad_cell_is_404_never_a_500(marta, params):
    assert client_for(marta).get(CELL, params).status_code == 404


def test_someone_without_a_role_gets_404_for_a_cell(charlie):
    assert client_for(charlie).get(CELL, HIGH_HIGH).status_code == 404


def test_the_cell_to_protect_first_is_the_most_prominent_and_the_legend_says_so():
    table = charts.value_risk_table(
        {"cells": [{"value_level": "high", "risk_level": "high", "count": 3}, {"value_level": "low", "risk_level": "low", "count": 900}]},
        {}, {},
    )  # fmt: skip

    tiers = {(c["value_level"], c["risk_level"]): c["tier"] for row in table["rows"] for c in row["cells"]}
    # However few customers it holds, high value at high risk is the one cell to protect first.
    assert [key for key, tier in tiers.items() if tier == "protect"] == [("high", "high")]
    assert tiers[("high", "medium")] == tiers[("medium", "high")] == "watch"
    assert tiers[("low", "low")] == "steady"
    assert [item["tier"] for item in table["legend"]] == ["protect", "watch", "steady"]


# --- Cohorts, CLV chart, retention chart ----------------------------------------------------------


def test_the_running_month_of_each_cohort_is_hatched_with_a_legend(marta):
    snapshots_create()

    response = client_for(marta).get(DASHBOARD)

    rows = response.context["charts"]["cohorts"]["rows"]
    # As of 2011-12-09 the cohorts of September, October and November are in December at k = 3, 2, 1.
    assert [row["partial"] for row in rows] == [3, 2, 1]
    html = response.content.decode()
    assert 'id="cohort-partial-legend"' in html and 'class="cohort-partial"' in html


def test_a_cohort_table_as_of_a_months_last_day_has_no_partial_month():
    table = charts.cohort_table({"cohorts": ["2011-10"], "sizes": [4], "matrix": [[1.0, 0.5]]}, AS_OF.replace(day=31))

    assert table["rows"][0]["partial"] is None and not table["has_partial"]


def test_the_clv_chart_is_named_after_the_clv_it_counts_with_its_currency():
    data = {"bins": [0, 100, 500], "counts": [1, 2]}

    predicted = charts.clv_chart({**data, "basis": "predicted"}, "GBP")
    historical = charts.clv_chart({**data, "basis": "historical"}, "GBP")

    assert predicted["title"] == "Predicted CLV distribution" and predicted["x"]["title"] == "Predicted CLV (GBP)"
    assert historical["title"] == "Historical CLV distribution" and historical["x"]["title"] == "Historical CLV (GBP)"


def test_the_dashboard_says_what_each_clv_is(marta):
    snapshots_create()

    html = client_for(marta).get(DASHBOARD).content.decode()

    assert 'id="clv-help"' in html
    assert "Historical CLV: what customers with a purchase have brought so far" in html
    assert "Predicted CLV, below: what the scored customers are expected to bring in the next 12 months" in html


# --- Model health ------------------------------------------------------------------------------------


def _model(**fields) -> ModelVersion:
    values = {
        "as_of": AS_OF, "bgnbd_r": 0.7, "bgnbd_alpha": 40.0, "bgnbd_a": 0.7, "bgnbd_b": 5.5,
        "bgnbd_log_likelihood": -1000.0, "n_customers": 2974, "fit_seconds": 0.3, "is_current": True,
        "gg_p": 2.6, "gg_q": 1.6, "gg_gamma": 55.0, "gg_log_likelihood": -100.0,
        "backtest_cutoff": AS_OF, "backtest_horizon_days": 90, "backtest_auc": 0.83,
        "backtest_baseline_auc": 0.83, "backtest_predicted_purchases": 2835.0,
        "backtest_actual_purchases": 2280, "backtest_customers": 2850,
    }  # fmt: skip
    values.update(fields)
    return ModelVersion.objects.create(**values)


def test_model_health_warns_in_plain_words_of_a_degenerate_fit(marta):
    _model(bgnbd_a=4_698_838.46, bgnbd_b=326_220_152.7)

    html = client_for(marta).get(reverse("metrics:model_health")).content.decode()

    assert 'class="alert alert-danger small mt-3 mb-0" id="fit-warnings"' in html
    assert "This model is degenerate: do not rely on its figures." in html
    assert "Every customer seems to stop buying with the same probability" in html


def test_model_health_says_a_believable_fit_looks_like_a_real_shops(marta):
    _model()

    html = client_for(marta).get(reverse("metrics:model_health")).content.decode()

    assert "This model is degenerate" not in html
    assert "The parameters look like a real shop's" in html


def test_model_health_explains_the_back_test_to_a_marketer(marta):
    _model(backtest_predicted_purchases=2835.0, backtest_actual_purchases=2280)

    html = client_for(marta).get(reverse("metrics:model_health")).content.decode()

    assert "What this means: the AUC is the chance that, of two customers, the one who then bought nothing" in html
    # 2,835 expected against 2,280 made: 24% more.
    assert "The model expected more purchases than customers made (24% more)" in html
