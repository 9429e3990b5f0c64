"""The message templates API: list, read, create and change with the editor's checks, preview for
a customer the caller may see, and the transactional send (idempotent, scoped, promotional refused)."""

import pytest
from django.urls import reverse

from contact_plans.models import Message, MessageTemplate
from tests.conftest import api_client_for
from tests.customers.factories import CustomerFactory

from .factories import MessageTemplateFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/message-templates/"


def body(**overrides):
    data = {
        "key": "receipt",
        "name": "Receipt",
        "channel": "email",
        "purpose": "transactional",
        "fallback_language": "en",
        "contents": {
            "en": {"subject": "Receipt for {{ customer.first_name }}", "html": "<p>Thanks</p>"},
            "id": {"subject": "Kuitansi", "html": "<p>Terima kasih</p>"},
        },
    }
    return {**data, **overrides}


def send_url(template) -> str:
    return reverse("api-message-template-send", args=[template.pk])


def test_a_marketer_creates_a_template_and_reads_it_back(marta):
    client = api_client_for(marta)

    created = client.post(LIST, body(), format="json")
    read = client.get(f"{LIST}{created.data['id']}/")

    assert created.status_code == 201
    assert read.data["contents"]["id"] == {"subject": "Kuitansi", "html": "<p>Terima kasih</p>", "text": ""}


def test_an_invalid_template_is_refused_naming_language_part_and_line(marta):
    data = body(contents={"en": {"subject": "", "html": "<p>ok</p>\n{{ customer.secret }}"}})

    response = api_client_for(marta).post(LIST, data, format="json")

    assert response.status_code == 400
    fields = response.data["error"]["fields"]
    assert fields["contents.en.subject"] == ["English: the subject is missing."]
    assert "Line 2: The placeholder “customer” has no “secret”." in fields["contents.en.html"][0]
    assert not MessageTemplate.objects.filter(key="receipt").exists()


def test_unknown_fields_and_languages_are_refused(marta):
    client = api_client_for(marta)

    language = client.post(LIST, body(contents={"xx": {"subject": "a", "html": "b"}}), format="json")
    field = client.post(LIST, body(contents={"en": {"subject": "a", "html": "b", "css": "c"}}), format="json")

    assert language.data["error"]["fields"] == {"contents": ["Unknown language codes: xx."]}
    assert field.data["error"]["fields"] == {"contents.en.css": ["Unknown field."]}


def test_an_update_is_checked_the_same_way(ada):
    template = MessageTemplateFactory(key="receipt")

    bad = api_client_for(ada).put(
        f"{LIST}{template.pk}/", body(contents={"en": {"subject": "x", "html": "{% if %}"}}), format="json"
    )
    good = api_client_for(ada).put(f"{LIST}{template.pk}/", body(name="Receipt v2"), format="json")

    assert bad.status_code == 400
    assert good.status_code == 200 and good.data["name"] == "Receipt v2"


def test_account_managers_read_but_do_not_write_and_strangers_get_404(alice, charlie):
    template = MessageTemplateFactory()

    assert api_client_for(alice).get(LIST).status_code == 200
    assert api_client_for(alice).post(LIST, body(), format="json").status_code == 403
    assert api_client_for(alice).put(f"{LIST}{template.pk}/", body(), format="json").status_code == 403
    assert api_client_for(charlie).get(LIST).status_code == 404
    assert api_client_for(charlie).get(f"{LIST}{template.pk}/").status_code == 404


def test_preview_for_an_own_customer_and_404_for_another_book(alice, bob):
    template = MessageTemplateFactory(
        contents={
            "en": {"subject": "Hi {{ customer.first_name }}", "html": "<p>x</p>"},
            "ca": {"subject": "Hola {{ customer.first_name }}", "html": "<p>y</p>"},
        }
    )
    own = CustomerFactory(name="Núria Vidal", account_manager=alice)
    other = CustomerFactory(account_manager=bob)
    url = f"{LIST}{template.pk}/preview/"

    response = api_client_for(alice).get(url, {"customer_id": own.pk, "language": "ca"})

    assert response.data == {"language": "ca", "subject": "Hola Núria", "html": "<p>y</p>", "text": "y"}
    assert api_client_for(alice).get(url, {"customer_id": other.pk}).status_code == 404
    assert api_client_for(alice).get(url, {"customer_id": 10**30}).status_code == 400


def test_a_transactional_send_is_queued_once_per_idempotency_key(alice):
    template = MessageTemplateFactory()
    customer = CustomerFactory(name="Ann Lee", account_manager=alice)
    client = api_client_for(alice)

    first = client.post(send_url(template), {"customer_id": customer.pk}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(send_url(template), {"customer_id": customer.pk}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == 201 and again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    message = Message.objects.get()
    assert (message.subject, message.template_id, message.state) == ("Hello Ann", template.pk, "queued")
    assert first.data["id"] == message.pk and first.data["source_key"] == f"api:{alice.pk}:k-1"


def test_a_send_to_a_customer_the_caller_may_not_see_is_a_404(alice, bob):
    template = MessageTemplateFactory()

    response = api_client_for(alice).post(
        send_url(template), {"customer_id": CustomerFactory(account_manager=bob).pk}, format="json"
    )

    assert response.status_code == 404
    assert not Message.objects.exists()


def test_a_promotional_template_is_refused_with_the_reason(marta):
    template = MessageTemplateFactory(purpose="promotional")

    response = api_client_for(marta).post(send_url(template), {"customer_id": CustomerFactory().pk}, format="json")

    assert response.status_code == 400
    assert response.data["error"]["code"] == "promotional_template"
    assert "promotional" in response.data["error"]["message"]
    assert not Message.objects.exists()


def test_the_schema_has_the_template_endpoints(ada):
    schema = api_client_for(ada).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    assert {
        "/api/v1/message-templates/",
        "/api/v1/message-templates/{id}/",
        "/api/v1/message-templates/{id}/preview/",
        "/api/v1/message-templates/{id}/send/",
    } <= set(schema["paths"])
