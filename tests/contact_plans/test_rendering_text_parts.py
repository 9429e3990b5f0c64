"""The text part of an email without one, rendered from a text template derived once from the HTML
source (contact_plans/messaging/text_templates.py), reads as the rendered HTML converted to text;
and the bulk path's signed tokens are django.core.signing's own strings."""

from datetime import date
from unittest import mock

import pytest
from django.core import signing

from contact_plans.messaging import links, ready_made, text_templates, tokens
from contact_plans.messaging.plaintext import html_to_text
from contact_plans.messaging.rendering import environment, render_message, text_environment
from contact_plans.messaging.unsubscribe import SALT, email_links, token_make, token_read
from tests.customers.factories import CustomerFactory

from .factories import MessageTemplateFactory

CONTEXT = {
    "customer": {"first_name": "Ann", "name": "Ann  Lee\nJr", "company": "Tom & Jerry <b>Ltd</b>"},
    "metrics": {"last_purchase": date(2026, 3, 1), "purchases": 3},
    "account_manager": {"first_name": "Budi", "email": "budi@example.com", "name": "Budi Santoso"},
    "order": {"number": "O-1", "date": date(2026, 3, 1), "total": "£12.00", "items": 2},
    "recommended_products": [
        {"name": "Teak chair", "url": "https://shop.example/p/1", "price": "£89.00"},
        {"name": "No page", "url": "", "price": ""},
    ],
    "unsubscribe_url": "https://crm.example/m/u/TOKEN/",
    "preferences_url": "https://crm.example/m/u/TOKEN/#preferences",
}


def both_ways(source: str, context: dict = CONTEXT) -> tuple[str, str]:
    """(the rendered HTML converted, the derived text template rendered)."""
    html = environment(html=True).from_string(source).render(context)
    derived = text_templates.derived_template(text_environment(), source)
    assert derived is not None
    return html_to_text(html), text_templates.text_tidy(derived.render(context))


@pytest.mark.parametrize(
    ("key", "language"),
    [(t["key"], language) for t in ready_made.READY_MADE if t["channel"] == "email" for language in t["contents"]],
)
def test_every_ready_made_email_reads_the_same_from_its_derived_text_template(key, language):
    template = next(t for t in ready_made.READY_MADE if t["key"] == key)

    converted, derived = both_ways(template["contents"][language]["html"])

    assert derived == converted


def test_links_lists_and_values_read_as_the_converted_html():
    source = (
        "<h1>Hi {{ customer.first_name }}</h1><p>{{ customer.name }} of {{ customer.company }}</p><ul>"
        '{% for p in recommended_products %}<li><a href="{{ p.url }}">{{ p.name }}</a> {{ p.price }}</li>{% endfor %}'
        '</ul><p><a href="https://shop.example/">https://shop.example/</a> { not a tag {{ "{{" }}</p>'
    )

    converted, derived = both_ways(source)

    assert derived == converted
    assert "Ann Lee Jr of Tom & Jerry <b>Ltd</b>" in derived  # white space collapsed, nothing escaped
    assert "- Teak chair (https://shop.example/p/1) £89.00\n- No page" in derived  # an empty address: no brackets
    assert "{ not a tag {{" in derived


@pytest.mark.parametrize(
    "source",
    [
        "<p>{{ customer.name|safe }}</p>",
        "<pre>{{ customer.name }}</pre>",
        '<p class="{% if metrics.purchases %}vip{% endif %}">Hi</p>',
        "<ol>{% for p in recommended_products %}<li>{{ p.name }}</li>{% endfor %}</ol>",
        "{% macro m() %}<p>x</p>{% endmacro %}{{ m() }}",
    ],
)
def test_a_source_whose_text_cannot_be_derived_faithfully_gets_none(source):
    assert text_templates.derived_source(text_environment(), source) is None


@pytest.mark.django_db
def test_a_message_without_a_text_part_still_gets_one_when_no_text_template_can_be_derived():
    template = MessageTemplateFactory(contents={"en": {"subject": "Hi", "html": "<pre>{{ customer.name }}</pre>"}})

    rendered = render_message(template, CustomerFactory(name="Ann Lee"))

    assert rendered.text.startswith("Ann Lee")


def test_the_fast_token_is_the_string_signing_dumps_makes_and_verifies_as_one():
    with mock.patch("time.time", return_value=1_800_000_000.5):
        fast = tokens.dumps([42, "email"], salt=SALT)
        django = signing.dumps([42, "email"], salt=SALT, compress=False)
        link_fast = tokens.dumps(["<m@x>", "https://a.example/" + "x" * 80], salt=links.SALT, compress=True)
        link_django = signing.dumps(["<m@x>", "https://a.example/" + "x" * 80], salt=links.SALT, compress=True)

    assert (fast, link_fast) == (django, link_django)
    assert token_read(token_make(42)) == (42, "email")
    assert links.link_read(links.link_token(message_id="<m@x>", url="https://a.example/")) == (
        "<m@x>",
        "https://a.example/",
    )


def test_an_emails_two_links_share_one_token_that_names_the_customer():
    unsubscribe, preferences = email_links(7)

    assert preferences == unsubscribe + "#preferences"
    assert token_read(unsubscribe.rstrip("/").rsplit("/", 1)[1]) == (7, "email")
