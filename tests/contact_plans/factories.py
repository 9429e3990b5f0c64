"""factory_boy factories of the contact_plans models."""

from datetime import timedelta

import factory
from django.utils import timezone

from contact_plans.models import FollowUp, WorklistSnooze
from tests.customers.factories import CustomerFactory, UserFactory


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUp

    customer = factory.SubFactory(CustomerFactory)
    assigned_to = factory.SubFactory(UserFactory)
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    created_by = factory.SelfAttribute("assigned_to")


class WorklistSnoozeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorklistSnooze

    customer = factory.SubFactory(CustomerFactory)
    user = factory.SubFactory(UserFactory)
    until = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=14))
    reason = "Waiting for the budget"
    created_by = factory.SelfAttribute("user")
