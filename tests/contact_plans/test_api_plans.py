"""API of contact plans: plans with steps (create, change, delete a draft, results, enrol a segment),
enrolments (create, list, end), and plans' tasks (list, complete with an outcome); the error shape by
field; marta (marketer) writes, alice reads and works her book, bob gets 404 for alice's customers,
charlie gets 404 or an empty list."""

import pytest
from django.utils import timezone

from contact_plans.models import ContactPlan, Enrolment, FollowUp
from contact_plans.plans import services
from contact_plans.plans.validation import StepData
from segmentation.models import SegmentMembership
from tests.conftest import api_client_for
from tests.segmentation.factories import SegmentFactory

from .factories import consenting_customer
from .plan_helpers import build_plan, email_template
from .test_plans_services import run_all
from .worklist_helpers import book_customer

pytestmark = pytest.mark.django_db


def plan_body(template, **overrides):
    body = {
        "name": "Check-in",
        "purpose": "promotional",
        "trigger": "days_after_purchase",
        "trigger_days": 60,
        "control_percent": 10,
        "steps": [
            {"kind": "email", "template_id": template.pk},
            {"kind": "task", "task_kind": "call", "delay_days": 2, "branches": {"not_interested": "end"}},
        ],
    }
    body.update(overrides)
    return body


def consenting_of(manager, **fields):
    return book_customer(
        manager, marketing_consent=True, consent_at=timezone.now(), consent_source="web_form", **fields
    )


