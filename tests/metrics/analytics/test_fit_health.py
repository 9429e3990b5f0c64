"""metrics.analytics.fit_health: when a fitted model is too degenerate to be believed."""

import pytest

from metrics.analytics.fit_health import bgnbd_findings, gamma_gamma_findings


def test_a_real_shops_fit_has_no_finding():
    # CDNOW (weeks, Fader, Hardie & Lee 2005) and a fit of the heterogeneous demo (days).
    assert bgnbd_findings(r=0.243, alpha=4.414, a=0.793, b=2.426) == []
    assert bgnbd_findings(r=0.69, alpha=37.4, a=0.72, b=5.47) == []


def test_dropout_alike_for_everyone_is_degenerate():
    # The demo before its customers were made to differ.
    assert bgnbd_findings(r=1.258, alpha=114.3, a=4_698_838.46, b=326_220_152.7) == ["same_dropout"]
    # bgnbd_fit's own cap for a homogeneous dropout (1e4 each) is flagged too.
    assert "same_dropout" in bgnbd_findings(r=1.0, alpha=50.0, a=1e4, b=1e4)


def test_one_purchase_rate_for_everyone_is_degenerate():
    assert bgnbd_findings(r=5_000.0, alpha=300_000.0, a=0.8, b=3.0) == ["same_rate"]


@pytest.mark.parametrize("value", [1e-14, 2e13, float("inf"), float("nan"), 0.0])
def test_a_parameter_at_the_optimisers_limits_is_degenerate(value):
    assert "at_limit" in bgnbd_findings(r=value, alpha=10.0, a=0.5, b=2.0)


def test_a_spend_model_without_a_finite_mean_is_flagged():
    assert gamma_gamma_findings(p=6.25, q=3.74, gamma=15.44) == []  # CDNOW
    assert gamma_gamma_findings(p=2.0, q=0.9, gamma=10.0) == ["no_mean_spend"]
