import numpy as np
import pytest

from metrics.analytics import (
    NotEnoughData,
    pareto_nbd_expected_purchases,
    pareto_nbd_fit,
    pareto_nbd_p_alive,
)


def test_pareto_nbd_fit_on_raw_cdnow_reproduces_the_published_parameters(cdnow_calibration):
    summary = cdnow_calibration

    params = pareto_nbd_fit(summary["x"], summary["t_x"], summary["T"], unit="W")

    assert (round(params.r, 3), round(params.alpha, 3), round(params.s, 3), round(params.beta, 3)) == (
        0.553,
        10.578,
        0.606,
        11.669,
    )
    assert round(params.log_likelihood, 1) == -9595.0


def test_pareto_nbd_gives_finite_predictions_for_a_customer_with_5000_purchases(cdnow_calibration):
    summary = cdnow_calibration
    params = pareto_nbd_fit(summary["x"], summary["t_x"], summary["T"], unit="W")

    p_alive = pareto_nbd_p_alive(params, [5000, 5000, 0], [39.0, 38.0, 0.0], [39.0, 39.0, 39.0])
    expected = pareto_nbd_expected_purchases(params, [5000], [39.0], [39.0], horizon_days=7)

    assert np.all(np.isfinite(p_alive)) and np.all((0 <= p_alive) & (p_alive <= 1))
    assert p_alive[0] > 0.5 and p_alive[1] < 1e-6
    assert np.isfinite(expected[0]) and expected[0] > 50


def test_pareto_nbd_fit_refuses_data_without_repeat_buyers():
    with pytest.raises(NotEnoughData):
        pareto_nbd_fit(np.zeros(10), np.zeros(10), np.arange(1.0, 11.0))
