"""Every page of the customers app answers in every shipped language, and the navigation by role.

Personas: Alice owns the customers under test (tests/customers/conftest.py), Bob is a colleague
(another account manager), Charlie has no role, Marta is a marketer, Ada an administrator.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import ImportJob
from tests.clients import client_for

from .factories import (
    CustomerFactory,
    ImportJobFactory,
    ImportRowErrorFactory,
    InteractionFactory,
    OrderFactory,
    UserFactory,
    order_add_line,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_workspace(ada, alice):
    customer = CustomerFactory(
        account_manager=alice,
        tags=["vip"],
        marketing_consent=True,
        consent_at=timezone.now(),
        consent_source="web_form",
        referred_by=CustomerFactory(),
        notes="Prefers mornings",
    )
    order = OrderFactory(customer=customer)
    order_add_line(order, quantity=3, unit_price="9.99")
    InteractionFactory(customer=customer, kind="complaint", sentiment=-1, body="Late parcel")
    InteractionFactory(customer=customer, kind="meeting", occurred_at=timezone.now() - timedelta(days=3))
    done = ImportJobFactory(created_by=ada, finished=True)
    ImportRowErrorFactory(job=done, line=2, column="name", reason="name is required")
    running = ImportJobFactory(created_by=ada, finished=True, status=ImportJob.Status.RUNNING, finished_at=None)
    return {"customer": customer, "done": done, "running": running}


PAGES = [
    ("home", lambda w: []),
    ("customers:list", lambda w: []),
    ("customers:create", lambda w: []),
    ("customers:detail", lambda w: [w["customer"].pk]),
    ("customers:edit", lambda w: [w["customer"].pk]),
    ("customers:export_customers", lambda w: []),
    ("customers:export_orders", lambda w: []),
    ("customers:imports", lambda w: []),
    ("customers:import_detail", lambda w: [w["done"].pk]),
    ("customers:import_detail", lambda w: [w["running"].pk]),
    ("customers:import_progress", lambda w: [w["running"].pk]),
    ("customers:import_report", lambda w: [w["done"].pk]),
    ("password_change", lambda w: []),
    ("password_change_done", lambda w: []),
]


@pytest.mark.parametrize("language", ["en", "id", "ms", "ca"])
@pytest.mark.parametrize(("name", "args"), PAGES, ids=[f"{n}-{i}" for i, (n, _a) in enumerate(PAGES)])
def test_every_page_answers_200_in_every_language(settings, language, name, args, ada, full_workspace):
    client = client_for(ada)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    response = client.get(reverse(name, args=args(full_workspace)), follow=True)

    assert response.status_code == 200
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    elif b"<html" in response.content:
        assert f'<html lang="{language}">' in response.content.decode()


@pytest.mark.parametrize("language", ["en", "id", "ms", "ca"])
def test_login_and_logged_out_pages_render_in_every_language(settings, language, alice):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    login = client.get(reverse("login"))
    client.force_login(alice)
    logout = client.post(reverse("logout"), follow=True)

    assert login.status_code == 200
    assert logout.status_code == 200
    assert logout.redirect_chain[-1][0] == reverse("login")


def test_language_switcher_posts_every_shipped_language(settings, alice):
    page = client_for(alice).get(reverse("customers:list")).content.decode()

    assert f'action="{reverse("set_language")}"' in page
    for code, _name in settings.LANGUAGES:
        assert f'value="{code}"' in page


def test_navigation_shows_imports_and_admin_by_role(alice, marta, ada):
    imports, admin = reverse("customers:imports"), reverse("admin:index")

    for_alice = client_for(alice).get(reverse("customers:list")).content.decode()
    for_marta = client_for(marta).get(reverse("customers:list")).content.decode()
    for_ada = client_for(ada).get(reverse("customers:list")).content.decode()

    assert imports in for_alice and admin not in for_alice
    assert imports not in for_marta and admin not in for_marta
    assert imports in for_ada and admin in for_ada


def test_user_factory_personas_can_log_in_with_a_password():
    user = UserFactory(username="dewi")

    assert Client().login(username="dewi", password="pw")
    assert user.pk
