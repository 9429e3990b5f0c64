"""The metrics cards on the customer page ("Value and risk", "Bought together"), registered with
customers.panels at startup.

Registered from MetricsConfig.ready() (``register``), so the customers app shows the card without
importing metrics. The customer page has already checked that the user may see this customer, and the
card shows only that customer's own scores.
"""

from django.conf import settings

from customers import panels

from . import conf, recommendations, selectors


def customer_metrics_panel(request, customer) -> dict:
    metrics = selectors.customer_metrics_for(customer=customer)
    # The churn risk's reasons, then the other apps' risk signals (retention_crm.risk_signals),
    # listed even before the first recompute has scored the customer.
    reasons = selectors.customer_risk_reasons(customer_id=customer.pk, metrics=metrics)
    return {
        "metrics": metrics,
        "reasons": reasons,
        "horizon_days": conf.get("CHURN_HORIZON_DAYS"),
        "currency": settings.WORKSPACE_CURRENCY,
    }


def bought_together_panel(request, customer) -> dict:
    """What to offer this customer next: the products often bought with theirs, each with the
    products of theirs it goes with (two at most), and the best-sellers that fill the list."""
    items = recommendations.customer_recommendations(customer_id=customer.pk)
    because = recommendations.recommendations_because(
        customer_id=customer.pk, product_ids=[item.product_id for item in items if item.reason == "bought_together"]
    )
    return {
        "items": [{"item": item, "because": because.get(item.product_id, [])[:2]} for item in items],
        "computed_at": recommendations.recommendations_computed_at(),
        "marketing_consent": customer.marketing_consent,
    }


def register() -> None:
    panels.register("metrics", "metrics/_customer_panel.html", customer_metrics_panel, order=10)
    panels.register("bought_together", "metrics/_bought_together_panel.html", bought_together_panel, order=35)
