import numpy as np
import pytest

from metrics.analytics import (
    GammaGammaParams,
    NotEnoughData,
    gamma_gamma_expected_spend,
    gamma_gamma_fit,
    gamma_gamma_log_likelihood,
)


def test_gamma_gamma_fit_on_raw_cdnow_reproduces_the_published_parameters(cdnow_calibration):
    summary = cdnow_calibration

    params = gamma_gamma_fit(summary["x"], summary["monetary_value"])

    assert params.n_customers == 946
    assert (round(params.p, 2), round(params.q, 2), round(params.gamma, 2)) == (6.25, 3.74, 15.44)
    assert round(params.log_likelihood, 1) == -4055.9
    repeat = summary[summary["x"] > 0]
    assert gamma_gamma_log_likelihood(params, repeat["x"], repeat["monetary_value"]).sum() == pytest.approx(
        params.log_likelihood
    )


def test_expected_spend_shrinks_a_customer_mean_towards_the_population_mean():
    params = GammaGammaParams(p=6.25, q=3.74, gamma=15.44, log_likelihood=0.0, n_customers=0)

    spend = gamma_gamma_expected_spend(params, [0, 2], [0.0, 20.0])

    # x = 0: p gamma / (q - 1) = 6.25 * 15.44 / 2.74 = 35.2190.
    # x = 2, m = 20: (15.44 + 40) * 6.25 / (12.5 + 2.74) = 346.5 / 15.24 = 22.7362.
    np.testing.assert_allclose(spend, [96.5 / 2.74, 346.5 / 15.24])


def test_gamma_gamma_fit_refuses_data_without_repeat_buyers():
    with pytest.raises(NotEnoughData, match="repeat buyer"):
        gamma_gamma_fit([0, 0, 0], [0.0, 0.0, 0.0])


def test_gamma_gamma_fit_refuses_empty_input():
    with pytest.raises(NotEnoughData):
        gamma_gamma_fit([], [])
