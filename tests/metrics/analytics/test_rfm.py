import itertools

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from metrics.analytics import SEGMENTS, quintile_scores, rfm_scores, rfm_segment
from metrics.analytics.rfm import SEGMENT_TABLE


def test_segment_table_covers_each_r_f_pair_exactly_once_with_the_ten_named_segments():
    pairs = [(r, f) for r_scores, f_scores, _ in SEGMENT_TABLE for r in r_scores for f in f_scores]

    covered = sorted(pairs)

    assert covered == list(itertools.product(range(1, 6), range(1, 6)))
    assert len(set(SEGMENTS)) == 10


def test_segment_mapping_follows_the_metrics_table():
    r = [5, 5, 4, 3, 3, 4, 5, 4, 3, 3, 2, 1, 2, 1]
    f = [5, 4, 5, 4, 3, 3, 2, 2, 2, 1, 5, 3, 4, 1]

    segments = rfm_segment(r, f)

    assert segments.tolist() == [
        "Champions",
        "Champions",
        "Loyal",
        "Loyal",
        "Need attention",
        "Potential loyalists",
        "Potential loyalists",
        "Potential loyalists",
        "About to sleep",
        "About to sleep",
        "Can't lose them",
        "At risk",
        "At risk",
        "Hibernating",
    ]
    assert rfm_segment([5, 4], [1, 1]).tolist() == ["New customers", "Promising"]


def test_quintile_scores_of_ten_distinct_values_are_two_per_score():
    values = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]

    scores = quintile_scores(values)

    # Rank r scores ceil(5 (r - 1) / 9): 1, 1, 2, 2, 3, 3, 4, 4, 5, 5.
    assert scores.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_frequency_ties_are_broken_by_order_of_appearance():
    frequency = [1, 1, 1, 1, 1, 2, 2, 3, 4, 5]

    scores = quintile_scores(frequency, ties="first")

    # The five one-time buyers take ranks 1-5 in the order they appear: 1, 1, 2, 2, 3.
    assert scores.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


@given(st.lists(st.integers(min_value=0, max_value=50), min_size=2, max_size=300))
def test_quintile_scores_equal_pandas_qcut_of_first_ranks(values):
    ranks = pd.Series(values).rank(method="first")

    scores = quintile_scores(values, ties="first")

    expected = pd.qcut(ranks, 5, labels=[1, 2, 3, 4, 5]).astype(int).to_numpy()
    np.testing.assert_array_equal(scores, expected)


def test_rfm_scores_and_segments_match_the_hand_worked_example():
    as_of = pd.Timestamp("2024-12-31")
    summary = pd.DataFrame(
        {
            "last_purchase": pd.to_datetime(
                ["2024-12-30", "2024-12-01", "2024-09-22", "2024-06-14", "2024-03-06", None]
            ),
            "purchases": [10, 1, 5, 2, 3, 0],
            "net_revenue": [1000.0, 50.0, 400.0, 80.0, 120.0, -20.0],
        },
        index=pd.Index(["c1", "c2", "c3", "c4", "c5", "refund_only"], name="customer_id"),
    )

    scores = rfm_scores(summary, as_of=as_of)

    # With 5 customers each rank is its own quintile. Recency 1, 30, 100, 200, 300 days -> R 5..1;
    # purchases 10, 1, 5, 2, 3 -> F 5, 1, 4, 2, 3; revenue 1000, 50, 400, 80, 120 -> M 5, 1, 4, 2, 3.
    assert scores.index.tolist() == ["c1", "c2", "c3", "c4", "c5"]
    assert scores["recency_days"].tolist() == [1, 30, 100, 200, 300]
    assert scores["r"].tolist() == [5, 4, 3, 2, 1]
    assert scores["f"].tolist() == [5, 1, 4, 2, 3]
    assert scores["m"].tolist() == [5, 1, 4, 2, 3]
    assert scores["segment"].tolist() == ["Champions", "Promising", "Loyal", "Hibernating", "At risk"]
