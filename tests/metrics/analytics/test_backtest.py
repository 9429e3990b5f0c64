import numpy as np
import pytest

from metrics.analytics import bgnbd_fit, churn_backtest, purchases_between, roc_auc

from .conftest import CDNOW_CALIBRATION_END, CDNOW_HOLDOUT_END


def test_roc_auc_is_the_share_of_positive_negative_pairs_ranked_right():
    scores = [0.1, 0.4, 0.35, 0.8]
    labels = [False, False, True, True]

    auc = roc_auc(scores, labels)

    # Pairs (positive, negative): 0.35 > 0.1, 0.35 < 0.4, 0.8 > 0.1, 0.8 > 0.4: 3 of 4.
    assert auc == pytest.approx(0.75)


def test_roc_auc_counts_ties_as_half():
    scores = [0.5, 0.5, 0.5, 0.9]
    labels = [True, False, False, True]

    auc = roc_auc(scores, labels)

    # 0.5 vs two tied negatives: 0.5 + 0.5; 0.9 vs both: 2. Total 3 of 4 pairs.
    assert auc == pytest.approx(0.75)


def test_roc_auc_equals_the_pairwise_count_on_random_scores_with_ties():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 20, size=300).astype(float)
    labels = rng.random(300) < 0.3

    auc = roc_auc(scores, labels)

    diff = scores[labels][:, None] - scores[~labels][None, :]
    assert auc == pytest.approx(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def test_roc_auc_of_a_single_class_is_none():
    assert roc_auc([0.2, 0.3], [True, True]) is None
    assert roc_auc([], []) is None


def test_cdnow_backtest_ranks_holdout_churners_well_and_under_forecasts_purchases(cdnow_calibration, cdnow_daily):
    params = bgnbd_fit(cdnow_calibration["x"], cdnow_calibration["t_x"], cdnow_calibration["T"], unit="W")
    actual = purchases_between(cdnow_daily, start=CDNOW_CALIBRATION_END, end=CDNOW_HOLDOUT_END)

    result = churn_backtest(cdnow_calibration, bgnbd=params, actual=actual, horizon_days=39 * 7)

    assert (result.customers, result.actual_purchases) == (2357, 1882)
    # 1,673 customers made no purchase in weeks 40-78; the BG/NBD risk ranks them with AUC 0.757.
    assert result.churned == 1673
    assert result.auc == pytest.approx(0.757, abs=0.001)
    # Sum of conditional expectations: 1,653 against 1,882 actual.
    assert result.predicted_purchases == pytest.approx(1653.4, abs=0.5)
