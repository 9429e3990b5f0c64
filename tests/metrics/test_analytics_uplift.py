"""The plan-against-control-group comparison (metrics/analytics/uplift.py), checked against
Newcombe (1998), Table II, and at its edges."""

import pytest

from metrics.analytics.uplift import uplift, wilson_interval


def test_wilson_interval_matches_the_published_example():
    # Newcombe 1998 (proportions paper), 81/263: 0.2553 to 0.3662.
    low, high = wilson_interval(81, 263)
    assert low == pytest.approx(0.2553, abs=5e-4)
    assert high == pytest.approx(0.3662, abs=5e-4)


@pytest.mark.parametrize(
    ("m", "n", "low", "high"),
    [
        # Newcombe 1998 (differences paper), Table II, method 10.
        ((56, 70), (48, 80), 0.0524, 0.3339),
        ((9, 10), (3, 10), 0.1705, 0.8090),
        ((6, 7), (2, 7), 0.0582, 0.8062),
        ((5, 56), (0, 29), -0.0381, 0.1926),
        ((0, 10), (0, 20), -0.1611, 0.2775),
        ((10, 10), (0, 20), 0.6791, 1.0000),
    ],
)
def test_difference_interval_matches_newcombe_table_ii(m, n, low, high):
    result = uplift(treated=m[1], treated_converted=m[0], control=n[1], control_converted=n[0])
    assert result.difference == pytest.approx(m[0] / m[1] - n[0] / n[1])
    assert result.low == pytest.approx(low, abs=6e-4)
    assert result.high == pytest.approx(high, abs=6e-4)


def test_significance_is_an_interval_that_leaves_out_zero():
    assert uplift(treated=1000, treated_converted=300, control=1000, control_converted=200).significant
    assert not uplift(treated=50, treated_converted=11, control=50, control_converted=10).significant


def test_an_empty_group_has_no_rate_and_no_difference():
    result = uplift(treated=100, treated_converted=10, control=0, control_converted=0)
    assert result.treated_rate == 0.1
    assert result.control_rate is None and result.difference is None and result.low is None
    assert not result.significant


@pytest.mark.parametrize(
    "kwargs",
    [
        {"treated": 10, "treated_converted": 11, "control": 10, "control_converted": 1},
        {"treated": -1, "treated_converted": 0, "control": 10, "control_converted": 1},
        {"treated": 10, "treated_converted": 1, "control": 10, "control_converted": 1, "confidence": 1.5},
    ],
)
def test_impossible_counts_are_refused(kwargs):
    with pytest.raises(ValueError):
        uplift(**kwargs)
