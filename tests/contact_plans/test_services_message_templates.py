"""Saving message templates: everything checked first (syntax, placeholders, subjects, languages),
errors naming the language, the part and the line; all languages written in one transaction."""

import pytest
from django.core.exceptions import ValidationError

from contact_plans.messaging.template_services import message_template_create, message_template_update
from contact_plans.models import MessageTemplate, MessageTemplateContent

from .factories import MessageTemplateFactory

pytestmark = pytest.mark.django_db

FIELDS = {
    "key": "hello",
    "name": "Hello",
    "channel": "email",
    "purpose": "promotional",
    "topic": "news",
    "fallback_language": "en",
    "is_active": True,
}


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


def test_a_template_with_four_languages_is_saved_whole():
    contents = {
        code: {"subject": f"{code} {{{{ customer.first_name }}}}", "html": "<p>{{ customer.name }}</p>"}
        for code in ("en", "id", "ms", "ca")
    }

    template = message_template_create(contents=contents, **FIELDS)

    assert sorted(template.contents.values_list("language", flat=True)) == ["ca", "en", "id", "ms"]


def test_broken_syntax_is_refused_naming_the_language_and_the_line():
    contents = {
        "en": {"subject": "Hi", "html": "<p>Hi</p>"},
        "ca": {"subject": "Hola", "html": "<p>Hola</p>\n<p>{% if customer.name %}oberta</p>"},
    }

    with pytest.raises(ValidationError) as excinfo:
        message_template_create(contents=contents, **FIELDS)

    [message] = errors_of(excinfo)["contents.ca.html"]
    assert message.startswith("Català, HTML body: Line 2:")
    assert "endif" in message
    assert not MessageTemplate.objects.filter(key="hello").exists()


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("{{ discount_code }}", "Unknown placeholder “discount_code”"),
        ("{{ customer.password }}", "The placeholder “customer” has no “password”"),
        ("{{ ''.__class__ }}", "“__class__” cannot be used"),
        ("{{ customer.delete() }}", "Calling functions or methods is not allowed"),
    ],
)
def test_unknown_placeholders_and_attributes_are_refused_naming_them(source, words):
    contents = {"en": {"subject": "Hi", "html": f"<p>ok</p>\n\n{source}"}}

    with pytest.raises(ValidationError) as excinfo:
        message_template_create(contents=contents, **FIELDS)

    [message] = errors_of(excinfo)["contents.en.html"]
    assert "Line 3" in message and words in message


def test_a_missing_subject_and_a_missing_fallback_language_are_refused():
    with pytest.raises(ValidationError) as excinfo:
        message_template_create(contents={"id": {"subject": "", "html": "<p>Halo</p>"}}, **FIELDS)

    errors = errors_of(excinfo)
    assert errors["contents.id.subject"] == ["Bahasa Indonesia: the subject is missing."]
    assert "fallback language (English)" in errors["fallback_language"][0]


def test_an_sms_takes_a_text_only():
    with pytest.raises(ValidationError) as excinfo:
        message_template_create(
            contents={"en": {"subject": "Hi", "html": "<p>x</p>", "text": ""}}, **{**FIELDS, "channel": "sms"}
        )

    errors = errors_of(excinfo)
    assert set(errors) == {"contents.en.subject", "contents.en.html", "contents.en.text"}


def test_an_error_in_one_language_leaves_every_language_as_it_was():
    template = MessageTemplateFactory(
        contents={"en": {"subject": "Hi", "html": "<p>Hi</p>"}, "id": {"subject": "Halo", "html": "<p>Halo</p>"}}
    )
    contents = {"en": {"subject": "Hello", "html": "<p>Hello</p>"}, "id": {"subject": "Halo", "html": "{{ nope }}"}}

    with pytest.raises(ValidationError):
        message_template_update(template=template, contents=contents)

    assert MessageTemplateContent.objects.get(template=template, language="en").subject == "Hi"


def test_an_update_replaces_the_languages_and_says_when_nothing_changed():
    template = MessageTemplateFactory(
        contents={"en": {"subject": "Hi", "html": "<p>Hi</p>"}, "id": {"subject": "Halo", "html": "<p>Halo</p>"}}
    )
    contents = {"en": {"subject": "Hi", "html": "<p>Hi</p>"}, "id": {"subject": "", "html": ""}}

    _template, changed = message_template_update(template=template, contents=contents)
    _template, changed_again = message_template_update(template=template, contents=contents)

    assert changed and not changed_again
    assert list(template.contents.values_list("language", flat=True)) == ["en"]


def test_a_key_is_unique():
    MessageTemplateFactory(key="hello")

    with pytest.raises(ValidationError) as excinfo:
        message_template_create(contents={"en": {"subject": "Hi", "html": "<p>Hi</p>"}}, **FIELDS)

    assert "key" in errors_of(excinfo)


def test_the_ready_made_templates_are_valid_in_four_languages():
    from contact_plans.messaging.ready_made import READY_MADE
    from contact_plans.messaging.template_services import contents_clean

    for spec in READY_MADE:
        cleaned, errors = contents_clean(channel=spec["channel"], contents=spec["contents"], fallback_language="en")
        assert errors == {}, spec["key"]
        assert sorted(cleaned) == ["ca", "en", "id", "ms"]
    assert MessageTemplate.objects.filter(key__in=[spec["key"] for spec in READY_MADE]).count() == 4


@pytest.mark.parametrize(
    ("html", "words"),
    [
        ("<p>" + "{% if customer.name %}" * 4000, "nested too deeply"),
        ("<p>" + "x" * 100_001 + "</p>", "longer than 100000 characters"),
    ],
)
def test_a_template_too_deep_or_too_long_is_refused_not_a_crash(html, words):
    with pytest.raises(ValidationError) as excinfo:
        message_template_create(contents={"en": {"subject": "Hi", "html": html}}, **FIELDS)

    assert words in errors_of(excinfo)["contents.en.html"][0]
