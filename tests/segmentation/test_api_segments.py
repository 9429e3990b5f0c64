"""/api/v1/segments/: permissions by persona, validation errors, shapes, members, events, preview."""

import pytest

from segmentation import services
from segmentation.models import Segment
from tests.conftest import api_client_for
from tests.customers.factories import CustomerFactory

from .segment_factories import group, metrics, rule

pytestmark = pytest.mark.django_db

URL = "/api/v1/segments/"
AT_RISK = group(rule("metrics.churn_risk", "gte", 0.7))


@pytest.fixture
def segment(marta, alice, bob):
    """A refreshed segment with one member in Alice's book, one in Bob's and one in nobody's."""
    for name, manager in (("Ann", alice), ("Ben", bob), ("Cat", None)):
        metrics(CustomerFactory(name=name, account_manager=manager), churn_risk=0.9)
    segment = services.segment_create(name="At risk", definition=AT_RISK, user=marta)
    services.segment_refresh(segment_id=segment.pk)
    return segment


def test_marta_creates_a_segment(marta):
    response = api_client_for(marta).post(URL, {"name": "At risk", "definition": AT_RISK}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "At risk"
    assert body["kind"] == "rule"
    assert body["definition"] == {
        "op": "and",
        "rules": [{"field": "metrics.churn_risk", "operator": "gte", "value": 0.7}],
    }
    assert body["definition_text"] == "Churn risk is at least 0.7"
    assert body["created_by"] == "marta"
    assert set(body) >= {"id", "member_count", "refreshed_at", "is_active", "description", "display_name"}


def test_validation_errors_use_the_shared_body_with_the_place_in_the_tree(marta):
    definition = group(rule("customer.country", "eq", "GB"), group(rule("metrics.churn_risk", "gt", "abc")))

    response = api_client_for(marta).post(URL, {"name": "", "definition": definition}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "name" in error["fields"]


def test_definition_errors_are_keyed_by_their_place(marta):
    definition = group(rule("customer.country", "eq", "GB"), group(rule("metrics.churn_risk", "gt", "abc")))

    response = api_client_for(marta).post(URL, {"name": "Bad", "definition": definition}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "definition.rules[1].rules[0].value": ["“abc” is text where a number is needed."]
    }
    assert not Segment.objects.filter(name="Bad").exists()


def test_unknown_input_field_is_refused(marta):
    response = api_client_for(marta).post(URL, {"name": "X", "definition": AT_RISK, "colour": "red"}, format="json")

    assert response.status_code == 400
    assert "colour" in response.json()["error"]["fields"]


def test_create_with_an_idempotency_key_replays(marta):
    client = api_client_for(marta)
    payload = {"name": "Once", "definition": AT_RISK}

    first = client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert Segment.objects.filter(name="Once").count() == 1


def test_alice_reads_but_cannot_write(alice, segment):
    client = api_client_for(alice)

    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}{segment.pk}/").status_code == 200
    assert client.post(URL, {"name": "Mine", "definition": AT_RISK}, format="json").status_code == 403
    assert client.put(f"{URL}{segment.pk}/", {"name": "X", "definition": AT_RISK}, format="json").status_code == 403
    assert client.patch(f"{URL}{segment.pk}/", {"name": "X"}, format="json").status_code == 403
    assert client.delete(f"{URL}{segment.pk}/").status_code == 403
    assert client.post(f"{URL}{segment.pk}/refresh/").status_code == 403


def test_charlie_sees_nothing(charlie, segment):
    client = api_client_for(charlie)

    assert client.get(URL).json()["results"] == []
    assert client.get(f"{URL}{segment.pk}/").status_code == 404
    assert client.get(f"{URL}{segment.pk}/members/").status_code == 404
    assert client.get(f"{URL}{segment.pk}/events/").status_code == 404
    assert client.patch(f"{URL}{segment.pk}/", {"name": "X"}, format="json").status_code == 404
    assert client.get(f"{URL}conditions/").status_code == 403


def test_members_are_restricted_to_alices_book(alice, marta, segment):
    alice_sees = api_client_for(alice).get(f"{URL}{segment.pk}/members/").json()
    marta_sees = api_client_for(marta).get(f"{URL}{segment.pk}/members/").json()

    assert [member["name"] for member in alice_sees["results"]] == ["Ann"]
    assert sorted(member["name"] for member in marta_sees["results"]) == ["Ann", "Ben", "Cat"]
    assert set(alice_sees["results"][0]) == {
        "customer_id",
        "external_id",
        "name",
        "email",
        "account_manager",
        "entered_at",
    }
    assert alice_sees["results"][0]["account_manager"] == "alice"
    assert {"next", "previous"} <= set(alice_sees)


def test_members_paginate_with_a_cursor(marta, segment):
    client = api_client_for(marta)

    first = client.get(f"{URL}{segment.pk}/members/?page_size=2").json()
    second = client.get(first["next"]).json()

    names = [m["name"] for m in first["results"]] + [m["name"] for m in second["results"]]
    assert sorted(names) == ["Ann", "Ben", "Cat"]
    assert second["next"] is None


def test_events_are_visible_ones_with_times(alice, segment):
    response = api_client_for(alice).get(f"{URL}{segment.pk}/events/?kind=entered")

    results = response.json()["results"]
    assert [(event["kind"], event["external_id"]) for event in results] == [
        ("entered", segment.memberships.get(customer__name="Ann").customer.external_id)
    ]
    assert results[0]["at"]
    assert api_client_for(alice).get(f"{URL}{segment.pk}/events/?kind=left").status_code == 400
    assert api_client_for(alice).get(f"{URL}{segment.pk}/events/?since=2999-01-01T00:00:00Z").json()["results"] == []


def test_preview_counts_and_samples_visible_customers(alice, marta, segment):
    payload = {"definition": AT_RISK}

    marta_body = api_client_for(marta).post(f"{URL}preview/", payload, format="json").json()
    alice_body = api_client_for(alice).post(f"{URL}preview/", payload, format="json").json()

    assert marta_body["count"] == 3 and not marta_body["matches_nobody"]
    assert alice_body["count"] == 1
    assert [customer["name"] for customer in alice_body["sample"]] == ["Ann"]
    assert alice_body["definition_text"] == "Churn risk is at least 0.7"


def test_preview_of_a_contradiction_matches_nobody(marta, segment):
    definition = group(rule("metrics.churn_risk", "gt", 0.8), rule("metrics.churn_risk", "lt", 0.2))

    body = api_client_for(marta).post(f"{URL}preview/", {"definition": definition}, format="json").json()

    assert (body["count"], body["matches_nobody"], body["sample"]) == (0, True, [])


def test_preview_for_a_segment_refuses_its_own_members(marta, segment):
    client = api_client_for(marta)
    own = group(rule("segment.member_of", "in", [segment.pk]))

    default = client.post(f"{URL}{segment.pk}/preview/", {}, format="json")
    refused = client.post(f"{URL}{segment.pk}/preview/", {"definition": own}, format="json")

    assert default.json()["count"] == 3
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {
        "definition.rules[0].value": ["A segment cannot be defined by its own members."]
    }


def test_builtins_are_read_only_even_for_marta(marta):
    builtin = Segment.objects.get(key="pareto_top")
    client = api_client_for(marta)

    assert client.patch(f"{URL}{builtin.pk}/", {"name": "Mine"}, format="json").status_code == 403
    assert client.delete(f"{URL}{builtin.pk}/").status_code == 403
    assert client.post(f"{URL}{builtin.pk}/refresh/").status_code == 202


def test_marta_updates_and_deletes(marta, segment):
    client = api_client_for(marta)

    patched = client.patch(f"{URL}{segment.pk}/", {"description": "Call them"}, format="json")
    deleted = client.delete(f"{URL}{segment.pk}/")

    assert patched.status_code == 200
    assert patched.json()["description"] == "Call them"
    assert patched.json()["definition"] == segment.definition
    assert deleted.status_code == 204
    assert not Segment.objects.filter(pk=segment.pk).exists()


def test_delete_refused_while_used_by_another_segment(marta, segment):
    services.segment_create(name="Derived", definition=group(rule("segment.member_of", "in", [segment.pk])), user=marta)

    response = api_client_for(marta).delete(f"{URL}{segment.pk}/")

    assert response.status_code == 400
    assert "Derived" in response.json()["error"]["fields"]["non_field_errors"][0]


def test_conditions_list_the_registry(alice):
    body = api_client_for(alice).get(f"{URL}conditions/").json()

    by_key = {condition["key"]: condition for condition in body}
    assert by_key["metrics.churn_risk"]["value_type"] == "number"
    assert by_key["metrics.churn_risk"]["max_value"] == 1
    assert {"key": "gt", "label": "is more than"} in by_key["metrics.churn_risk"]["operators"]
    assert {"value": "champions", "label": "Champions"} in by_key["metrics.rfm_segment"]["choices"]
    assert by_key["behaviour.bought_category"]["window"] == "optional"
    assert by_key["customer.country"]["group_label"] == "Customer"
    assert set(by_key["customer.country"]) == {
        "key",
        "label",
        "group",
        "group_label",
        "value_type",
        "operators",
        "choices",
        "window",
        "min_value",
        "max_value",
        "help_text",
    }
