"""factory_boy factories of the contact_plans models."""

from datetime import timedelta

import factory
from django.utils import timezone

from contact_plans.models import FollowUp, Message, MessageTemplate, MessageTemplateContent, WorklistSnooze
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


def consenting_customer(**fields):
    """A customer who gave marketing consent (with the date and source the database asks for)."""
    return CustomerFactory(marketing_consent=True, consent_at=timezone.now(), consent_source="web_form", **fields)


class MessageFactory(factory.django.DjangoModelFactory):
    """A queued email due now; build other states with the fields each needs (the constraints)."""

    class Meta:
        model = Message

    customer = factory.SubFactory(CustomerFactory)
    channel = "email"
    purpose = "transactional"
    recipient = factory.LazyAttribute(lambda m: m.customer.email)
    subject = "Thank you"
    html = "<p>Thank you</p>"
    text = "Thank you"
    source_key = factory.Sequence(lambda n: f"test:{n}")
    due_at = factory.LazyFunction(timezone.now)
    message_id = factory.Sequence(lambda n: f"<test-{n}@example.com>")
