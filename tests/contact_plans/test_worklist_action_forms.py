"""Opening a worklist row's action form: GET of the action URLs, for each persona.

With htmx (HX-Request) the answer is the form alone, which the row opens in place and which posts
for the row back; without JavaScript it is a page of its own, which posts and goes back to the list.
"""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from tests.clients import client_for

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
WORKLIST = reverse("worklist:home")
# Each action, with the fields of its form.
ACTIONS = {"log": ["kind", "subject"], "followup": ["due_on", "note"], "snooze": ["until", "reason"]}


@pytest.mark.parametrize("action", ACTIONS)
def test_htmx_gets_the_form_alone_posting_for_the_row(alice, alices_customer, action):
    url = reverse(f"worklist:{action}", args=[alices_customer.pk])

    response = client_for(alice).get(url, {"next": WORKLIST + "?risk=high"}, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.count("<form") == 1
    assert f'hx-post="{url}"' in html and f'hx-target="#wl-row-{alices_customer.pk}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="next" value="/my-book/?risk=high"' in html
    for field in ACTIONS[action]:
        assert f'name="{field}"' in html
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("action", ACTIONS)
def test_without_javascript_the_form_is_a_page_of_its_own(alice, alices_customer, action):
    url = reverse(f"worklist:{action}", args=[alices_customer.pk])

    response = client_for(alice).get(url, {"next": WORKLIST + "?risk=high"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and "Warung Sari" in html
    assert f'action="{url}"' in html and "hx-post" not in html.split('id="main"')[1]
    assert 'name="next" value="/my-book/?risk=high"' in html
    for field in ACTIONS[action]:
        assert f'name="{field}"' in html


def test_form_labels_name_their_fields(alice, alices_customer):
    pk = alices_customer.pk

    html = client_for(alice).get(reverse("worklist:snooze", args=[pk]), headers=HTMX).content.decode()

    assert f'<label class="form-label small mb-0" for="sn-until-{pk}">Until</label>' in html
    assert f'id="sn-until-{pk}"' in html
    assert f'<label class="form-label small mb-0" for="sn-reason-{pk}">Reason</label>' in html


def test_the_form_page_refuses_to_send_back_outside_the_site(alice, alices_customer):
    response = client_for(alice).get(
        reverse("worklist:log", args=[alices_customer.pk]), {"next": "https://evil.example/"}
    )

    main = response.content.decode().split('id="main"')[1]
    assert "evil.example" not in main
    assert f'name="next" value="{WORKLIST}"' in main and f'href="{WORKLIST}"' in main


@pytest.mark.parametrize("persona", ["alice", "ada"])
def test_owner_and_administrator_open_the_forms(request, persona, alices_customer):
    client = client_for(request.getfixturevalue(persona))

    statuses = [client.get(reverse(f"worklist:{action}", args=[alices_customer.pk])).status_code for action in ACTIONS]

    assert statuses == [200, 200, 200]


@pytest.mark.parametrize("persona", ["bob", "charlie", "marta"])
@pytest.mark.parametrize("htmx", [False, True])
def test_colleague_and_strangers_get_404_for_the_forms(request, persona, htmx, alices_customer):
    client = client_for(request.getfixturevalue(persona))
    headers = HTMX if htmx else {}

    statuses = [
        client.get(reverse(f"worklist:{action}", args=[alices_customer.pk]), headers=headers).status_code
        for action in ACTIONS
    ]

    assert statuses == [404, 404, 404]


def test_anonymous_visitor_is_sent_to_log_in(alices_customer):
    response = Client().get(reverse("worklist:log", args=[alices_customer.pk]))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_no_form_for_a_customer_off_the_worklists(alice, alices_customer):
    Customer.objects.filter(pk=alices_customer.pk).update(archived_at=timezone.now())

    response = client_for(alice).get(reverse("worklist:log", args=[alices_customer.pk]), headers=HTMX)

    assert response.status_code == 404


def test_wake_up_has_no_form_to_open(alice, alices_customer):
    response = client_for(alice).get(reverse("worklist:unsnooze", args=[alices_customer.pk]))

    assert response.status_code == 405