def test_a_marketer_creates_a_plan_with_its_steps(marta):
    template = email_template()

    response = api_client_for(marta).post("/api/v1/plans/", plan_body(template), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert [s["kind"] for s in data["steps"]] == ["email", "task"]
    assert data["steps"][1]["branches"] == {"not_interested": "end"}
    assert data["problems"] == []


def test_a_bad_plan_answers_400_naming_the_step(marta):
    template = email_template()
    body = plan_body(template, steps=[{"kind": "task", "task_kind": "call", "branches": {"no_answer": 1}}])

    response = api_client_for(marta).post("/api/v1/plans/", body, format="json")

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "makes a cycle" in fields["steps.0.branches.no_answer"][0]


def test_a_plan_without_steps_answers_400(marta):
    response = api_client_for(marta).post("/api/v1/plans/", plan_body(email_template(), steps=[]), format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["steps"] == ["A plan needs at least one step."]


def test_an_account_manager_reads_plans_but_may_not_write_them(alice, charlie):
    plan = build_plan()

    assert api_client_for(alice).get(f"/api/v1/plans/{plan.pk}/").status_code == 200
    assert api_client_for(alice).post("/api/v1/plans/", plan_body(email_template()), format="json").status_code == 403
    assert api_client_for(charlie).get(f"/api/v1/plans/{plan.pk}/").status_code == 404


def test_a_plan_is_changed_with_put_and_a_draft_deleted(marta):
    plan = build_plan()
    client = api_client_for(marta)

    changed = client.put(f"/api/v1/plans/{plan.pk}/", plan_body(email_template(), name="Renamed"), format="json")
    deleted = client.delete(f"/api/v1/plans/{plan.pk}/")

    assert changed.status_code == 200 and changed.json()["name"] == "Renamed"
    assert deleted.status_code == 204 and not ContactPlan.objects.exists()


def test_a_plan_that_enrolled_someone_is_not_deleted(marta):
    plan = build_plan(trigger="manual")
    services.enrolment_create(plan=plan, customer=consenting_customer())

    response = api_client_for(marta).delete(f"/api/v1/plans/{plan.pk}/")

    assert response.status_code == 400 and "pause it instead" in response.json()["error"]["fields"]["plan"][0]


def test_enrolling_a_segment_and_reading_the_results(marta):
    plan = build_plan(trigger="manual", control_percent=20)
    segment = SegmentFactory()
    SegmentMembership.objects.bulk_create(
        SegmentMembership(segment=segment, customer=consenting_customer(), entered_at=timezone.now()) for _ in range(10)
    )
    client = api_client_for(marta)

    enrolled = client.post(f"/api/v1/plans/{plan.pk}/enrol-segment/", {"segment_id": segment.pk}, format="json")
    run_all()
    results = client.get(f"/api/v1/plans/{plan.pk}/results/").json()

    assert enrolled.status_code == 201 and enrolled.json()["enrolled"] == 10
    assert results["enrolled"] + results["control"] == 10
    assert results["steps"][0]["messages"].get("queued", 0) == results["enrolled"]
    assert set(results["purchased_within_30_days"]) >= {"difference", "low", "high"}


def test_an_account_manager_enrols_a_customer_of_their_book_and_ends_it(alice, bob):
    plan = build_plan(trigger="manual")
    customer = consenting_of(alice)

    stranger = api_client_for(bob).post(
        "/api/v1/plan-enrolments/", {"plan_id": plan.pk, "customer_id": customer.pk}, format="json"
    )
    created = api_client_for(alice).post(
        "/api/v1/plan-enrolments/", {"plan_id": plan.pk, "customer_id": customer.pk}, format="json"
    )
    again = api_client_for(alice).post(
        "/api/v1/plan-enrolments/", {"plan_id": plan.pk, "customer_id": customer.pk}, format="json"
    )
    ended = api_client_for(alice).post(f"/api/v1/plan-enrolments/{created.json()['id']}/end/")

    assert stranger.status_code == 400 and "customer_id" in stranger.json()["error"]["fields"]
    assert created.status_code == 201 and created.json()["state"] == "active"
    assert again.status_code == 400 and "already in this plan" in again.json()["error"]["fields"]["customer_id"][0]
    assert ended.json()["end_reason"] == "by_hand"


def test_enrolling_without_consent_into_a_promotional_plan_answers_400(marta):
    plan = build_plan(trigger="manual")
    customer = book_customer(None, name="No Consent")

    response = api_client_for(marta).post(
        "/api/v1/plan-enrolments/", {"plan_id": plan.pk, "customer_id": customer.pk}, format="json"
    )

    assert response.status_code == 400
    assert "has not given marketing consent" in response.json()["error"]["fields"]["customer_id"][0]


def test_enrolments_are_listed_for_the_customers_one_may_see(alice, bob):
    plan = build_plan(trigger="manual")
    mine, theirs = consenting_of(alice), consenting_of(bob)
    for customer in (mine, theirs):
        services.enrolment_create(plan=plan, customer=customer)

    rows = api_client_for(alice).get("/api/v1/plan-enrolments/", {"plan_id": plan.pk}).json()["results"]

    assert [row["customer_id"] for row in rows] == [mine.pk]


def test_a_plan_task_is_listed_and_completed_with_an_outcome(alice, bob, django_capture_on_commit_callbacks):
    plan = build_plan(
        trigger="manual", steps=[StepData(kind="task", task_kind="meeting", branches={"meeting_booked": "end"})]
    )
    customer = consenting_of(alice)
    enrolment = services.enrolment_create(plan=plan, customer=customer)
    run_all()
    task = FollowUp.objects.get(customer=customer)

    listed = api_client_for(alice).get("/api/v1/plan-tasks/", {"mine": "true", "state": "open"}).json()["results"]
    hidden = api_client_for(bob).post(f"/api/v1/plan-tasks/{task.pk}/complete/", {"outcome": "reached"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        done = api_client_for(alice).post(
            f"/api/v1/plan-tasks/{task.pk}/complete/", {"outcome": "meeting_booked"}, format="json"
        )
    bad = api_client_for(alice).post(f"/api/v1/plan-tasks/{task.pk}/complete/", {"outcome": "maybe"}, format="json")

    assert [row["id"] for row in listed] == [task.pk] and listed[0]["plan_id"] == plan.pk
    assert hidden.status_code == 404
    assert done.status_code == 200 and done.json()["outcome"] == "meeting_booked"
    assert bad.status_code == 400
    assert Enrolment.objects.get(pk=enrolment.pk).end_reason == "task_outcome"
