"""The ready-made plans: installed once, paused unless switched on, every one valid and in four
languages (their templates too); the demo switches them on and runs them, so that messages sit in
the outbox and tasks on the account managers' worklists."""

import pytest
from django.core.management import call_command
from django.utils import translation

from contact_plans.messaging.rendering import render_message
from contact_plans.models import ContactPlan, FollowUp, Message, MessageTemplate
from contact_plans.plans.ready_made import READY_MADE_KEYS, ready_made_plans_install
from contact_plans.plans.validation import plan_problems
from customers.demo import demo_seed
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_the_ready_made_plans_are_installed_once_and_paused():
    first = ready_made_plans_install()
    again = ready_made_plans_install()

    assert sorted(p.key for p in first) == sorted(READY_MADE_KEYS)
    assert ContactPlan.objects.count() == len(READY_MADE_KEYS) == len(again)
    assert not ContactPlan.objects.filter(is_active=True).exists()
    assert all(plan_problems(plan) == [] for plan in ContactPlan.objects.all())


def test_the_command_switches_them_on():
    call_command("install_ready_made_plans", "--activate", stdout=None)

    assert ContactPlan.objects.filter(is_active=True).count() == len(READY_MADE_KEYS)


def test_a_marketers_changes_are_kept_when_installing_again():
    ready_made_plans_install()
    ContactPlan.objects.filter(key="win-back").update(name="Our win-back", control_percent=20)

    ready_made_plans_install()

    plan = ContactPlan.objects.get(key="win-back")
    assert (plan.name, plan.control_percent) == ("Our win-back", 20)


@pytest.mark.parametrize("language", ["en", "id", "ms", "ca"])
def test_every_ready_made_plans_template_renders_in_each_language(language):
    ready_made_plans_install()
    customer = CustomerFactory(name="Sari Dewi", language=language)
    keys = {s.template.key for p in ContactPlan.objects.all() for s in p.steps.all() if s.template}

    rendered = {key: render_message(MessageTemplate.objects.get(key=key), customer) for key in keys}

    assert {"renewal-reminder", "vip-event-invitation", "win-back-offer"} <= keys
    assert all(r.language == language and "Sari" in r.html for r in rendered.values())


def test_the_plan_names_are_shown_in_the_readers_language():
    ready_made_plans_install()
    plan = ContactPlan.objects.get(key="win-back")

    with translation.override("ca"):
        name = plan.display_name

    assert name != plan.name and plan.name == "Win-back for lapsing customers"


@pytest.mark.django_db(transaction=True)
def test_the_demo_runs_the_plans_into_the_outbox_and_the_worklists():
    from contact_plans.messaging.ready_made import ready_made_install
    from contact_plans.models import MessageTemplateContent

    ready_made_install(MessageTemplate, MessageTemplateContent)  # flushed by the committed tests before

    demo_seed(customers=300)

    plans = ContactPlan.objects.filter(key__in=READY_MADE_KEYS)
    assert plans.count() == len(READY_MADE_KEYS) and all(p.is_active for p in plans)
    plan_messages = Message.objects.filter(source_key__startswith="plan:")
    assert plan_messages.exists()
    tasks = FollowUp.objects.filter(plan__isnull=False, state="open")
    assert tasks.exists()
    assert all(task.assigned_to_id == task.customer.account_manager_id for task in tasks.select_related("customer"))
