"""Builders shared by the worklist and book tests: a customer of a book with hand-set metrics."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from customers.models import AccountAssignment
from metrics.models import CustomerMetrics
from tests.customers.factories import CustomerFactory
from tests.metrics.factories import CustomerMetricsFactory


def book_customer(manager, *, name: str | None = None, **fields):
    """A customer in ``manager``'s book, with the assignment the services would have written."""
    extra = {"name": name} if name else {}
    customer = CustomerFactory(account_manager=manager, **extra, **fields)
    if manager is not None:
        AccountAssignment.objects.create(
            customer=customer, manager=manager, started_at=timezone.now() - timedelta(days=400)
        )
    return customer


def metrics_for(
    customer,
    *,
    churn_risk: float | None = 0.2,
    previous: float | None = None,
    value: str = "low",
    risk: str | None = None,
    last_purchase: date | None = None,
    interval: float | None = None,
    purchases: int = 3,
    net_revenue: str = "100.00",
) -> CustomerMetrics:
    """A CustomerMetrics row set by hand (only customer and as_of are required by the model)."""
    if risk is None and churn_risk is not None:
        risk = "high" if churn_risk >= 0.7 else "medium" if churn_risk >= 0.4 else "low"
    today = timezone.localdate()
    return CustomerMetricsFactory(
        customer=customer,
        as_of=today,
        purchases=purchases,
        last_purchase=last_purchase or today - timedelta(days=10),
        usual_interval_days=interval,
        net_revenue=Decimal(net_revenue),
        churn_risk=churn_risk,
        previous_churn_risk=previous,
        risk_level=risk or "",
        value_level=value,
    )
