"""Contact plans: the builder's checks, the triggers (set-based, once per customer), the control group,
the step runner (messages through the outbox, tasks on the worklist, idempotent), the goal, the
re-enrolment rule, task outcomes that end or branch, the timeline, and unsubscribes."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from contact_plans.models import ContactPlan, Enrolment, EnrolmentStep, FollowUp, Message, PlanStep
from contact_plans.plans import runner, services, triggers
from contact_plans.plans.validation import StepData, plan_problems
from contact_plans.services import followup_cancel, followup_complete
from customers.models import Interaction
from segmentation.models import SegmentEvent, SegmentMembership
from tests.customers.factories import CustomerFactory, UserFactory
from tests.segmentation.factories import SegmentFactory

from .factories import consenting_customer
from .plan_helpers import build_plan, email_template, move_checked_back, purchase

pytestmark = pytest.mark.django_db


def run_all(now=None):
    """What the beat does: triggers, then due steps."""
    for plan_id in triggers.plans_with_triggers():
        triggers.plan_triggers_run(plan_id=plan_id, now=now)
    now = now or timezone.now()
    runner.enrolments_close(now=now)
    for ids in runner.due_enrolment_chunks(now=now):
        runner.plan_steps_run(enrolment_ids=ids, now=now)


# --- The builder's checks ------------------------------------------------------------------------


def errors_of(exc) -> dict:
    return exc.value.message_dict


def test_a_plan_without_steps_is_refused():
    with pytest.raises(ValidationError) as exc:
        build_plan(steps=[])

    assert errors_of(exc)["steps"] == ["A plan needs at least one step."]


@pytest.mark.parametrize("delay", [-1, 731, "soon", 2.5])
def test_a_negative_or_absurd_delay_is_refused_with_the_step_named(delay):
    with pytest.raises(ValidationError) as exc:
        build_plan(steps=[StepData(kind="email", template=email_template(), delay_days=delay)])

    assert errors_of(exc)["steps.0.delay_days"] == ["Step 1: the delay is a whole number of days from 0 to 730."]


def test_a_branch_back_to_an_earlier_step_is_a_cycle_and_refused():
    steps = [
        StepData(kind="email", template=email_template()),
        StepData(kind="task", task_kind="call", branches={"no_answer": 1}),
    ]

    with pytest.raises(ValidationError) as exc:
        build_plan(steps=steps)

    assert "makes a cycle" in errors_of(exc)["steps.1.branches.no_answer"][0]


def test_a_step_whose_template_was_deleted_is_named_and_the_plan_is_not_run():
    plan = build_plan()
    customer = consenting_customer()
    move_checked_back(plan)
    purchase(customer)

    PlanStep.objects.get(plan=plan, position=1).template.delete()

    assert "Step 1: choose a message template" in plan_problems(plan)[0]
    assert triggers.plan_triggers_run(plan_id=plan.pk) is None
    assert not Enrolment.objects.exists()


def test_a_promotional_template_in_a_service_plan_is_refused():
    with pytest.raises(ValidationError) as exc:
        build_plan(purpose="transactional")

    assert "is promotional" in errors_of(exc)["steps.0.template"][0]


def test_a_segment_trigger_needs_a_segment_that_still_exists():
    with pytest.raises(ValidationError) as exc:
        build_plan(trigger="segment_entered", trigger_segment=999_999)

    assert "trigger_segment" in errors_of(exc)


def test_a_condition_from_the_segment_builder_is_checked_like_the_builder_does():
    steps = [
        StepData(kind="email", template=email_template(), conditions=[{"field": "customer.nope", "operator": "eq"}])
    ]

    with pytest.raises(ValidationError) as exc:
        build_plan(steps=steps)

    assert any(key.startswith("steps.0.conditions") for key in errors_of(exc))


def test_a_step_that_has_run_cannot_be_removed():
    steps = [StepData(kind="email", template=email_template()), StepData(kind="email", template=email_template())]
    plan = build_plan(trigger="manual", steps=steps)
    services.enrolment_create(plan=plan, customer=consenting_customer())
    run_all()
    run_all()

    with pytest.raises(ValidationError, match="already run cannot be removed"):
        services.plan_save(plan=plan, data={"name": plan.name, "trigger": "manual"}, steps=steps[:1])

    assert plan.steps.count() == 2


# --- Triggers -------------------------------------------------------------------------------------


def test_a_first_purchase_enrols_the_customer_once_whatever_the_runs():
    plan = build_plan()
    move_checked_back(plan)
    customer = consenting_customer()
    purchase(customer)

    triggers.plan_triggers_run(plan_id=plan.pk)
    triggers.plan_triggers_run(plan_id=plan.pk)
    purchase(customer)
    triggers.plan_triggers_run(plan_id=plan.pk)

    assert Enrolment.objects.filter(plan=plan, customer=customer).count() == 1


def test_a_customer_who_bought_before_is_not_a_first_purchase():
    plan = build_plan()
    customer = consenting_customer()
    purchase(customer, days_ago=2)  # recorded before the plan looked
    move_checked_back(plan, minutes=0)
    purchase(customer)

    triggers.plan_triggers_run(plan_id=plan.pk)

    assert not Enrolment.objects.exists()


def test_a_promotional_plan_enrols_no_one_without_consent():
    plan = build_plan()
    move_checked_back(plan)
    purchase(CustomerFactory(marketing_consent=False))

    triggers.plan_triggers_run(plan_id=plan.pk)

    assert not Enrolment.objects.exists()


def test_two_triggers_at_the_same_moment_make_one_enrolment():
    plan = build_plan(trigger="manual")
    customer = consenting_customer()
    now = timezone.now()

    from customers.models import Customer

    first = triggers.enrol_insert(plan, Customer.objects.filter(pk=customer.pk), source="trigger", now=now)
    second = triggers.enrol_insert(plan, Customer.objects.filter(pk=customer.pk), source="trigger", now=now)

    assert (first[0], second[0]) == (1, 0)
    assert Enrolment.objects.count() == 1


def test_the_database_refuses_a_second_open_enrolment():
    plan = build_plan(trigger="manual")
    customer = consenting_customer()
    Enrolment.objects.create(plan=plan, customer=customer, enrolled_at=timezone.now())

    with pytest.raises(IntegrityError), transaction.atomic():
        Enrolment.objects.create(
            plan=plan, customer=customer, enrolled_at=timezone.now(), state="control", is_control=True
        )


def test_the_control_group_is_drawn_at_random_and_recorded():
    plan = build_plan(trigger="manual", control_percent=50)
    segment = SegmentFactory()
    customers = [consenting_customer() for _ in range(200)]
    SegmentMembership.objects.bulk_create(
        SegmentMembership(segment=segment, customer=c, entered_at=timezone.now()) for c in customers
    )

    counts = services.segment_enrol(plan=plan, segment=segment)

    control = Enrolment.objects.filter(plan=plan, state="control", is_control=True)
    assert counts["enrolled"] == 200 and counts["control"] == control.count()
    assert 60 < control.count() < 140
    assert not control.filter(next_position__isnull=False).exists()


def test_a_customer_enrolled_meanwhile_is_left_out_of_a_segments_enrolment_and_not_counted(monkeypatch):
    plan = build_plan(trigger="manual", control_percent=0)
    segment = SegmentFactory()
    customers = [consenting_customer() for _ in range(5)]
    SegmentMembership.objects.bulk_create(
        SegmentMembership(segment=segment, customer=c, entered_at=timezone.now()) for c in customers
    )
    # Enrolled by hand after the eligibility was read (as if between its query and the INSERT).
    services.enrolment_create(plan=plan, customer=customers[2])
    monkeypatch.setattr(triggers, "eligible", lambda plan, customers, now: customers)

    counts = services.segment_enrol(plan=plan, segment=segment)

    assert (counts["enrolled"], counts["control"], counts["left_out"]) == (4, 0, 1)
    assert Enrolment.objects.filter(plan=plan).count() == 5
    assert Enrolment.objects.filter(plan=plan, customer=customers[2], source="segment").count() == 0


def test_entering_a_segment_enrols_and_leaving_does_not():
    segment = SegmentFactory()
    plan = build_plan(trigger="segment_entered", trigger_segment=segment.pk)
    move_checked_back(plan)
    entered, left = consenting_customer(), consenting_customer()
    SegmentEvent.objects.create(segment=segment, customer=entered, kind="entered", at=timezone.now())
    SegmentEvent.objects.create(segment=segment, customer=left, kind="exited", at=timezone.now())

    triggers.plan_triggers_run(plan_id=plan.pk)

    assert list(Enrolment.objects.values_list("customer_id", flat=True)) == [entered.pk]


def test_n_days_after_a_purchase_enrols_on_the_day():
    plan = build_plan(trigger="days_after_purchase", trigger_days=60)
    plan.triggers_checked_at = timezone.now() - timedelta(days=1)
    plan.save()
    due, early = consenting_customer(), consenting_customer()
    purchase(due, days_ago=60)
    purchase(early, days_ago=30)

    triggers.plan_triggers_run(plan_id=plan.pk)

    assert list(Enrolment.objects.values_list("customer_id", flat=True)) == [due.pk]


def test_the_expected_repurchase_date_passing_enrols_from_the_metrics():
    from metrics.models import CustomerMetrics

    plan = build_plan(trigger="repurchase_due")
    plan.triggers_checked_at = timezone.now() - timedelta(days=1)
    plan.save()
    due, later = consenting_customer(), consenting_customer()
    today = timezone.localdate()
    CustomerMetrics.objects.create(
        customer=due, as_of=today, last_purchase=today - timedelta(days=30), usual_interval_days=30.2
    )
    CustomerMetrics.objects.create(
        customer=later, as_of=today, last_purchase=today - timedelta(days=10), usual_interval_days=30
    )

    triggers.plan_triggers_run(plan_id=plan.pk)

    assert list(Enrolment.objects.values_list("customer_id", flat=True)) == [due.pk]


# --- By hand --------------------------------------------------------------------------------------


def test_enrolling_by_hand_without_consent_into_a_promotional_plan_says_why():
    plan = build_plan(trigger="manual")
    customer = CustomerFactory(name="Ana Puig")

    with pytest.raises(ValidationError) as exc:
        services.enrolment_create(plan=plan, customer=customer)

    assert errors_of(exc)["customer_id"] == ["Ana Puig has not given marketing consent, and this plan is promotional."]


def test_enrolling_twice_by_hand_is_refused_and_the_rule_allows_it_again_after_n_days():
    plan = build_plan(trigger="manual", reenrol="after_days", reenrol_days=30)
    customer = consenting_customer(name="Budi")
    enrolment = services.enrolment_create(plan=plan, customer=customer)

    with pytest.raises(ValidationError, match="already in this plan"):
        services.enrolment_create(plan=plan, customer=customer)
    services.enrolment_end(enrolment=enrolment)
    with pytest.raises(ValidationError, match="less than 30 days ago"):
        services.enrolment_create(plan=plan, customer=customer)
    again = services.enrolment_create(plan=plan, customer=customer, now=timezone.now() + timedelta(days=31))

    assert again.pk != enrolment.pk and again.state == "active"


def test_a_plan_never_reenrols_when_it_says_never():
    plan = build_plan(trigger="manual")
    customer = consenting_customer()
    services.enrolment_end(enrolment=services.enrolment_create(plan=plan, customer=customer))

    with pytest.raises(ValidationError, match="enrols nobody twice"):
        services.enrolment_create(plan=plan, customer=customer, now=timezone.now() + timedelta(days=400))


def test_enrolling_an_empty_segment_is_refused():
    plan = build_plan(trigger="manual")

    with pytest.raises(ValidationError, match="has no members"):
        services.segment_enrol(plan=plan, segment=SegmentFactory(name="Nobody"))


# --- The runner -----------------------------------------------------------------------------------


def test_the_first_step_queues_its_email_once_with_the_plans_source_key(django_capture_on_commit_callbacks):
    plan = build_plan()
    manager = UserFactory(username="amelia")
    customer = consenting_customer(account_manager=manager)
    enrolment = services.enrolment_create(plan=plan, customer=customer)

    run_all()
    runner.plan_steps_run(enrolment_ids=[enrolment.pk])  # a task delivered twice

    step = plan.steps.get(position=1)
    message = Message.objects.get(customer=customer)
    assert message.source_key == f"plan:{plan.pk}:step:{step.pk}:enrolment:{enrolment.pk}"
    assert message.state == "queued"
    enrolment.refresh_from_db()
    assert (enrolment.next_position, enrolment.state) == (2, "active")
    assert enrolment.next_due_at > timezone.now() + timedelta(days=1)


def test_a_task_step_puts_a_follow_up_on_the_account_managers_worklist_and_waits():
    plan = build_plan()
    manager = UserFactory(username="amelia")
    customer = consenting_customer(account_manager=manager)
    enrolment = services.enrolment_create(plan=plan, customer=customer)
    run_all()

    run_all(now=timezone.now() + timedelta(days=3))

    task = FollowUp.objects.get(customer=customer)
    assert (task.assigned_to, task.kind, task.plan, task.enrolment) == (manager, "call", plan, enrolment)
    assert task.note == "Ask how it went"
    enrolment.refresh_from_db()
    assert enrolment.state == "waiting" and enrolment.next_due_at is None


def test_a_task_for_a_customer_in_nobodys_book_is_skipped_and_says_so():
    plan = build_plan(steps=[StepData(kind="task", task_kind="visit")])
    enrolment = services.enrolment_create(plan=plan, customer=consenting_customer())

    run_all()

    assert EnrolmentStep.objects.get(enrolment=enrolment).outcome == "skipped_no_manager"
    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.end_reason) == ("ended", "completed")


def test_not_interested_ends_the_enrolment_and_is_written_to_the_timeline(django_capture_on_commit_callbacks):
    steps = [
        StepData(kind="task", task_kind="call", branches={"not_interested": "end", "meeting_booked": 3}),
        StepData(kind="email", template=email_template()),
        StepData(kind="task", task_kind="meeting"),
    ]
    plan = build_plan(name="Account care", steps=steps)
    customer = consenting_customer(account_manager=UserFactory())
    enrolment = services.enrolment_create(plan=plan, customer=customer)
    run_all()
    task = FollowUp.objects.get(customer=customer)

    with django_capture_on_commit_callbacks(execute=True):
        followup_complete(followup=task, outcome="not_interested")

    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.end_reason) == ("ended", "task_outcome")
    interaction = Interaction.objects.get(customer=customer)
    assert interaction.subject == "Call (plan “Account care”): Not interested"
    assert (interaction.kind, interaction.outcome) == ("call", "not_interested")


def test_meeting_booked_jumps_to_the_step_it_names(django_capture_on_commit_callbacks):
    steps = [
        StepData(kind="task", task_kind="call", branches={"meeting_booked": 3}),
        StepData(kind="email", template=email_template()),
        StepData(kind="task", task_kind="meeting", delay_days=1),
    ]
    plan = build_plan(steps=steps)
    customer = consenting_customer(account_manager=UserFactory())
    services.enrolment_create(plan=plan, customer=customer)
    run_all()

    with django_capture_on_commit_callbacks(execute=True):
        followup_complete(followup=FollowUp.objects.get(customer=customer), outcome="meeting_booked")
    run_all(now=timezone.now() + timedelta(days=2))

    assert not Message.objects.exists()  # the email of step 2 was jumped over
    assert FollowUp.objects.filter(customer=customer, kind="meeting", state="open").exists()


def test_a_cancelled_task_lets_the_plan_go_on(django_capture_on_commit_callbacks):
    plan = build_plan(
        steps=[StepData(kind="task", task_kind="gift"), StepData(kind="email", template=email_template())]
    )
    customer = consenting_customer(account_manager=UserFactory())
    enrolment = services.enrolment_create(plan=plan, customer=customer)
    run_all()

    with django_capture_on_commit_callbacks(execute=True):
        followup_cancel(followup=FollowUp.objects.get(customer=customer))
    run_all()

    assert Message.objects.filter(customer=customer).count() == 1
    assert not Interaction.objects.filter(customer=customer).exists()  # cancelled: nothing happened
    enrolment.refresh_from_db()
    assert enrolment.end_reason == "completed"


def test_a_step_whose_conditions_fail_is_skipped_for_that_customer():
    step = StepData(
        kind="email",
        template=email_template(),
        conditions=[{"field": "customer.country", "operator": "eq", "value": "ES"}],
    )
    plan = build_plan(steps=[step])
    spain, britain = consenting_customer(country="ES"), consenting_customer(country="GB")
    services.enrolment_create(plan=plan, customer=spain)
    services.enrolment_create(plan=plan, customer=britain)

    run_all()

    assert list(Message.objects.values_list("customer_id", flat=True)) == [spain.pk]
    assert EnrolmentStep.objects.get(enrolment__customer=britain).outcome == "skipped_conditions"


def test_unless_purchased_skips_a_step_after_a_purchase_since_enrolment():
    plan = build_plan(
        steps=[
            StepData(kind="wait", delay_days=0),
            StepData(kind="email", template=email_template(), unless_purchased=True),
        ]
    )
    bought, not_bought = consenting_customer(), consenting_customer()
    for customer in (bought, not_bought):
        services.enrolment_create(plan=plan, customer=customer)
    purchase(bought, days_ago=-0.01)  # just after enrolment

    run_all(now=timezone.now() + timedelta(hours=1))
    run_all(now=timezone.now() + timedelta(hours=2))

    assert list(Message.objects.values_list("customer_id", flat=True)) == [not_bought.pk]


def test_the_goal_met_ends_the_enrolment_and_nothing_more_is_sent():
    plan = build_plan(
        trigger="manual", goal="purchase", steps=[StepData(kind="email", template=email_template(), delay_days=3)]
    )
    customer = consenting_customer()
    enrolment = services.enrolment_create(plan=plan, customer=customer)
    purchase(customer, days_ago=-0.01)

    run_all(now=timezone.now() + timedelta(days=4))

    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.end_reason) == ("ended", "goal_met")
    assert not Message.objects.exists()


def test_the_control_group_is_never_contacted_and_ends_after_its_period():
    plan = build_plan(trigger="manual", control_percent=50)
    segment = SegmentFactory()
    customers = [consenting_customer(account_manager=UserFactory()) for _ in range(40)]
    SegmentMembership.objects.bulk_create(
        SegmentMembership(segment=segment, customer=c, entered_at=timezone.now()) for c in customers
    )
    services.segment_enrol(plan=plan, segment=segment)

    run_all(now=timezone.now() + timedelta(days=3))

    control = set(Enrolment.objects.filter(is_control=True).values_list("customer_id", flat=True))
    assert control and not Message.objects.filter(customer_id__in=control).exists()
    assert not FollowUp.objects.filter(customer_id__in=control).exists()
    run_all(now=timezone.now() + timedelta(days=31))
    assert not Enrolment.objects.filter(state="control").exists()
    assert Enrolment.objects.filter(end_reason="control_over").count() == len(control)


def test_unsubscribing_ends_the_customers_promotional_plans(django_capture_on_commit_callbacks):
    from contact_plans.messaging.unsubscribe import contact_preferences_update

    plan = build_plan(trigger="manual")
    customer = consenting_customer()
    enrolment = services.enrolment_create(plan=plan, customer=customer)

    with django_capture_on_commit_callbacks(execute=True):
        contact_preferences_update(customer=customer, changes={("email", ""): False})

    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.end_reason) == ("ended", "unsubscribed")


def test_ending_by_hand_cancels_the_open_task():
    plan = build_plan(steps=[StepData(kind="task", task_kind="call")])
    customer = consenting_customer(account_manager=UserFactory())
    enrolment = services.enrolment_create(plan=plan, customer=customer)
    run_all()

    assert services.enrolment_end(enrolment=enrolment) is True
    assert services.enrolment_end(enrolment=enrolment) is False

    assert FollowUp.objects.get(customer=customer).state == "cancelled"
    assert enrolment.end_reason == "by_hand"


def test_an_inactive_plan_enrols_no_one():
    plan = build_plan()
    move_checked_back(plan)
    ContactPlan.objects.filter(pk=plan.pk).update(is_active=False)
    plan.refresh_from_db()
    purchase(consenting_customer())

    assert triggers.plan_triggers_run(plan_id=plan.pk) is None
    with pytest.raises(ValidationError, match="paused"):
        services.enrolment_create(plan=plan, customer=consenting_customer())


def test_a_changed_trigger_looks_from_the_change_on():
    plan = build_plan(trigger="manual")
    move_checked_back(plan, minutes=60)
    purchase(consenting_customer())

    plan = services.plan_save(
        plan=plan,
        data={"name": plan.name, "trigger": "every_purchase", "control_percent": 0},
        steps=[StepData(kind="email", template=email_template())],
    )
    triggers.plan_triggers_run(plan_id=plan.pk)

    assert not Enrolment.objects.exists()
