"""Render once, substitute per customer (contact_plans/messaging/skeleton.py): for every ready-made
template, in every language, the message made from a group's skeleton is byte for byte the message
rendered in full, whatever the customer's values hold; templates that cannot be reasoned about are
rendered per customer."""

import itertools
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import translation

from contact_plans.messaging import skeleton
from contact_plans.messaging.ready_made import READY_MADE
from contact_plans.messaging.rendering import content_names, render_parts

NAMES = [
    "Ann",
    "<b>Bob</b> & Co",
    'Zoë "Q" O\'Neil',
    "  spaced   out  ",
    "",
    "Ærøskøbing 北京",
    "line\nbreak\ttab",
    "&amp; <script>alert(1)</script>",
    "{{ customer.name }}",
]
MANAGERS = [
    {"name": "", "first_name": "", "email": ""},
    {"name": "Budi <Santoso>", "first_name": 'Budi & "Co"', "email": "budi+x@example.com"},
]
PRODUCTS = [
    [],
    [
        {"name": "Teak <chair>", "url": "https://shop.example/p/1?a=1&b=2", "price": "£89.00"},
        {"name": "No page", "url": "", "price": ""},
    ],
]


def template_of(spec):
    return SimpleNamespace(channel=spec["channel"], purpose=spec["purpose"], topic=spec["topic"])


def content_of(language, parts):
    return SimpleNamespace(language=language, subject=parts["subject"], html=parts["html"], text=parts.get("text", ""))


def contexts(names):
    for name, manager, products, last in itertools.product(NAMES, MANAGERS, PRODUCTS, [None, date(2026, 3, 1)]):
        token = f"T{abs(hash((name, manager['email'], len(products), last))) % 10**8}"
        context = {
            "customer": {
                "first_name": name.split()[0] if name.split() else "",
                "name": name,
                "company": name,
                "email": "a@example.com",
                "country": "GB",
                "external_id": "X-1",
                "customer_since": None,
            },
            "metrics": {
                "last_purchase": last,
                "first_purchase": None,
                "purchases": 0,
                "value_level": "",
                "clv": "",
                "predicted_clv": "",
            },
            "account_manager": manager,
            "order": {"number": f"O-{name}", "date": last, "total": Decimal("12.50"), "items": 2},
            "recommended_products": products,
            "unsubscribe_url": f"https://crm.example/m/u/{token}/",
            "preferences_url": f"https://crm.example/m/u/{token}/#preferences",
        }
        yield {key: value for key, value in context.items() if key in names}


CASES = [(spec, language) for spec in READY_MADE for language in spec["contents"]]


@pytest.mark.parametrize(("spec", "language"), CASES, ids=[f"{s['key']}-{lang}" for s, lang in CASES])
def test_every_ready_made_template_in_every_language_is_byte_identical(spec, language):
    template, content = template_of(spec), content_of(language, spec["contents"][language])
    plan = skeleton.plan_for(template, content)
    assert plan is not None, "a ready-made template is rendered once per group"
    names = content_names(template, content)
    fast = 0
    with translation.override(language):
        for context in contexts(names):
            full = render_parts(template, content, context)
            quick = plan.render(context)
            if quick is not None:
                fast += 1
                assert quick == full, context
    # The substituted values (first name, links...) never make a group of their own: the groups are
    # the combinations of what the templates test (manager, products, date), not one per customer.
    assert fast == len(NAMES) * len(MANAGERS) * len(PRODUCTS) * 2
    assert len(plan.groups) <= len(MANAGERS) * len(PRODUCTS) * 2
    assert ("customer", "first_name") in plan.plain


def test_a_template_that_filters_or_tests_a_value_keys_its_groups_on_it():
    template = SimpleNamespace(channel="email", purpose="transactional", topic="")
    content = content_of(
        "en",
        {
            "subject": "{{ customer.first_name|upper }} {{ customer.name }}",
            "html": "{% if customer.company == 'Acme' %}<p>Hi {{ customer.name }}</p>{% endif %}"
            "{% filter lower %}<p>{{ customer.email }}</p>{% endfilter %}",
        },
    )
    plan = skeleton.plan_for(template, content)
    assert plan is not None
    assert set(plan.structural) == {("customer", "first_name"), ("customer", "company"), ("customer", "email")}
    assert plan.plain == [("customer", "name")]
    base = {"first_name": "ann", "name": "Ann <Lee>", "company": "Acme", "email": "ANN@EXAMPLE.COM"}
    with translation.override("en"):
        for changes in ({}, {"name": "Bo & Co"}, {"company": "Other"}, {"first_name": "zoë"}, {"email": "X@Y.Z"}):
            context = {"customer": {**base, **changes}}
            assert plan.render(context) == render_parts(template, content, context)
    assert len(plan.groups) == 4  # the name alone makes no group


@pytest.mark.parametrize(
    "html",
    [
        "{% macro hi(n) %}{{ n }}{% endmacro %}{{ hi(customer.name) }}",
        "{% for customer in recommended_products %}{{ customer.name }}{% endfor %}",
        "{% set metrics = customer %}{{ metrics.name }}",
        "<p>{% if unsubscribe_url %}x{% endif %}</p>",
        "<pre>{{ customer.name }}</pre>",  # its text part is converted from each rendered HTML
    ],
)
def test_templates_it_cannot_reason_about_are_rendered_per_customer(html):
    template = SimpleNamespace(channel="email", purpose="transactional", topic="")
    assert skeleton.plan_for(template, content_of("en", {"subject": "Hi", "html": html})) is None


def test_a_link_that_would_read_differently_is_rendered_in_full():
    template = SimpleNamespace(channel="email", purpose="transactional", topic="")
    content = content_of("en", {"subject": "Hi", "html": '<p><a href="{{ customer.company }}">Our shop</a></p>'})
    plan = skeleton.plan_for(template, content)
    assert plan is not None
    with translation.override("en"):
        for company in ("https://shop.example/?a=1&b=2", "#top", "javascript:void(0)", "Our shop", ""):
            context = {"customer": {"company": company}}
            quick = plan.render(context)
            full = render_parts(template, content, context)
            if company.startswith("https"):
                assert quick == full
                assert "Our shop (https://shop.example/?a=1&b=2)" in quick.text
                assert 'href="https://shop.example/?a=1&amp;b=2"' in quick.html
            else:
                assert quick is None  # "Our shop" alone, or the address alone: the full render says so


def test_an_own_text_part_that_comes_out_empty_is_rendered_in_full():
    template = SimpleNamespace(channel="email", purpose="promotional", topic="news")
    content = content_of("en", {"subject": "Hi", "html": "<p>Hi</p>", "text": "{{ customer.first_name }}"})
    plan = skeleton.plan_for(template, content)
    links = {"unsubscribe_url": "https://crm.example/u/1/", "preferences_url": "https://crm.example/u/1/#p"}
    with translation.override("en"):
        named = {"customer": {"first_name": "Ann"}, **links}
        assert plan.render(named) == render_parts(template, content, named)
        empty = {"customer": {"first_name": ""}, **links}
        assert plan.render(empty) is None
        assert render_parts(template, content, empty).text.startswith("Hi")


def test_a_value_missing_from_the_context_is_rendered_in_full():
    template = SimpleNamespace(channel="email", purpose="transactional", topic="")
    content = content_of("en", {"subject": "{{ customer.first_name }}", "html": "<p>{{ customer.name }}</p>"})
    plan = skeleton.plan_for(template, content)
    with translation.override("en"):
        assert plan.render({"customer": {"first_name": "Ann"}}) is None
        assert plan.render({"customer": "not a dict"}) is None
