"""factory_boy factories of the contact_plans models."""

from datetime import timedelta

import factory
from django.utils import timezone

from contact_plans.models import FollowUp, MessageTemplate, MessageTemplateContent, WorklistSnooze
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


class MessageTemplateFactory(factory.django.DjangoModelFactory):
    """An email template with an English text; MessageTemplateFactory(contents={"ca": {...}}) sets the
    languages (each a dict of subject, html, text)."""

    class Meta:
        model = MessageTemplate
        skip_postgeneration_save = True

    key = factory.Sequence(lambda n: f"template-{n}")
    name = factory.Sequence(lambda n: f"Template {n}")
    channel = MessageTemplate.Channel.EMAIL
    purpose = MessageTemplate.Purpose.TRANSACTIONAL

    @factory.post_generation
    def contents(self, create, extracted, **kwargs):
        if not create:
            return
        contents = extracted or {
            "en": {"subject": "Hello {{ customer.first_name }}", "html": "<p>Hi {{ customer.first_name }}</p>"}
        }
        for language, parts in contents.items():
            MessageTemplateContent.objects.create(template=self, language=language, **parts)
