"""Rendering message templates in the sandbox: only placeholders reachable, customer data escaped,
dates in the message's language, a text part from the HTML, the fallback language."""

from datetime import date
from decimal import Decimal

import pytest

from contact_plans.messaging.plaintext import html_to_text
from contact_plans.messaging.rendering import RenderError, render_message, source_errors
from metrics.models import CustomerMetrics
from retention_crm import message_placeholders as mp
from tests.customers.factories import CustomerFactory, UserFactory

from .factories import MessageTemplateFactory

pytestmark = pytest.mark.django_db


def email(html, subject="Hi", text="", **kwargs):
    return MessageTemplateFactory(contents={"en": {"subject": subject, "html": html, "text": text}}, **kwargs)


def test_html_in_customer_data_is_escaped_in_the_html_and_left_alone_in_the_subject_and_text():
    customer = CustomerFactory(name="<script>alert(1)</script> Ann", company="Tom & Jerry <b>Ltd</b>")
    template = email(
        "<p>{{ customer.name }} of {{ customer.company }}</p>",
        subject="For {{ customer.company }}",
        text="Dear {{ customer.company }}",
    )

    rendered = render_message(template, customer)

    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Ann of Tom &amp; Jerry &lt;b&gt;Ltd&lt;/b&gt;" in rendered.html
    assert rendered.subject == "For Tom & Jerry <b>Ltd</b>"
    assert rendered.text == "Dear Tom & Jerry <b>Ltd</b>"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ customer.__class__ }}",
        "{{ customer.delete() }}",
        "{{ customer.items() }}",
        "{{ customer|attr('__class__') }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ range(10) }}",
        "{{ config }}",
        "{% include 'base.html' %}",
    ],
)
def test_an_attempt_to_reach_python_is_refused_when_saved(source):
    assert source_errors(source, html=True)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ customer.__class__ }}",
        "{{ customer.items() }}",
        "{{ customer.name.upper.__globals__ }}",
        "{{ range(3) }}",
        "{% if %}",
        "{% if customer.name %}" * 5000,
    ],
)
def test_and_is_harmless_when_rendered_anyway(source):
    # Say the template was written before a check existed, or straight into the database.
    customer = CustomerFactory()
    template = email(source)

    try:
        rendered = render_message(template, customer)
    except RenderError as exc:
        assert str(exc)  # a reason to show, not a crash
        return
    # What got through is the customer's own plain data, never a Python object or a class.
    assert "class" not in rendered.html and "function" not in rendered.html and "object at" not in rendered.html


@pytest.mark.parametrize("source", ["{{ 'a' * 1000000000 }}", "{{ [1] * 1000000000 }}", "{{ 2 ** 100000000 }}"])
def test_a_template_cannot_take_the_memory_of_the_worker(source):
    with pytest.raises(RenderError):
        render_message(email(source), CustomerFactory())


def test_a_template_reaches_only_plain_values_never_a_model():
    customer = CustomerFactory(name="Ann Lee", account_manager=UserFactory(first_name="Budi", email="b@example.com"))
    template = email("{{ customer }}|{{ account_manager }}")

    rendered = render_message(template, customer)

    assert "Customer object" not in rendered.html
    assert "&#39;first_name&#39;: &#39;Ann&#39;" in rendered.html
    assert "&#39;email&#39;: &#39;b@example.com&#39;" in rendered.html


def test_a_provider_that_returns_a_model_is_refused():
    mp.register(mp.Placeholder(name="leaky", description="", example="", provider=lambda customer: customer))
    try:
        with pytest.raises(mp.NotPlain):
            render_message(email("{{ leaky }}"), CustomerFactory())
    finally:
        mp.unregister("leaky")


def test_metrics_dates_and_money_in_the_message_language():
    customer = CustomerFactory(name="Carme Puig", language="ca")
    CustomerMetrics.objects.create(
        customer=customer,
        as_of=date(2026, 3, 1),
        last_purchase=date(2026, 3, 14),
        purchases=4,
        net_revenue=Decimal("1234.50"),
        value_level="high",
    )
    template = MessageTemplateFactory(
        contents={
            "en": {"subject": "x", "html": "{{ metrics.last_purchase }} {{ metrics.clv }} {{ metrics.value_level }}"},
            "ca": {"subject": "x", "html": "{{ metrics.last_purchase }} {{ metrics.clv }} {{ metrics.value_level }}"},
        }
    )

    catalan = render_message(template, customer)
    english = render_message(template, customer, language="en")

    assert catalan.language == "ca"
    assert "14 de març del 2026" in catalan.html
    assert "1.234,50" in catalan.html and "£" in catalan.html
    assert english.html.startswith("14 March 2026 £1,234.50 High")


def test_the_customer_language_else_the_fallback():
    indonesian = CustomerFactory(language="id")
    malay = CustomerFactory(language="ms")
    template = MessageTemplateFactory(
        fallback_language="en",
        contents={
            "en": {"subject": "Hello", "html": "<p>Hello</p>"},
            "id": {"subject": "Halo", "html": "<p>Halo</p>"},
        },
    )

    assert render_message(template, indonesian).subject == "Halo"
    assert render_message(template, malay).language == "en"
    assert render_message(template, indonesian, language="ca").subject == "Hello"


def test_the_text_part_is_generated_from_the_html_with_links_lists_and_paragraphs():
    html = (
        "<html><head><style>p {color: red}</style></head><body><h1>Thanks, {{ customer.first_name }}</h1>"
        "<p>See <a href='https://shop.example.com/o/1'>your order</a>\n and   more.</p>"
        "<ul><li>One</li><li>Two</li></ul><ol><li>First</li><li>Second</li></ol><p>Bye<br>The team</p></body></html>"
    )
    rendered = render_message(email(html), CustomerFactory(name="Ann Lee"))

    assert rendered.text == (
        "Thanks, Ann\n\nSee your order (https://shop.example.com/o/1) and more.\n\n- One\n- Two\n\n"
        "1. First\n2. Second\n\nBye\nThe team"
    )


def test_a_written_text_part_is_kept():
    rendered = render_message(email("<p>Hi</p>", text="Hi {{ customer.first_name }}"), CustomerFactory(name="Ann"))

    assert rendered.text == "Hi Ann"


def test_an_empty_list_of_recommended_products_renders_nothing():
    template = email("<p>Hi</p>{% for product in recommended_products %}<li>{{ product.name }}</li>{% endfor %}")

    assert render_message(template, CustomerFactory()).html == "<p>Hi</p>"


def test_an_sms_has_a_text_only():
    template = MessageTemplateFactory(channel="sms", contents={"en": {"text": "Hi {{ customer.first_name }} & co"}})

    rendered = render_message(template, CustomerFactory(name="Ann <Lee>"))

    assert (rendered.subject, rendered.html, rendered.text) == ("", "", "Hi Ann & co")


def test_a_subject_is_one_line_whatever_the_data():
    rendered = render_message(
        email("<p>x</p>", subject="For {{ customer.company }}"),
        CustomerFactory(company="Acme\r\nBcc: victim@example.com"),
    )

    assert rendered.subject == "For Acme Bcc: victim@example.com"


def test_extra_replaces_a_placeholder_value_and_must_name_one():
    template = email("{{ order.number }}")
    customer = CustomerFactory()

    assert render_message(template, customer, extra={"order": {"number": "O-9"}}).html == "O-9"
    with pytest.raises(ValueError):
        render_message(template, customer, extra={"secret": 1})


def test_html_to_text_keeps_a_bare_link_once():
    assert html_to_text('<p><a href="https://a.example">https://a.example</a></p>') == "https://a.example"
