"""Campaigns: building, scheduling, starting a run, writing its messages in chunks, cancelling."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from contact_plans.campaigns import bulk, services
from contact_plans.messaging.bulk import ChunkRenderer
from contact_plans.models import (
    AddressStatus,
    Campaign,
    CampaignRecipient,
    CampaignRun,
    ContactPreference,
    Message,
    MessageTemplate,
)

from .campaign_helpers import campaign_for, newsletter_template, segment_of, start
from .factories import MessageTemplateFactory, consenting_customer

pytestmark = pytest.mark.django_db


def test_a_run_writes_one_queued_message_per_consenting_member_with_its_language(settings):
    settings.CAMPAIGN_CHUNK_SIZE = 2
    english, catalan, third = consenting_customer(), consenting_customer(language="ca"), consenting_customer()
    campaign = campaign_for(segment_of(english, catalan, third), newsletter_template())

    run = start(campaign)

    run.refresh_from_db()
    assert (run.audience, run.in_control, run.chunks, run.chunks_done, run.state) == (3, 0, 2, 2, "queued")
    messages = {m.customer_id: m for m in Message.objects.all()}
    assert set(messages) == {english.pk, catalan.pk, third.pk}
    assert messages[catalan.pk].subject == "Les nostres notícies" and messages[catalan.pk].language == "ca"
    assert all(m.state == "queued" and m.purpose == "promotional" and m.topic == "news" for m in messages.values())
    assert messages[english.pk].source_key == f"campaign:{run.pk}:{english.pk}"
    # The unsubscribe footer carries each customer's own link.
    assert messages[english.pk].html != messages[third.pk].html
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.STARTED and campaign.next_send_on is None


def test_the_outbox_reasons_leave_customers_out_at_enqueue():
    no_consent = consenting_customer()
    no_consent.marketing_consent, no_consent.consent_at, no_consent.consent_source = False, None, ""
    no_consent.save()
    bounced, declined, no_email, fine = (
        consenting_customer(),
        consenting_customer(),
        consenting_customer(email=""),
        consenting_customer(),
    )
    AddressStatus.objects.create(channel="email", address=bounced.email.upper().lower(), status="bounced")
    ContactPreference.objects.create(customer=declined, channel="email", topic="news", subscribed=False)
    campaign = campaign_for(segment_of(no_consent, bounced, declined, no_email, fine), newsletter_template())

    start(campaign)

    states = {m.customer_id: (m.state, m.reason) for m in Message.objects.all()}
    assert states == {
        no_consent.pk: ("suppressed", "no_consent"),
        bounced.pk: ("suppressed", "bounced"),
        declined.pk: ("suppressed", "unsubscribed"),
        no_email.pk: ("suppressed", "no_address"),
        fine.pk: ("queued", ""),
    }


def test_each_customer_gets_the_message_at_the_local_hour_of_their_own_time_zone():
    jakarta = consenting_customer(time_zone="Asia/Jakarta")
    madrid = consenting_customer(time_zone="Europe/Madrid")
    unknown = consenting_customer(time_zone="Mars/Olympus")
    campaign = campaign_for(
        segment_of(jakarta, madrid, unknown), newsletter_template(), send_on=date(2031, 3, 4), send_time=time(10, 0)
    )

    start(campaign)

    due = {m.customer_id: m.due_at for m in Message.objects.all()}
    assert due[jakarta.pk] == datetime(2031, 3, 4, 3, 0, tzinfo=UTC)  # 10:00 WIB (UTC+7)
    assert due[madrid.pk] == datetime(2031, 3, 4, 9, 0, tzinfo=UTC)  # 10:00 CET (UTC+1)
    assert due[unknown.pk] == datetime(2031, 3, 4, 10, 0, tzinfo=UTC)  # an unknown zone is UTC


def test_a_local_time_already_past_when_the_run_starts_is_due_at_once():
    jakarta = consenting_customer(time_zone="Asia/Jakarta")
    madrid = consenting_customer(time_zone="Europe/Madrid")
    campaign = campaign_for(
        segment_of(jakarta, madrid), newsletter_template(), send_on=date(2031, 3, 4), send_time=time(10, 0)
    )
    late = datetime(2031, 3, 4, 6, 0, tzinfo=UTC)  # past 10:00 in Jakarta (03:00 UTC), before Madrid's

    start(campaign, at=late)

    due = {m.customer_id: m.due_at for m in Message.objects.all()}
    assert due == {jakarta.pk: late, madrid.pk: datetime(2031, 3, 4, 9, 0, tzinfo=UTC)}


def test_a_run_does_not_start_before_the_first_time_zone_reaches_the_send_time():
    campaign = campaign_for(segment_of(consenting_customer()), newsletter_template(), send_on=date(2031, 3, 4))
    first_moment = datetime(2031, 3, 3, 20, 0, tzinfo=UTC)  # 10:00 on the 4th in UTC+14

    assert services.campaign_run_start(campaign_id=campaign.pk, now=first_moment - timedelta(minutes=20)) is None
    assert services.campaign_run_start(campaign_id=campaign.pk, now=first_moment - timedelta(minutes=14)) is not None
    assert services.campaign_run_start(campaign_id=campaign.pk, now=first_moment) is None  # one run per date


def test_the_control_group_is_an_exact_random_share_recorded_and_never_sent():
    customers = [consenting_customer() for _ in range(20)]
    campaign = campaign_for(segment_of(*customers), newsletter_template(), control_percent=25)

    run = start(campaign)

    control = set(CampaignRecipient.objects.filter(run=run, in_control=True).values_list("customer_id", flat=True))
    assert len(control) == 5 and run.in_control == 5
    assert not Message.objects.filter(customer_id__in=control).exists()
    assert Message.objects.count() == 15


def test_a_chunk_run_twice_adds_nothing(settings):
    settings.CAMPAIGN_CHUNK_SIZE = 10
    campaign = campaign_for(segment_of(*[consenting_customer() for _ in range(4)]), newsletter_template())
    run = start(campaign)
    first, last = CampaignRecipient.objects.filter(run=run).order_by("id").values_list("id", flat=True)[::3]

    again = bulk.chunk_write(run_id=run.pk, first_id=first, last_id=last)

    assert again == 0 and Message.objects.count() == 4
    # Even with its recipients marked unwritten (a crash between the two statements cannot
    # happen, they share a transaction; this is the source keys' own guarantee).
    CampaignRun.objects.filter(pk=run.pk).update(state="preparing", chunks_done=0)
    CampaignRecipient.objects.filter(run=run).update(written=False)
    assert bulk.chunk_write(run_id=run.pk, first_id=first, last_id=last) == 0
    assert Message.objects.count() == 4
    assert CampaignRecipient.objects.filter(run=run, message__isnull=False).count() == 4


def test_a_newsletter_is_rendered_once_per_language_and_a_personal_one_per_customer():
    ann, bea = consenting_customer(name="Ann Lee"), consenting_customer(name="Bea Roig")
    personal = newsletter_template(contents={"en": {"subject": "Hi {{ customer.first_name }}", "html": "<p>Hi</p>"}})
    campaign = campaign_for(segment_of(ann, bea), personal)

    start(campaign)

    assert sorted(Message.objects.values_list("subject", flat=True)) == ["Hi Ann", "Hi Bea"]
    renderer = ChunkRenderer(newsletter_template())
    content = renderer.template.contents.get(language="en")
    assert renderer.shared_for(content) is not None
    assert ChunkRenderer(personal).shared_for(personal.contents.get()) is None


def test_cancel_withdraws_what_is_queued_and_keeps_what_was_sent():
    customers = [consenting_customer() for _ in range(3)]
    campaign = campaign_for(segment_of(*customers), newsletter_template())
    run = start(campaign)
    sent = Message.objects.get(customer=customers[0])
    Message.objects.filter(pk=sent.pk).update(state="sent", sent_at=timezone.now())

    withdrawn = services.campaign_cancel(campaign=campaign)

    assert withdrawn == 2
    assert list(Message.objects.values_list("pk", flat=True)) == [sent.pk]
    assert CampaignRecipient.objects.filter(run=run, withdrawn=True).count() == 2
    campaign.refresh_from_db()
    run.refresh_from_db()
    assert campaign.state == "cancelled" and campaign.cancelled_at and run.state == "cancelled"


def test_a_cancelled_run_writes_nothing_more(settings):
    settings.CAMPAIGN_CHUNK_SIZE = 1
    campaign = campaign_for(segment_of(consenting_customer(), consenting_customer()), newsletter_template())
    from unittest import mock

    with mock.patch("contact_plans.campaigns.tasks.campaign_chunk_write_task.delay"):
        run = start(campaign)
    services.campaign_cancel(campaign=campaign)

    ids = CampaignRecipient.objects.filter(run=run).values_list("id", flat=True)
    assert bulk.chunk_write(run_id=run.pk, first_id=min(ids), last_id=max(ids)) == 0
    assert not Message.objects.exists()
    assert CampaignRecipient.objects.filter(run=run, withdrawn=True).count() == 2


def test_a_scheduled_campaign_is_cancelled_before_any_run():
    campaign = campaign_for(segment_of(consenting_customer()), newsletter_template())

    assert services.campaign_cancel(campaign=campaign) == 0
    assert services.campaigns_start_due(now=timezone.now() + timedelta(days=30)) == 0
    with pytest.raises(ValidationError, match="nothing to cancel"):
        services.campaign_cancel(campaign=campaign)


def test_a_weekly_campaign_moves_on_and_a_monthly_one_keeps_its_day():
    campaign = campaign_for(
        segment_of(consenting_customer()), newsletter_template(), recurrence="weekly", send_on=date(2031, 1, 7)
    )
    start(campaign)
    campaign.refresh_from_db()

    assert campaign.state == "scheduled" and campaign.next_send_on == date(2031, 1, 14)
    assert services.next_date(date(2031, 1, 31), "monthly", date(2031, 1, 31)) == date(2031, 2, 28)
    assert services.next_date(date(2031, 2, 28), "monthly", date(2031, 1, 31)) == date(2031, 3, 31)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"segment": "empty"}, "segment", "has no customers"),
        ({"template": None}, "template", "Choose a message template"),
        ({"segment": None}, "segment", "Choose the segment"),
        ({"send_on": date(2020, 1, 1)}, "send_on", "have passed"),
        ({"control_percent": 80}, "control_percent", "between 0 and 50"),
        ({"template": "sms"}, "template", "SMS template"),
        ({"template": "inactive"}, "template", "inactive"),
        ({"name": " "}, "name", "name"),
    ],
)
def test_scheduling_refuses_bad_input_with_a_clear_error_and_saves_nothing(change, field, words):
    fields = {"segment": segment_of(consenting_customer()), "template": newsletter_template()}
    value = next(iter(change.values()))
    if value == "empty":
        change = {"segment": segment_of()}
    elif value == "sms":
        change = {"template": MessageTemplateFactory(channel="sms", contents={"en": {"text": "Hi"}})}
    elif value == "inactive":
        change = {"template": newsletter_template(is_active=False)}
    fields.update(change)

    with pytest.raises(ValidationError) as error:
        campaign_for(fields.pop("segment"), fields.pop("template"), **fields)

    assert field in error.value.message_dict and words in " ".join(error.value.message_dict[field])
    assert not Campaign.objects.exists()


def test_a_deleted_template_keeps_the_campaign_from_starting_and_says_why():
    template = newsletter_template()
    campaign = campaign_for(segment_of(consenting_customer()), template)
    MessageTemplate.objects.filter(pk=template.pk).delete()
    campaign.refresh_from_db()

    assert start(campaign) is None
    from contact_plans.campaigns.selectors import campaign_problems

    assert "deleted" in campaign_problems(campaign)[0]
    with pytest.raises(ValidationError):
        services.campaign_update(campaign=campaign, name="Renamed")
