"""Who is asked and the emails: invitations made in one statement, the minimum gap, employees by
team, the outbox's rules, reminders, recurrence; and the outbox's employee messages."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contact_plans.messaging import dispatch
from contact_plans.messaging.outbox import message_enqueue
from contact_plans.models import LocalDelivery, Message
from segmentation.models import Segment, SegmentMembership
from surveys import sending
from surveys.models import Invitation, Survey
from team.models import Team
from tests.contact_plans.factories import consenting_customer
from tests.customers.factories import CustomerFactory

from .factories import active_survey, employee

pytestmark = pytest.mark.django_db


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """survey_send, and the task it queues after the commit (eager, as the worker would run it)."""

    def run(survey, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return sending.survey_send(survey=survey, **kwargs)

    return run


@pytest.fixture(autouse=True)
def _local_outbox(settings):
    settings.EMAIL_BACKEND = "contact_plans.messaging.channels.local.LocalOutboxEmailBackend"
    settings.PUBLIC_BASE_URL = "https://crm.example.com"
    settings.MESSAGING_QUIET_START = settings.MESSAGING_QUIET_END = 0


def _segment_of(*customers):
    segment = Segment.objects.create(name="Everyone", kind="rule", definition={})
    for customer in customers:
        SegmentMembership.objects.create(segment=segment, customer=customer, entered_at=timezone.now())
    return segment


def test_a_segment_is_invited_in_one_statement_and_a_second_send_of_the_day_adds_nobody():
    customers = [consenting_customer() for _ in range(3)]
    survey = active_survey("nps")
    survey.segment_id = _segment_of(*customers).pk
    survey.trigger = "segment"
    survey.save()

    with CaptureQueriesContext(connection) as queries:
        created = sending.invitations_create(survey=survey, wave="2026-12-01")
    again = sending.invitations_create(survey=survey, wave="2026-12-01")

    assert created == 3 and again == 0
    assert sum("INSERT INTO surveys_invitation" in q["sql"] for q in queries.captured_queries) == 1
    assert len(queries.captured_queries) == 1


def test_nobody_is_asked_again_within_the_minimum_gap_whatever_the_survey():
    customer = CustomerFactory()
    first, second = active_survey("nps"), active_survey("csat", min_gap_days=30)
    sending.invitations_create(survey=first, wave="a", customer_ids=[customer.pk])

    blocked = sending.invitations_create(survey=second, wave="b", customer_ids=[customer.pk])
    later = sending.invitations_create(
        survey=second, wave="c", customer_ids=[customer.pk], now=timezone.now() + timedelta(days=31)
    )

    assert (blocked, later) == (0, 1)


def test_the_invitation_email_shows_the_scale_as_links_in_the_customers_language(send):
    customer = consenting_customer(name="Siti Rahma", language="id")
    survey = active_survey("nps")

    send(survey, customer_ids=[customer.pk])

    invitation = Invitation.objects.get()
    message = Message.objects.get()
    assert invitation.sent_at is not None and invitation.delivered
    assert message.customer == customer and message.purpose == "promotional" and message.topic == "surveys"
    assert message.language == "id" and "Siti" in message.html
    assert "Rahma" not in message.html  # a first name, nothing more
    assert message.html.count("https://crm.example.com/a/") == 11
    assert "Seberapa besar kemungkinan" in message.html
    assert "https://crm.example.com/m/u/" in message.html and "https://crm.example.com/m/u/" in message.text


def test_answer_links_never_go_through_the_click_recording_redirect(send, settings):
    """Each link carries its score: a recorded click would tie an answer to a person."""
    settings.MESSAGING_TRACK_LINKS = True
    customer = consenting_customer(language="en")
    ana = employee("Ana Lee", team=Team.objects.create(name="Support"))

    send(active_survey("nps"), customer_ids=[customer.pk])
    send(active_survey("enps", anonymous=True))

    for message in Message.objects.all():
        assert "https://crm.example.com/r/" not in message.html + message.text
        assert message.html.count("https://crm.example.com/a/") == 11
    assert Message.objects.filter(employee=ana).exists()


def test_a_customer_without_marketing_consent_is_invited_but_the_outbox_suppresses_it(send):
    customer = CustomerFactory(marketing_consent=False)
    survey = active_survey("csat")

    send(survey, customer_ids=[customer.pk])

    message = Message.objects.get()
    assert (message.state, message.reason) == ("suppressed", "no_consent")
    assert not Invitation.objects.get().delivered


def test_employees_of_a_team_get_a_work_email_that_the_dispatcher_sends(send):
    support, sales = Team.objects.create(name="Support"), Team.objects.create(name="Sales")
    ana, _ben = employee("Ana Lee", team=support, language="ca"), employee("Ben Ong", team=sales)
    survey = active_survey("enps", team=support)

    send(survey)
    message = Message.objects.get()
    outcome = dispatch.messages_send_batch(message_ids=[message.pk])

    assert message.employee == ana and message.customer is None and message.purpose == "transactional"
    assert message.recipient == "ana.lee@staff.example.com" and message.language == "ca"
    assert outcome["sent"] == 1
    assert LocalDelivery.objects.get().recipient == "ana.lee@staff.example.com"


def test_an_employee_message_is_transactional_and_goes_to_one_person_only():
    ana = employee("Ana Lee")
    customer = CustomerFactory()

    with pytest.raises(ValueError):
        message_enqueue(employee=ana, channel="email", purpose="promotional", source_key="x", subject="s", html="h")
    with pytest.raises(ValueError):
        message_enqueue(customer=customer, employee=ana, channel="email", purpose="transactional", source_key="y")
    message = message_enqueue(
        employee=ana, channel="email", purpose="transactional", source_key="z", subject="s", html="h"
    )
    with pytest.raises(IntegrityError):
        Message.objects.filter(pk=message.pk).update(customer=customer)


def test_one_reminder_goes_to_those_who_have_not_answered(send):
    quiet, answered = consenting_customer(), consenting_customer()
    survey = active_survey("nps", reminder_after_days=3)
    send(survey, customer_ids=[quiet.pk, answered.pk])
    Invitation.objects.filter(customer=answered).update(answered=True)
    later = timezone.now() + timedelta(days=4)

    first, second = sending.reminders_send(now=later), sending.reminders_send(now=later)

    assert (first, second) == (1, 0)
    reminder = Message.objects.get(source_key__startswith="survey-reminder:")
    assert reminder.customer == quiet and "reminder" in reminder.subject.lower()


def test_recurring_surveys_are_due_after_their_interval(send):
    survey = active_survey("pulse")  # weekly
    employee("Ana Lee")

    assert sending.surveys_due() == [survey.pk]
    send(survey)
    assert sending.surveys_due() == []
    assert sending.surveys_due(now=timezone.now() + timedelta(days=7, minutes=1)) == [survey.pk]


def test_only_an_active_survey_is_sent():
    survey = active_survey("nps")
    Survey.objects.filter(pk=survey.pk).update(status="draft")
    survey.refresh_from_db()

    with pytest.raises(ValueError):
        sending.survey_send(survey=survey, customer_ids=[])
