"""Tuning of the metrics, each overridable in Django settings as ``METRICS_<NAME>``.

Read through ``metrics.conf.get("NAME")`` (or the attribute ``metrics.conf.NAME``) at call time,
so ``override_settings(METRICS_RISK_THRESHOLDS=...)`` works in tests.
"""

from django.conf import settings

DEFAULTS: dict[str, object] = {
    # metrics.md: a customer is active at d with a purchase in (d - W, d]; W = 90 days by default.
    "ACTIVITY_WINDOW_DAYS": 90,
    # metrics.md: churn risk = probability of no purchase in the next h days, h = 90 by default.
    # The back-test holds out the same h days, so the AUC judges the figure users are shown.
    "CHURN_HORIZON_DAYS": 90,
    # low < 0.4 <= medium < 0.7 <= high. 0.4 is "more likely than not to buy again in the horizon"
    # with a margin; 0.7 flags the customers a retention call should reach first.
    "RISK_THRESHOLDS": (0.4, 0.7),
    # metrics.md: predictive CLV over 12 months discounted at 1% a month.
    "CLV_HORIZON_MONTHS": 12,
    "CLV_MONTHLY_DISCOUNT": 0.01,
    # Customers per scoring chunk (one Celery task). 50,000 rows of CustomerMetrics are ~15 MB of
    # Python objects in the worker and about 5 s of work: small enough to retry, large enough that
    # the per-task overhead (a query of the chunk's orders) stays negligible.
    "SCORE_CHUNK_SIZE": 50_000,
    # A recompute run in one process (manage.py recompute_metrics --sync) on PostgreSQL writes its
    # chunks from this many threads, each with its own connection and PostgreSQL backend, while it
    # finishes the dashboards; 0 writes them one after the other. The chunks are written once the
    # scores are known, when the dashboards' history is done too, so two threads keep both cores of
    # a small machine busy (1M customers: 6.4 s against 11 s with one).
    # Workers (the nightly run) spread chunks over their processes instead.
    "WRITE_THREADS": 2,
    # The recompute reads every customer's day totals over this many PostgreSQL connections at once,
    # one range of customers each (outside a transaction): each backend formats its rows on a core.
    "LOAD_THREADS": 2,
    # A recompute that reads at least this many customer-day rows computes the dashboards' history
    # snapshots (rates, time series, cohorts, Pareto) in a forked child process while it fits and
    # scores (metrics.forked): at a million customers that is 8 s of work on the other core.
    # Below it the fork is not worth it; None never forks.
    "FORK_MIN_ROWS": 200_000,
    # "Bought together" (metrics.services.recommendations). A basket of more products than this is
    # left out of the pairs: a wholesale order of 300 products makes 45,000 pairs that say little
    # about what goes with what, and would cost more than a thousand ordinary baskets.
    "RECOMMEND_BASKET_CAP": 50,
    # Related products kept per product: a customer's recommendations sum the lists of what they
    # bought, and a message shows five, so twenty per product leaves room after what they own.
    "RECOMMEND_PAIRS_KEPT": 20,
    # A pair seen in fewer baskets than this is chance (one shopper's whim), not a pattern.
    "RECOMMEND_MIN_TOGETHER": 2,
    # The score of a pair: "cosine" (together / sqrt(baskets of each)), "lift" or "count";
    # docs/benchmarks.md ("Related products") says why cosine.
    "RECOMMEND_SCORE": "cosine",
    # How many products a customer's recommendations hold (the panel, the API's default, messages).
    "RECOMMEND_LIMIT": 5,
    # The shop's page of a product, "{sku}" replaced by the product's SKU (URL-quoted), e.g.
    # "https://shop.example.com/p/{sku}/"; empty: products have no link in messages.
    "PRODUCT_URL": "",
}


def prediction_settings() -> dict:
    """The horizons of the per-customer predictions, as keywords of metrics.analytics.scoring.predictions."""
    return {
        "horizon_days": float(get("CHURN_HORIZON_DAYS")),
        "clv_months": int(get("CLV_HORIZON_MONTHS")),
        "clv_discount": float(get("CLV_MONTHLY_DISCOUNT")),
    }


def get(name: str):
    if name not in DEFAULTS:
        raise AttributeError(f"metrics.conf has no setting {name!r}")
    return getattr(settings, f"METRICS_{name}", DEFAULTS[name])


def __getattr__(name: str):
    if name in DEFAULTS:
        return get(name)
    raise AttributeError(f"module 'metrics.conf' has no attribute {name!r}")
