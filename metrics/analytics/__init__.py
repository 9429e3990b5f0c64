"""Pure customer analytics: pandas/numpy/scipy in, typed results out. Never imports Django.

Definitions follow docs/metrics.md. A selector loads a DataFrame (aggregated in SQL to one row
per customer and day where possible), a function here computes, a service saves the result.
"""

from ._common import DAYS_PER_MONTH, UNIT_DAYS, NotEnoughData
from .backtest import BacktestResult, churn_backtest, roc_auc
from .bgnbd import (
    BgNbdParams,
    bgnbd_churn_risk,
    bgnbd_cumulative_repeat_purchases,
    bgnbd_expected_purchases,
    bgnbd_expected_purchases_new,
    bgnbd_fit,
    bgnbd_log_likelihood,
    bgnbd_p_alive,
)
from .clv import customer_predictions, predictive_clv
from .cohorts import CohortTable, cohort_retention
from .gamma_gamma import (
    GammaGammaParams,
    gamma_gamma_expected_spend,
    gamma_gamma_fit,
    gamma_gamma_log_likelihood,
)
from .pareto import ParetoResult, pareto_of_ranked, pareto_tier
from .pareto_nbd import (
    ParetoNbdParams,
    pareto_nbd_expected_purchases,
    pareto_nbd_fit,
    pareto_nbd_log_likelihood,
    pareto_nbd_p_alive,
)
from .rates import PeriodRates, Rate, active_customers, period_rates, repeat_purchase_rate, upsell_rate
from .rfm import SEGMENTS, quintile_scores, rfm_scores, rfm_segment
from .summary import customer_summary, daily_from_orders, purchases_between, summary_from_daily

__all__ = [
    "DAYS_PER_MONTH",
    "SEGMENTS",
    "UNIT_DAYS",
    "BacktestResult",
    "BgNbdParams",
    "CohortTable",
    "GammaGammaParams",
    "NotEnoughData",
    "ParetoNbdParams",
    "ParetoResult",
    "PeriodRates",
    "Rate",
    "active_customers",
    "bgnbd_churn_risk",
    "bgnbd_cumulative_repeat_purchases",
    "bgnbd_expected_purchases",
    "bgnbd_expected_purchases_new",
    "bgnbd_fit",
    "bgnbd_log_likelihood",
    "bgnbd_p_alive",
    "churn_backtest",
    "cohort_retention",
    "customer_predictions",
    "customer_summary",
    "daily_from_orders",
    "gamma_gamma_expected_spend",
    "gamma_gamma_fit",
    "gamma_gamma_log_likelihood",
    "pareto_nbd_expected_purchases",
    "pareto_nbd_fit",
    "pareto_nbd_log_likelihood",
    "pareto_nbd_p_alive",
    "pareto_of_ranked",
    "pareto_tier",
    "period_rates",
    "predictive_clv",
    "purchases_between",
    "quintile_scores",
    "repeat_purchase_rate",
    "rfm_scores",
    "rfm_segment",
    "roc_auc",
    "summary_from_daily",
    "upsell_rate",
]
