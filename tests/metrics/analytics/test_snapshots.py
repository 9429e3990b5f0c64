"""metrics.analytics.snapshots: the vectorised snapshot builder agrees with the analytics core's
definitions (period_rates, repeat_purchase_rate, cohorts, Pareto). The SQL loaders' agreement with the
pure functions is in tests/metrics/test_loaders.py."""

import numpy as np
import pandas as pd
import pytest

from metrics.analytics import daily_from_orders, period_rates, repeat_purchase_rate
from metrics.analytics.rfm import SEGMENTS
from metrics.analytics.snapshots import (
    _AsOfFacts,
    _Population,
    _Scores,
    cohorts_data,
    groupings,
    pareto_data,
    period_snapshots,
)

AS_OF = pd.Timestamp("2024-06-30")


def _random_daily(seed: int = 3, customers: int = 250) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(10_000, size=customers, replace=False)).astype("int64")
    rows = []
    for customer_id in ids:
        first = AS_OF - pd.Timedelta(days=int(rng.integers(0, 800)))
        for _ in range(int(rng.integers(1, 12))):
            day = first + pd.Timedelta(days=int(rng.integers(0, 400)))
            amount = float(rng.choice([-1, 1, 1, 1, 1]) * rng.gamma(3, 20))
            rows.append((customer_id, day, round(amount, 2)))
    orders = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])
    return daily_from_orders(orders), ids


def test_monthly_rates_equal_period_rates_for_every_month():
    daily, ids = _random_daily()
    population = _Population(daily, ids, pd.Series([], dtype="datetime64[us]"), 90)
    groups = groupings(
        customer_ids=ids, countries=pd.Series([""] * len(ids)), assignments=pd.DataFrame(columns=["customer_id"])
    )

    series = period_snapshots(population, groups, as_of=AS_OF)["timeseries"][""]

    for i, month in enumerate(series["months"]):
        start = pd.Timestamp(f"{month}-01")
        expected = period_rates(daily, start=start, end=start + pd.DateOffset(months=1), window_days=90)
        assert series["active"][i] == expected.active_at_end, month
        assert series["new"][i] == expected.new, month
        assert series["reactivated"][i] == expected.reactivated, month
        assert series["retention_rate"][i] == pytest.approx(expected.retention_rate), month
        assert series["churn_rate"][i] == pytest.approx(expected.churn_rate), month
        assert series["nrr"][i] == pytest.approx(expected.net_revenue_retention), month


def test_summary_as_of_rates_equal_the_analytics_core():
    daily, ids = _random_daily(seed=5)
    population = _Population(daily, ids, pd.Series([], dtype="datetime64[us]"), 90)
    groups = groupings(
        customer_ids=ids, countries=pd.Series([""] * len(ids)), assignments=pd.DataFrame(columns=["customer_id"])
    )

    summary = period_snapshots(population, groups, as_of=AS_OF)["summary"][""]

    last_day = pd.Timestamp("2024-05-31")
    expected = period_rates(daily, start=pd.Timestamp("2024-05-01"), end=pd.Timestamp("2024-06-01"), window_days=90)
    assert summary["retained"] == expected.retained and summary["revenue"] == pytest.approx(expected.revenue)
    assert summary["repeat_purchase_rate"] == pytest.approx(repeat_purchase_rate(daily, as_of=last_day).value)
    previous_day = pd.Timestamp("2024-04-30")
    assert summary["previous"]["repeat_purchase_rate"] == pytest.approx(
        repeat_purchase_rate(daily, as_of=previous_day).value
    )


def test_country_figures_add_up_to_the_workspace():
    daily, ids = _random_daily(seed=11)
    countries = pd.Series(np.where(np.arange(len(ids)) % 3 == 0, "GB", "FR"))
    population = _Population(daily, ids, pd.Series([], dtype="datetime64[us]"), 90)
    groups = groupings(customer_ids=ids, countries=countries, assignments=pd.DataFrame(columns=["customer_id"]))

    series = period_snapshots(population, groups, as_of=AS_OF)["timeseries"]

    # Each scope's series starts at its own first month with customers: compare the months all show.
    common = sorted(set(series["country:GB"]["months"]) & set(series["country:FR"]["months"]))
    assert len(common) > 12

    def at(scope: str, key: str) -> list:
        return [series[scope][key][series[scope]["months"].index(month)] for month in common]

    for key in ("active", "new", "reactivated"):
        assert np.add(at("country:GB", key), at("country:FR", key)).tolist() == at("", key)


