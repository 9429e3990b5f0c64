import numpy as np
import pandas as pd
import pytest

from metrics.analytics import daily_from_orders, pareto_tier

AS_OF = pd.Timestamp("2025-01-01")


def _daily(rows):
    orders = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])
    return daily_from_orders(orders.assign(ordered_at=pd.to_datetime(orders["ordered_at"])))


def test_top_tier_is_the_smallest_set_making_80_percent_of_trailing_net_revenue():
    daily = _daily(
        [
            ("A", "2024-05-01", 550.0),
            ("A", "2024-06-01", -50.0),  # net 500
            ("B", "2024-07-01", 300.0),
            ("C", "2024-08-01", 100.0),
            ("D", "2024-09-01", 60.0),
            ("E", "2024-12-31", 40.0),
            ("G", "2024-01-01", 10_000.0),  # as_of - 12 months: outside (2024-01-01, 2025-01-01]
            ("H", "2025-01-02", 5_000.0),  # after as_of
        ]
    )

    result = pareto_tier(daily, as_of=AS_OF)

    # Total 1000; A + B = 800 = 80%: the top tier is A and B, 2 of 5 customers.
    assert result.total_revenue == pytest.approx(1000.0)
    assert (result.top_count, result.customer_count) == (2, 5)
    assert result.top_share_of_customers == pytest.approx(0.4)
    assert result.customers.index.tolist() == ["A", "B", "C", "D", "E"]
    assert result.customers["top"].tolist() == [True, True, False, False, False]
    # Curve: (0, 0), then 500, 800, 900, 960, 1000 of 1000 at each fifth of the customers.
    np.testing.assert_allclose(result.curve["share_customers"], [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(result.curve["share_revenue"], [0, 0.5, 0.8, 0.9, 0.96, 1.0])


def test_top_tier_is_not_pushed_one_customer_further_by_float_rounding():
    daily = _daily([(c, "2024-06-01", v) for c, v in zip("ABCDE", [0.3, 0.2, 0.1, 0.1, 0.05], strict=True)])

    result = pareto_tier(daily, as_of=AS_OF)

    # 80% of 0.75 is 0.6 = 0.3 + 0.2 + 0.1, although the float cumulative share is 0.7999999999999999.
    assert result.top_count == 3


def test_pareto_curve_is_downsampled_to_at_most_200_points():
    rng = np.random.default_rng(7)
    daily = _daily([(i, "2024-06-01", float(v)) for i, v in enumerate(rng.pareto(1.5, 5000) + 1)])

    result = pareto_tier(daily, as_of=AS_OF)

    assert len(result.curve) <= 200
    assert result.curve.iloc[0].tolist() == [0.0, 0.0]
    assert result.curve.iloc[-1].tolist() == pytest.approx([1.0, 1.0])
    assert result.curve["share_revenue"].is_monotonic_increasing


def test_pareto_without_positive_revenue_has_no_tier():
    daily = _daily([("A", "2024-06-01", -10.0)])

    result = pareto_tier(daily, as_of=AS_OF)

    assert (result.top_count, result.top_share_of_customers) == (0, None)
    assert result.curve.empty
