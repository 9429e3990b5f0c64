"""factory_boy factories of the metrics models (the customers' own are in tests/customers/factories.py)."""

import factory
from django.utils import timezone

from metrics.models import CustomerMetrics
from tests.customers.factories import CustomerFactory


class CustomerMetricsFactory(factory.django.DjangoModelFactory):
    """A customer's figures set by hand: every figure not given keeps the model's default."""

    class Meta:
        model = CustomerMetrics

    customer = factory.SubFactory(CustomerFactory)
    as_of = factory.LazyFunction(timezone.localdate)
    purchases = 1