def test_cohorts_and_pareto_of_every_scope_equal_the_analytics_on_the_scope_rows():
    daily, ids = _random_daily(seed=13, customers=300)
    countries = pd.Series(
        np.where(np.arange(len(ids)) % 4 == 0, "GB", np.where(np.arange(len(ids)) % 4 == 1, "", "FR"))
    )
    # Two managers; some customers moved from one to the other, a few back again.
    start, moved = pd.Timestamp("2022-01-01"), pd.Timestamp("2024-03-01")
    assignments = pd.DataFrame(
        [(c, 1 + (i % 2), start, moved if i % 5 == 0 else pd.NaT) for i, c in enumerate(ids)]
        + [(c, 2 - (i % 2), moved, pd.NaT) for i, c in enumerate(ids) if i % 5 == 0],
        columns=["customer_id", "manager_id", "started_at", "ended_at"],
    )
    groups = groupings(customer_ids=ids, countries=countries, assignments=assignments)
    facts = _AsOfFacts(daily, ids, as_of=AS_OF)

    scopes = 0
    for grouping in groups:
        customer, group = grouping.pairs(AS_OF, AS_OF + pd.Timedelta(days=1))
        for g, label in enumerate(grouping.labels):
            member = np.zeros(len(ids), dtype=bool)
            member[customer[group == g]] = True
            rows = daily[daily["customer_id"].isin(ids[member])]
            assert facts.cohorts(member) == cohorts_data(rows, as_of=AS_OF), label
            assert facts.pareto(member) == pareto_data(rows, as_of=AS_OF), label
            scopes += 1
    assert scopes == 5  # workspace, GB, FR, two managers
    assert facts.cohorts(None) == cohorts_data(daily, as_of=AS_OF)


def test_rfm_and_value_risk_counts_equal_a_groupby_of_the_scored_rows():
    rng = np.random.default_rng(17)
    n = 2_000
    segments = np.array(["", "Champions", "Loyal", "Hibernating", "At risk"], dtype=object)
    scored = pd.DataFrame(
        {
            "purchases": rng.integers(0, 5, size=n),
            "rfm_segment": segments[rng.integers(0, len(segments), size=n)],
            "net_revenue": np.round(rng.gamma(2, 50, size=n), 2),
            "value_level": np.array(["high", "medium", "low"], dtype=object)[rng.integers(0, 3, size=n)],
            "risk_level": np.array(["", "low", "medium", "high"], dtype=object)[rng.integers(0, 4, size=n)],
            "predicted_clv": np.where(rng.random(n) < 0.2, np.nan, np.round(rng.gamma(2, 80, size=n), 2)),
        }
    )
    members = np.sort(rng.choice(n, size=700, replace=False))
    subset = scored.iloc[members]
    keys = {name: name.lower() for name in SEGMENTS}
    labels = {key: key.title() for key in keys.values()}
    scores = _Scores(scored, "predicted_clv")

    rfm = {item["key"]: (item["count"], item["revenue"]) for item in scores.rfm(members, labels, keys)["segments"]}
    expected = subset[subset["rfm_segment"] != ""].groupby("rfm_segment")["net_revenue"].agg(["size", "sum"])
    for name, key in keys.items():
        present = name in expected.index
        assert rfm[key] == (
            expected["size"][name] if present else 0,
            round(expected["sum"][name], 2) if present else 0.0,
        )

    cells = {(c["value_level"], c["risk_level"]): (c["count"], c["clv"]) for c in scores.value_risk(members)["cells"]}
    grouped = subset.groupby(["value_level", "risk_level"])["predicted_clv"].agg(["size", "sum", "count"])
    for (value, risk), row in grouped.iterrows():
        assert cells[(value, risk)] == (row["size"], round(row["sum"], 2) if row["count"] else None)
    assert sum(count for count, _clv in cells.values()) == len(members)


