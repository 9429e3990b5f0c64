"""Issue 17's complaints and one-to-ones in the browser: an account manager resolves an overdue
complaint from the complaints page; a lead and a person share an agenda and keep private notes the
other never sees."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from customers.models import Interaction
from tests.browser import login
from tests.customers.factories import CustomerFactory, InteractionFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_account_manager_resolves_an_overdue_complaint(page, alice):
    customer = CustomerFactory(name="Ann Example", account_manager=alice)
    InteractionFactory(
        customer=customer, kind="complaint", subject="Parcel arrived broken", owner=alice,
        occurred_at=timezone.now() - timedelta(days=5),
    )  # fmt: skip
    login(page, "alice", "pw-alice")

    page.goto("/complaints/?view=overdue")
    expect(page.locator("[data-figure=overdue]")).to_have_text("1")
    page.get_by_role("link", name="Parcel arrived broken").click()
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    page.get_by_label("Resolution").fill("Sent a replacement by express.")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_text("The case is resolved.")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Sent a replacement by express.")
    assert Interaction.objects.get(subject="Parcel arrived broken").status == "resolved"

    page.goto("/complaints/?view=overdue")
    expect(page.get_by_text("Nothing is overdue.")).to_be_visible()


def test_the_customer_page_asks_for_the_resolution_before_resolving(page, alice):
    customer = CustomerFactory(name="Ann Example", account_manager=alice)
    InteractionFactory(customer=customer, kind="complaint", subject="Wrong size sent", owner=alice)
    login(page, "alice", "pw-alice")

    page.goto(f"/customers/{customer.pk}/")
    case = page.locator("#timeline li", has_text="Wrong size sent")
    case.locator("summary", has_text="Resolve").click()
    case.get_by_label("Resolution").fill("Exchanged for the right size.")
    case.get_by_role("button", name="Mark as resolved").click()
    expect(page.locator("#timeline")).to_contain_text("Exchanged for the right size.")
    expect(page.locator("#timeline summary")).to_have_count(0)
    resolved = Interaction.objects.get(subject="Wrong size sent")
    assert (resolved.status, resolved.resolution, resolved.resolved_by) == (
        "resolved",
        "Exchanged for the right size.",
        alice,
    )


def test_a_lead_and_a_person_share_the_agenda_and_keep_their_notes_private(page, django_user_model):
    from team.models import Employee, Team
    from tests.conftest import _user

    team = Team.objects.create(name="Support")
    lena = Employee.objects.create(
        name="Lena Lead", email="lena@staff.example", team=team, user=_user(django_user_model, "lena")
    )
    Employee.objects.create(
        name="Paul Person", email="paul@staff.example", team=team, user=_user(django_user_model, "paul")
    )
    team.lead = lena
    team.save()
    login(page, "lena", "pw-lena")

    page.goto("/team/one-to-ones/")
    page.get_by_label("With").select_option(label="Paul Person")
    page.get_by_label("How often").select_option(label="Every week")
    page.get_by_role("button", name="Plan").click()
    expect(page.get_by_role("heading", name="One-to-one with Paul Person")).to_be_visible()
    page.get_by_placeholder("A topic to talk about").fill("Training budget")
    page.get_by_role("button", name="Add", exact=True).first.click()
    expect(page.locator("main")).to_contain_text("Training budget")
    page.locator("#private-text").fill("Lena's own thoughts")
    page.locator("form[action$='private-note/'] button").click()
    expect(page.get_by_text("Your private notes are saved.")).to_be_visible()

    page.context.clear_cookies()
    login(page, "paul", "pw-paul")
    page.goto("/")
    expect(page.get_by_role("heading", name="One-to-ones")).to_be_visible()
    page.get_by_role("link", name="Lena Lead").click()
    expect(page.locator("main")).to_contain_text("Training budget")
    expect(page.locator("main")).not_to_contain_text("Lena's own thoughts")
