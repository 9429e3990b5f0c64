"""The campaign pages: the list, the builder, a campaign's page (audience preview, message per
language, schedule, cancel) and its results, for marketers, account managers and strangers."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from contact_plans.models import Campaign, CampaignRecipient, LinkClick, Message
from customers.models import Customer
from tests.customers.factories import OrderFactory

from .campaign_helpers import campaign_for, newsletter_template, segment_of, start
from .factories import consenting_customer

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def book(alice, bob):
    """Two customers of alice's book and one of bob's, all in one segment."""
    ann = consenting_customer(name="Ann Alice", account_manager=alice)
    ali = consenting_customer(name="Ali Alice", account_manager=alice, language="ca")
    ben = consenting_customer(name="Ben Bob", account_manager=bob)
    return {"ann": ann, "ali": ali, "ben": ben, "segment": segment_of(ann, ali, ben, name="Everyone")}


def test_a_marketer_builds_and_schedules_a_campaign_in_the_browser(marta, book):
    template = newsletter_template()
    send_on = (timezone.localdate() + timedelta(days=3)).isoformat()

    response = _client(marta).post(
        "/campaigns/new/",
        {
            "name": "March newsletter",
            "kind": "newsletter",
            "template": template.pk,
            "segment": book["segment"].pk,
            "recurrence": "once",
            "send_on": send_on,
            "send_time": "10:00",
            "control_percent": "10",
            "track_links": "on",
            "schedule": "1",
        },
    )

    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.state == "scheduled" and campaign.created_by == marta and campaign.track_links


def test_bad_input_is_shown_on_the_form_and_nothing_is_saved(marta, book):
    response = _client(marta).post(
        "/campaigns/new/",
        {
            "name": "Empty",
            "kind": "newsletter",
            "template": newsletter_template().pk,
            "segment": segment_of().pk,
            "recurrence": "once",
            "send_on": "2020-01-01",
            "send_time": "10:00",
            "control_percent": "70",
            "schedule": "1",
        },
    )

    assert response.status_code == 400 and not Campaign.objects.exists()
    assert "between 0 and 50" in response.content.decode() or "less than or equal to 50" in response.content.decode()


def test_the_campaign_page_previews_the_audience_with_reasons_and_the_message_per_language(marta, book):
    book["ben"].marketing_consent, book["ben"].consent_at, book["ben"].consent_source = False, None, ""
    book["ben"].save()
    campaign = campaign_for(book["segment"], newsletter_template(), schedule=False)

    page = _client(marta).get(f"/campaigns/{campaign.pk}/").content.decode()

    assert 'id="audience-members">3<' in page and 'id="audience-to-send">2<' in page
    assert 'data-reason="no_consent"' in page and "Ben Bob" in page
    assert "Les nostres notícies" in page and "Our news" in page
    body = _client(marta).get(f"/campaigns/{campaign.pk}/preview/ca/")
    assert body.status_code == 200 and "sandbox" in body["Content-Security-Policy"]


def test_an_account_manager_reads_the_campaign_counting_only_their_book(alice, charlie, book):
    campaign = campaign_for(book["segment"], newsletter_template())

    page = _client(alice).get(f"/campaigns/{campaign.pk}/").content.decode()

    assert 'id="audience-members">2<' in page and "Ben Bob" not in page
    assert "cancel-campaign" not in page
    assert _client(alice).post(f"/campaigns/{campaign.pk}/cancel/").status_code == 404
    assert _client(alice).get("/campaigns/new/").status_code == 404
    for path in ("/campaigns/", f"/campaigns/{campaign.pk}/", f"/campaigns/{campaign.pk}/results/"):
        assert _client(charlie).get(path).status_code == 404


def test_cancel_in_the_browser_withdraws_the_queued_messages(marta, book):
    campaign = campaign_for(book["segment"], newsletter_template())
    start(campaign)
    assert Message.objects.filter(state="queued").count() == 3

    response = _client(marta).post(f"/campaigns/{campaign.pk}/cancel/", follow=True)

    assert "3 queued messages withdrawn" in response.content.decode()
    assert not Message.objects.exists()


def test_the_results_page_and_csv_show_the_figures_and_the_uplift_against_the_control_group(marta, alice, book):
    extra = [consenting_customer(account_manager=alice) for _ in range(7)]
    segment = segment_of(book["ann"], book["ali"], book["ben"], *extra)
    campaign = campaign_for(segment, newsletter_template(), control_percent=30)
    run = start(campaign)
    now = timezone.now()
    Message.objects.update(state="sent", sent_at=now - timedelta(days=2))
    sent = list(Message.objects.all())
    LinkClick.objects.create(message=sent[0], customer_id=sent[0].customer_id, url="https://shop.example/")
    OrderFactory(customer=sent[0].customer, ordered_at=now - timedelta(days=1))
    control = CampaignRecipient.objects.filter(run=run, in_control=True).first()
    CampaignRecipient.objects.filter(run=run, in_control=True).update(due_at=now - timedelta(days=2))

    page = _client(marta).get(f"/campaigns/{campaign.pk}/results/").content.decode()
    csv = _client(marta).get(f"/campaigns/{campaign.pk}/results.csv").content.decode()

    assert control is not None and run.in_control == 3
    assert "chart-uplift-data" in page and "Clicked a link" in page
    assert "Audience,10" in csv and "In the control group,3" in csv and "Sent,7" in csv and "Clicked a link,1" in csv
    assert "Purchased within 30 days: sent,14.3%" in csv
    alice_page = _client(alice).get(f"/campaigns/{campaign.pk}/results/").content.decode()
    assert "customers of your book" in alice_page
    assert Customer.objects.count() == 10
