"""The plan pages: the builder (add steps, save, errors next to their step, 400 never 500), a plan's
page with its results and CSV, pausing, enrolling a segment; the customer page's card (enrol, end);
plan tasks on the follow-ups page and the worklist with their outcome. Personas: marta (marketer)
builds, alice (account manager) reads and enrols her own customers, bob (colleague) gets 404 for
alice's, charlie (no role) gets 404 everywhere."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contact_plans.models import ContactPlan, Enrolment, FollowUp, Message
from contact_plans.plans import services
from contact_plans.plans.validation import StepData
from customers.models import Interaction
from segmentation.models import SegmentMembership
from tests.clients import client_for
from tests.customers.factories import CustomerFactory
from tests.segmentation.factories import SegmentFactory

from .factories import consenting_customer
from .plan_helpers import build_plan, email_template
from .test_plans_services import run_all
from .worklist_helpers import book_customer

pytestmark = pytest.mark.django_db


def builder_post(**overrides):
    template = overrides.pop("template")
    data = {
        "name": "Welcome series",
        "purpose": "promotional",
        "trigger": "first_purchase",
        "goal": "",
        "reenrol": "never",
        "control_percent": "10",
        "is_active": "1",
        "steps": "2",
        "step-0-kind": "email",
        "step-0-delay_days": "0",
        "step-0-template": str(template.pk),
        "step-1-kind": "task",
        "step-1-delay_days": "3",
        "step-1-task_kind": "call",
        "step-1-task_due_days": "2",
        "step-1-task_note": "Ask about the first order",
        "step-1-branch-not_interested": "end",
        "save": "1",
    }
    data.update(overrides)
    return data


def test_a_marketer_builds_a_two_step_plan_in_the_browser(marta):
    client = client_for(marta)
    template = email_template(name="Welcome")

    page = client.post(reverse("plans:create"), {**builder_post(template=template), "save": "", "add_step": "wait"})
    response = client.post(reverse("plans:create"), builder_post(template=template))

    assert page.status_code == 200 and "Step 3" in page.content.decode()
    plan = ContactPlan.objects.get(name="Welcome series")
    assert response.status_code == 302 and response.url == plan.get_absolute_url()
    steps = list(plan.steps.order_by("position").values_list("kind", "template_id", "task_kind"))
    assert steps == [("email", template.pk, ""), ("task", None, "call")]
    assert plan.steps.get(position=2).branches == {"not_interested": "end"}


def test_the_builder_shows_each_error_next_to_its_step_with_a_400(marta):
    template = email_template()

    response = client_for(marta).post(
        reverse("plans:create"), builder_post(template=template, **{"step-1-delay_days": "-4", "step-0-template": "x"})
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert "Step 2: the delay is a whole number of days from 0 to 730." in body
    assert "Step 1: choose a message template" in body
    assert not ContactPlan.objects.exists()


def test_a_plan_with_no_steps_is_refused_in_the_builder(marta):
    response = client_for(marta).post(reverse("plans:create"), {"name": "Empty", "steps": "0", "save": "1"})

    assert response.status_code == 400
    assert "A plan needs at least one step." in response.content.decode()


def test_only_marketers_and_administrators_build_plans(alice, charlie):
    assert client_for(alice).get(reverse("plans:create")).status_code == 404
    assert client_for(charlie).get(reverse("plans:create")).status_code == 404
    assert client_for(charlie).get(reverse("plans:list")).status_code == 404


def test_the_plan_page_shows_results_against_the_control_group_and_a_csv(marta):
    plan = build_plan(name="Win-back", trigger="manual", control_percent=50)
    segment = SegmentFactory()
    customers = [consenting_customer() for _ in range(30)]
    SegmentMembership.objects.bulk_create(
        SegmentMembership(segment=segment, customer=c, entered_at=timezone.now()) for c in customers
    )
    services.segment_enrol(plan=plan, segment=segment)
    run_all()
    client = client_for(marta)

    page = client.get(plan.get_absolute_url())
    csv = client.get(reverse("plans:results_csv", args=[plan.pk]))

    body = page.content.decode()
    enrolled = Enrolment.objects.filter(is_control=False).count()
    assert page.status_code == 200 and "Purchased within 30 days of enrolment" in body
    assert f'<div class="fs-4 fw-semibold">{enrolled}</div>' in body
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[0].startswith("step,kind,template,ran")
    assert lines[1].startswith(f"1,email,{plan.steps.get(position=1).template.name},{enrolled},")


def test_enrolling_a_segment_from_the_plan_page_reports_the_counts(marta):
    plan = build_plan(trigger="manual", control_percent=0)
    segment = SegmentFactory()
    SegmentMembership.objects.bulk_create(
        [
            SegmentMembership(segment=segment, customer=consenting_customer(), entered_at=timezone.now()),
            SegmentMembership(segment=segment, customer=CustomerFactory(), entered_at=timezone.now()),
        ]
    )

    response = client_for(marta).post(
        reverse("plans:enrol_segment", args=[plan.pk]), {"segment": segment.pk}, follow=True
    )

    assert "1 customer enrolled (0 held out as control); 1 left out." in response.content.decode()


def test_pausing_a_plan_stops_its_trigger(marta):
    plan = build_plan()

    client_for(marta).post(reverse("plans:toggle", args=[plan.pk]))

    plan.refresh_from_db()
    assert plan.is_active is False


def test_an_account_manager_enrols_a_customer_of_their_book_from_the_customer_page(alice, bob):
    plan = build_plan(trigger="manual", purpose="promotional")
    customer = book_customer(alice, marketing_consent=True, consent_at=timezone.now(), consent_source="web_form")
    url = reverse("plans:enrol_customer", args=[customer.pk])

    response = client_for(alice).post(url, {"plan": plan.pk}, HTTP_HX_REQUEST="true")
    stranger = client_for(bob).post(url, {"plan": plan.pk})

    assert response.status_code == 200 and "Enrolled in “Welcome”." in response.content.decode()
    assert stranger.status_code == 404
    assert Enrolment.objects.filter(customer=customer).count() == 1


def test_enrolling_without_consent_from_the_customer_page_says_why(alice):
    plan = build_plan(trigger="manual")
    customer = book_customer(alice, name="Nora")

    response = client_for(alice).post(
        reverse("plans:enrol_customer", args=[customer.pk]), {"plan": plan.pk}, HTTP_HX_REQUEST="true"
    )

    assert "Nora has not given marketing consent, and this plan is promotional." in response.content.decode()
    assert not Enrolment.objects.exists()


def test_the_customer_page_shows_the_plan_its_message_and_task(alice):
    plan = build_plan(
        trigger="manual",
        steps=[StepData(kind="email", template=email_template(name="Hello")), StepData(kind="task", task_kind="call")],
    )
    customer = book_customer(alice, marketing_consent=True, consent_at=timezone.now(), consent_source="web_form")
    enrolment = services.enrolment_create(plan=plan, customer=customer)
    run_all()
    run_all()

    body = client_for(alice).get(customer.get_absolute_url()).content.decode()

    assert 'id="customer-plans"' in body and f'id="enrolment-{enrolment.pk}"' in body
    assert "“Hello”" in body and "Queued" in body and "task for Alice" in body


def test_ending_an_enrolment_from_the_customer_page(alice, bob):
    plan = build_plan(trigger="manual")
    customer = book_customer(alice, marketing_consent=True, consent_at=timezone.now(), consent_source="web_form")
    enrolment = services.enrolment_create(plan=plan, customer=customer)
    url = reverse("plans:enrolment_end", args=[enrolment.pk])

    assert client_for(bob).post(url).status_code == 404
    client_for(alice).post(url)

    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.end_reason) == ("ended", "by_hand")


def test_a_plan_task_is_on_the_follow_ups_page_and_done_with_an_outcome(alice, django_capture_on_commit_callbacks):
    steps = [
        StepData(kind="task", task_kind="call", task_due_days=0, branches={"not_interested": "end"}),
        StepData(kind="email", template=email_template()),
    ]
    plan = build_plan(name="Retention call", trigger="manual", steps=steps)
    customer = book_customer(alice, marketing_consent=True, consent_at=timezone.now(), consent_source="web_form")
    enrolment = services.enrolment_create(plan=plan, customer=customer)
    run_all()
    task = FollowUp.objects.get(customer=customer)
    client = client_for(alice)

    page = client.get(reverse("worklist:followups_due")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("worklist:followup_complete", args=[task.pk]), {"outcome": "not_interested"})

    assert "plan “Retention call”" in page and 'name="outcome"' in page
    task.refresh_from_db()
    enrolment.refresh_from_db()
    assert (task.state, task.outcome) == ("done", "not_interested")
    assert enrolment.end_reason == "task_outcome"
    assert Interaction.objects.get(customer=customer).outcome == "not_interested"
    run_all()
    assert not Message.objects.exists()


def test_a_made_up_outcome_is_refused_and_the_task_stays_open(alice):
    customer = book_customer(alice)
    task = FollowUp.objects.create(customer=customer, assigned_to=alice, due_at=timezone.now() + timedelta(days=1))

    client_for(alice).post(reverse("worklist:followup_complete", args=[task.pk]), {"outcome": "bribed"})

    task.refresh_from_db()
    assert task.state == "open"


def test_an_overdue_plan_task_is_a_reason_on_my_book(alice):
    plan = build_plan(name="Care", trigger="manual", steps=[StepData(kind="task", task_kind="visit", task_due_days=0)])
    customer = book_customer(
        alice, name="Overdue Co", marketing_consent=True, consent_at=timezone.now(), consent_source="web_form"
    )
    services.enrolment_create(plan=plan, customer=customer)
    run_all()
    FollowUp.objects.filter(customer=customer).update(due_at=timezone.now() - timedelta(days=2))

    body = client_for(alice).get(reverse("worklist:home")).content.decode()

    assert "Overdue task of the plan “Care”: Visit, due" in body
