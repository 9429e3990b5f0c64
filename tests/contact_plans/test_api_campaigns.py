"""The campaigns API: CRUD, schedule, cancel, the audience preview and the results, by role."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contact_plans.models import Campaign, Message
from tests.conftest import api_client_for

from .campaign_helpers import campaign_for, newsletter_template, segment_of, start
from .factories import MessageTemplateFactory, consenting_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(alice, bob):
    ann = consenting_customer(name="Ann", account_manager=alice)
    ben = consenting_customer(name="Ben", account_manager=bob, email="")
    return {"segment": segment_of(ann, ben), "template": newsletter_template(), "ann": ann, "ben": ben}


def _body(setup, **extra):
    return {
        "name": "April news",
        "kind": "news",
        "template_id": setup["template"].pk,
        "segment_id": setup["segment"].pk,
        "send_on": str(timezone.localdate() + timedelta(days=5)),
        "send_time": "09:30",
        "control_percent": 20,
        **extra,
    }


def test_a_marketer_creates_schedules_and_cancels_a_campaign(marta, setup):
    api = api_client_for(marta)

    created = api.post("/api/v1/campaigns/", _body(setup), format="json")
    scheduled = api.post(f"/api/v1/campaigns/{created.data['id']}/schedule/")
    cancelled = api.post(f"/api/v1/campaigns/{created.data['id']}/cancel/")

    assert created.status_code == 201 and created.data["state"] == "draft" and created.data["control_percent"] == 20
    assert scheduled.status_code == 200 and scheduled.data["state"] == "scheduled"
    assert scheduled.data["next_send_on"] == _body(setup)["send_on"]
    assert cancelled.status_code == 200 and cancelled.data["state"] == "cancelled" and cancelled["Withdrawn"] == "0"


def test_bad_input_gets_the_error_shape_naming_the_field(marta, setup):
    api = api_client_for(marta)
    sms = MessageTemplateFactory(channel="sms", contents={"en": {"text": "Hi"}})

    cases = [
        (_body(setup, template_id=999999), "template_id", "no message template"),
        (_body(setup, segment_id=segment_of().pk, schedule=True), "segment_id", "has no customers"),
        (_body(setup, send_on="2020-02-02", schedule=True), "send_on", "have passed"),
        (_body(setup, template_id=sms.pk), "template_id", "SMS"),
        (_body(setup, control_percent=90), "control_percent", "50"),
    ]
    for body, field, words in cases:
        response = api.post("/api/v1/campaigns/", body, format="json")
        assert response.status_code == 400, body
        assert words in " ".join(response.json()["error"]["fields"][field]), response.json()
    assert not Campaign.objects.exists()


def test_a_deleted_template_is_reported_on_the_campaign(marta, setup):
    campaign = campaign_for(setup["segment"], setup["template"])
    setup["template"].delete()

    response = api_client_for(marta).get(f"/api/v1/campaigns/{campaign.pk}/")

    assert response.data["template_id"] is None and "deleted" in response.data["problems"][0]


def test_the_audience_preview_gives_the_outbox_reasons_scoped_to_the_reader(marta, alice, setup):
    campaign = campaign_for(setup["segment"], setup["template"], schedule=False)

    everyone = api_client_for(marta).get(f"/api/v1/campaigns/{campaign.pk}/audience/").data
    alices = api_client_for(alice).get(f"/api/v1/campaigns/{campaign.pk}/audience/").data

    assert (everyone["members"], everyone["sendable"]) == (2, 1)
    assert everyone["left_out"][0]["reason"] == "no_address" and everyone["left_out"][0]["examples"][0]["name"] == "Ben"
    assert (alices["members"], alices["sendable"], alices["left_out"]) == (1, 1, [])


def test_account_managers_read_but_do_not_write_and_strangers_see_nothing(alice, charlie, setup):
    campaign = campaign_for(setup["segment"], setup["template"])

    reader = api_client_for(alice)
    assert reader.get("/api/v1/campaigns/").status_code == 200
    assert reader.post("/api/v1/campaigns/", _body(setup), format="json").status_code == 403
    assert reader.post(f"/api/v1/campaigns/{campaign.pk}/cancel/").status_code == 403
    assert reader.patch(f"/api/v1/campaigns/{campaign.pk}/", {"name": "x"}, format="json").status_code == 403
    stranger = api_client_for(charlie)
    for path in (
        "/api/v1/campaigns/",
        f"/api/v1/campaigns/{campaign.pk}/",
        f"/api/v1/campaigns/{campaign.pk}/results/",
    ):
        assert stranger.get(path).status_code == 404


def test_patch_changes_a_scheduled_campaign_and_a_started_one_is_refused(marta, setup):
    api = api_client_for(marta)
    campaign = campaign_for(setup["segment"], setup["template"])

    renamed = api.patch(f"/api/v1/campaigns/{campaign.pk}/", {"name": "Renamed", "send_time": "11:00"}, format="json")
    start(Campaign.objects.get(pk=campaign.pk))
    refused = api.patch(f"/api/v1/campaigns/{campaign.pk}/", {"name": "Again"}, format="json")
    deleted = api.delete(f"/api/v1/campaigns/{campaign.pk}/")

    assert renamed.status_code == 200 and renamed.data["name"] == "Renamed" and renamed.data["send_time"] == "11:00"
    assert refused.status_code == 400 and "state" in refused.json()["error"]["fields"]
    assert deleted.status_code == 400


def test_the_results_count_the_readers_customers(marta, alice, setup):
    campaign = campaign_for(setup["segment"], setup["template"])
    start(campaign)
    Message.objects.filter(state="queued").update(state="sent", sent_at=timezone.now())

    everyone = api_client_for(marta).get(f"/api/v1/campaigns/{campaign.pk}/results/").data
    alices = api_client_for(alice).get(f"/api/v1/campaigns/{campaign.pk}/results/").data

    assert (everyone["audience"], everyone["sent"], everyone["suppressed"]) == (2, 1, 1)
    assert everyone["suppressed_by_reason"] == [{"reason": "no_address", "label": "No address", "count": 1}]
    assert (alices["audience"], alices["sent"], alices["suppressed"]) == (1, 1, 0)
    assert everyone["uplift"]["control"] == 0 and everyone["uplift"]["difference"] is None


def test_the_preview_counts_customers_at_the_frequency_cap_and_bounced_addresses(marta, settings):
    from contact_plans.models import AddressStatus

    from .factories import MessageFactory

    capped, bounced, fine = (
        consenting_customer(name="Capped"),
        consenting_customer(name="Bounced"),
        consenting_customer(),
    )
    for n in range(settings.MESSAGING_FREQUENCY_CAP):
        MessageFactory(
            customer=capped,
            purpose="promotional",
            state="sent",
            sent_at=timezone.now() - timedelta(days=1),
            source_key=f"earlier:{n}",
        )
    AddressStatus.objects.create(channel="email", address=bounced.email, status="bounced")
    campaign = campaign_for(segment_of(capped, bounced, fine), newsletter_template(), schedule=False)

    preview = api_client_for(marta).get(f"/api/v1/campaigns/{campaign.pk}/audience/").data

    reasons = {item["reason"]: (item["count"], [e["name"] for e in item["examples"]]) for item in preview["left_out"]}
    assert reasons == {"frequency_cap": (1, ["Capped"]), "bounced": (1, ["Bounced"])}
    assert (preview["members"], preview["sendable"]) == (3, 1)
