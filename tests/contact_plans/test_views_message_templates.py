"""The template editor, the placeholders page, the preview and the test send in the browser:
who may do what (marketer and administrator edit, account managers read and preview their
customers, anyone else gets 404), errors on the form, nothing saved half-way."""

import pytest
from django.core import mail
from django.urls import reverse

from contact_plans.models import MessageTemplate
from tests.clients import client_for
from tests.customers.factories import CustomerFactory

from .factories import MessageTemplateFactory

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    data = {
        "name": "Spring news",
        "key": "spring-news",
        "channel": "email",
        "purpose": "promotional",
        "topic": "news",
        "fallback_language": "en",
        "is_active": "on",
        "en_subject": "Spring, {{ customer.first_name }}",
        "en_html": "<p>Hello {{ customer.first_name }}</p>",
        "ca_subject": "Primavera",
        "ca_html": "<p>Hola {{ customer.first_name }}</p>",
    }
    return {**data, **overrides}


@pytest.fixture
def template():
    return MessageTemplateFactory(
        name="Hello",
        contents={
            "en": {"subject": "Hello {{ customer.first_name }}", "html": "<p>Hello <b>{{ customer.name }}</b></p>"},
            "ca": {"subject": "Hola {{ customer.first_name }}", "html": "<p>Hola {{ customer.name }}</p>"},
        },
    )


def test_a_marketer_creates_a_template_in_two_languages(marta):
    response = client_for(marta).post(reverse("message_templates:create"), form_data())

    template = MessageTemplate.objects.get(key="spring-news")
    assert response.status_code == 302
    assert sorted(template.contents.values_list("language", flat=True)) == ["ca", "en"]
    assert template.created_by == marta


def test_an_unknown_placeholder_is_shown_on_its_field_and_nothing_is_saved(marta):
    data = form_data(ca_html="<p>Hola</p>\n<p>{{ customer.nickname }}</p>")

    response = client_for(marta).post(reverse("message_templates:create"), data)

    assert response.status_code == 400
    assert "Català, HTML body: Line 2: The placeholder “customer” has no “nickname”." in response.content.decode()
    assert not MessageTemplate.objects.filter(key="spring-news").exists()


def test_broken_syntax_in_an_edit_keeps_the_template_as_it_was(ada, template):
    data = form_data(key=template.key, en_html="<p>{% for x in %}</p>")

    response = client_for(ada).post(reverse("message_templates:edit", args=[template.pk]), data)

    assert response.status_code == 400
    assert "English, HTML body: Line 1:" in response.content.decode()
    template.refresh_from_db()
    assert template.name == "Hello"
    assert template.contents.get(language="en").html == "<p>Hello <b>{{ customer.name }}</b></p>"


def test_an_account_manager_reads_the_editor_without_saving(alice, template):
    client = client_for(alice)

    page = client.get(reverse("message_templates:edit", args=[template.pk]))
    post = client.post(reverse("message_templates:edit", args=[template.pk]), form_data(key=template.key))

    assert page.status_code == 200 and "<fieldset disabled>" in page.content.decode()
    assert post.status_code == 404
    assert client.get(reverse("message_templates:create")).status_code == 404


def test_someone_without_a_role_sees_no_template(charlie, template):
    client = client_for(charlie)

    for url in (
        reverse("message_templates:list"),
        reverse("message_templates:edit", args=[template.pk]),
        reverse("message_templates:preview", args=[template.pk]),
        reverse("message_templates:placeholders"),
    ):
        assert client.get(url).status_code == 404


def test_the_placeholders_page_lists_the_registry(alice):
    response = client_for(alice).get(reverse("message_templates:placeholders"))

    body = response.content.decode()
    assert "customer.first_name" in body and "recommended_products" in body and "unsubscribe_url" in body


def test_the_preview_renders_for_the_chosen_customer_in_the_chosen_language(alice, template):
    customer = CustomerFactory(name="Jordi <i>Puig</i>", account_manager=alice, language="en")

    page = client_for(alice).get(
        reverse("message_templates:preview", args=[template.pk]), {"customer": customer.pk, "language": "ca"}
    )
    body = client_for(alice).get(
        reverse("message_templates:preview_body", args=[template.pk]), {"customer": customer.pk, "language": "ca"}
    )

    assert "Hola Jordi" in page.content.decode()
    assert body.content.decode() == "<p>Hola Jordi &lt;i&gt;Puig&lt;/i&gt;</p>"
    assert "sandbox" in body["Content-Security-Policy"] and "script-src" not in body["Content-Security-Policy"]
    assert body["X-Frame-Options"] == "SAMEORIGIN"


def test_a_preview_for_a_customer_outside_the_book_is_a_404(alice, bob, template):
    bobs = CustomerFactory(account_manager=bob)

    for name in ("message_templates:preview", "message_templates:preview_body"):
        response = client_for(alice).get(reverse(name, args=[template.pk]), {"customer": bobs.pk})
        assert response.status_code == 404


def test_a_marketer_sends_a_test_to_her_own_address(marta, template):
    marta.email = "marta@example.com"
    marta.save()
    customer = CustomerFactory(name="Ann Lee")

    response = client_for(marta).post(
        reverse("message_templates:test_send", args=[template.pk]), {"customer": customer.pk, "language": "en"}
    )

    assert response.status_code == 302
    [sent] = mail.outbox
    assert sent.to == ["marta@example.com"]
    assert sent.subject == "[Test] Hello Ann"


def test_a_test_send_needs_an_address_and_an_editor(marta, alice, template):
    customer = CustomerFactory(account_manager=alice)

    no_address = client_for(marta).post(
        reverse("message_templates:test_send", args=[template.pk]), {"customer": customer.pk}, follow=True
    )
    account_manager = client_for(alice).post(
        reverse("message_templates:test_send", args=[template.pk]), {"customer": customer.pk}
    )

    assert "Your account has no email address" in no_address.content.decode()
    assert account_manager.status_code == 404
    assert mail.outbox == []


def test_an_sms_preview_shows_its_text_and_length_without_a_frame(marta):
    template = MessageTemplateFactory(channel="sms", contents={"en": {"text": "Hi {{ customer.first_name }}!"}})
    customer = CustomerFactory(name="Ann Lee", phone="+447911123456")

    page = client_for(marta).get(reverse("message_templates:preview", args=[template.pk]), {"customer": customer.pk})

    body = page.content.decode()
    assert "Hi Ann!" in body and "7 characters" in body
    assert "<iframe" not in body and "Send me a test" not in body


@pytest.mark.parametrize(
    ("language", "name"),
    [("en", "Order thank-you"), ("id", "Terima kasih atas pesanan"), ("ca", "Agraïment per la comanda")],
)
def test_the_ready_made_templates_are_named_in_the_readers_language_until_renamed(marta, language, name):
    from contact_plans.messaging.ready_made import ready_made_install
    from contact_plans.models import MessageTemplateContent

    ready_made_install(MessageTemplate, MessageTemplateContent)
    MessageTemplate.objects.filter(key="win-back-offer").update(name="Our own win-back")

    html = client_for(marta).get(reverse("message_templates:list"), HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert f">{name}</a>" in html
    # A name the marketer gave is theirs: shown as written, in every language.
    assert ">Our own win-back</a>" in html
