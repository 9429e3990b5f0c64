"""metrics.analytics.scoring: the population's cut points equal the analytics core's rankings."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.analytics import pareto_tier
from metrics.analytics.scoring import NO_SPEND_MODEL, NOT_COMPUTABLE, _pareto_edge, prediction_gaps

AS_OF = pd.Timestamp("2024-06-30")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.sampled_from([0.0, 5.0, 10.0, -3.0]), st.floats(-50, 500, allow_nan=False)),
        min_size=1,
        max_size=40,
    )
)
def test_the_pareto_edge_from_every_customers_revenue_is_pareto_tiers_last_top_customer(revenues):
    """None: a customer with nothing in the trailing window (no row for pareto_tier, 0 in revenue_12m)."""
    ids = np.arange(1, len(revenues) + 1) * 7
    rows = pd.DataFrame(
        {
            "customer_id": [i for i, r in zip(ids, revenues, strict=True) if r is not None],
            "day": AS_OF,
            "amount": [r for r in revenues if r is not None],
        }
    )
    tier = pareto_tier(rows, as_of=AS_OF)
    expected = None
    if tier.top_count:
        expected = [
            float(tier.customers["net_revenue"].iloc[tier.top_count - 1]),
            int(tier.customers.index[tier.top_count - 1]),
        ]

    revenue_12m = np.array([0.0 if r is None else r for r in revenues])
    assert _pareto_edge(revenue_12m, ids) == expected


def test_prediction_gaps_count_the_buyers_without_each_figure_by_reason():
    nan = np.nan
    columns = {
        "purchases": np.array([0, 1, 3, 2]),
        "p_alive": np.array([nan, 1.0, 0.4, 0.9]),
        "churn_risk": np.array([nan, 0.5, 0.8, nan]),
        "expected_purchases": np.array([nan, 0.3, 0.1, 0.7]),
        "expected_spend": np.array([nan, nan, nan, nan]),
        "predicted_clv": np.array([nan, nan, nan, nan]),
    }

    without_spend_model = prediction_gaps(columns, spend_model=False)
    with_spend_model = prediction_gaps(columns, spend_model=True)

    assert without_spend_model == {
        "buyers": 3,
        "missing": {
            "churn_risk": {NOT_COMPUTABLE: 1},
            "expected_spend": {NO_SPEND_MODEL: 3},
            "predicted_clv": {NO_SPEND_MODEL: 3},
        },
    }
    assert with_spend_model["missing"]["predicted_clv"] == {NOT_COMPUTABLE: 3}
