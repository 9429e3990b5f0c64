"""The metrics card on the customer page, registered with customers.panels at startup.

Registered from MetricsConfig.ready() (``register``), so the customers app shows the card without
importing metrics. The customer page has already checked that the user may see this customer, and the
card shows only that customer's own scores.
"""

from django.conf import settings

from customers import panels

from . import conf, selectors


def customer_metrics_panel(request, customer) -> dict:
    metrics = selectors.customer_metrics_for(customer=customer)
    reasons = selectors.risk_explanation(metrics=metrics) if metrics is not None else []
    return {
        "metrics": metrics,
        "reasons": reasons,
        "horizon_days": conf.get("CHURN_HORIZON_DAYS"),
        "currency": settings.WORKSPACE_CURRENCY,
    }


def register() -> None:
    panels.register("metrics", "metrics/_customer_panel.html", customer_metrics_panel, order=10)