def test_first_purchase_days_do_not_depend_on_the_order_of_the_rows():
    daily, ids = _random_daily(seed=21)
    shuffled = daily.sample(frac=1.0, random_state=1)
    no_upsell = pd.Series([], dtype="datetime64[us]")

    in_order = _Population(daily, ids, no_upsell, 90)
    out_of_order = _Population(shuffled, ids, no_upsell, 90)

    assert np.array_equal(in_order.first, out_of_order.first)
    assert (in_order.first < np.iinfo("int64").max).sum() > 0


def test_the_retention_series_starts_at_the_first_month_whose_churn_can_be_seen():
    # Purchases from mid-March 2024 only: with W = 90 days, the months up to June are all "retained"
    # (their end's window still reaches every purchase made so far), so the series starts in July.
    rows = [(1, pd.Timestamp("2024-03-15"), 10.0), (1, pd.Timestamp("2024-06-20"), 10.0)]
    rows += [(2, pd.Timestamp("2024-03-20"), 10.0), (3, pd.Timestamp("2024-05-02"), 5.0)]
    daily = daily_from_orders(pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"]))
    ids = np.array([1, 2, 3], dtype="int64")
    population = _Population(daily, ids, pd.Series([], dtype="datetime64[us]"), 90)
    groups = groupings(
        customer_ids=ids, countries=pd.Series([""] * 3), assignments=pd.DataFrame(columns=["customer_id"])
    )

    result = period_snapshots(population, groups, as_of=pd.Timestamp("2024-09-30").date())

    series = result["timeseries"][""]
    assert series["months"][0] == "2024-06"
    # End of June minus 90 days is 2 April: customer 2's purchase of 20 March has left the window.
    assert series["retention_rate"][0] == pytest.approx(2 / 3)
    # Earlier months keep their counts but have no rate in the period figures.
    assert result["periods"][""]["periods"]["2024-04"]["retention_rate"] is None


def test_observed_and_series_start_by_hand():
    from metrics.analytics.snapshots import observed, series_start

    assert not observed(100, first_purchase_day=20, window_days=90)
    assert observed(110, first_purchase_day=20, window_days=90)
    assert not observed(110, first_purchase_day=None, window_days=90)
    assert series_start([0, 5, 5, 5], [True, False, True, True]) == 2
    assert series_start([0, 0], [True, True]) == 2


def test_quarters_and_years_follow_period_rates_and_their_own_as_of_figures():
    daily, ids = _random_daily(seed=8)
    population = _Population(daily, ids, pd.Series([], dtype="datetime64[us]"), 90)
    groups = groupings(
        customer_ids=ids, countries=pd.Series([""] * len(ids)), assignments=pd.DataFrame(columns=["customer_id"])
    )

    periods = period_snapshots(population, groups, as_of=AS_OF)["periods"][""]["periods"]

    # AS_OF is 2024-06-30: the picker offers 2024-Q1 .. 2022-Q2, 2023 .. 2019, and the one before each.
    assert {"2024-Q1", "2023-Q4", "2023", "2022", "2024-05", "2023-06"} <= set(periods)
    for key, start, end in (("2024-Q1", "2024-01-01", "2024-04-01"), ("2023", "2023-01-01", "2024-01-01")):
        expected = period_rates(daily, start=pd.Timestamp(start), end=pd.Timestamp(end), window_days=90)
        figures = periods[key]
        assert figures["retained"] == expected.retained, key
        assert figures["new"] == expected.new and figures["reactivated"] == expected.reactivated, key
        assert figures["nrr"] == pytest.approx(expected.net_revenue_retention), key
        last_day = pd.Timestamp(end) - pd.Timedelta(days=1)
        assert figures["repeat_purchase_rate"] == pytest.approx(repeat_purchase_rate(daily, as_of=last_day).value)
