"""The recommended_products placeholder (metrics' "bought together") in rendered messages: the order
thank-you offers what is often bought with the order, in the customer's language, with the discount
the template states, only to customers who accepted offers; and the migration that brings the
installed ready-made templates up to date without touching a marketer's edits."""

from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.test import override_settings
from django.utils import timezone

from contact_plans.messaging.placeholders import recommended_products_block
from contact_plans.messaging.ready_made import READY_MADE, ready_made_install
from contact_plans.messaging.sending import ORDER_THANK_YOU_KEY
from contact_plans.models import Message, MessageTemplate, MessageTemplateContent
from customers.services import order_record
from metrics.services.recommendations import product_pairs_recompute
from tests.customers.factories import CustomerFactory, OrderFactory, ProductFactory, order_add_line

from .factories import consenting_customer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def ready_made_templates():
    ready_made_install(MessageTemplate, MessageTemplateContent)


@pytest.fixture
def tea_shop():
    """Tea is bought with a teapot (£35.00) and a tin (£6.50)."""
    tea = ProductFactory(sku="TEA-1", name="Green tea")
    teapot = ProductFactory(sku="POT/1", name="Cast-iron teapot")
    tin = ProductFactory(sku="TIN-1", name="Tea tin")
    others = CustomerFactory()
    for _ in range(3):
        order = OrderFactory(customer=others)
        order_add_line(order, product=tea, unit_price="4.50")
        order_add_line(order, product=teapot, unit_price="35.00")
    for _ in range(2):
        order = OrderFactory(customer=others)
        order_add_line(order, product=tea, unit_price="4.50")
        order_add_line(order, product=tin, unit_price="6.50")
    product_pairs_recompute()
    return tea, teapot, tin


def place_order(customer, external_id="WEB-1"):
    return order_record(
        external_id=external_id,
        customer=customer,
        ordered_at=timezone.now(),
        lines=[{"sku": "TEA-1", "name": "Green tea", "quantity": 2, "unit_price": "4.50"}],
    )


def thank_you(order) -> Message:
    return Message.objects.get(source_key=f"{ORDER_THANK_YOU_KEY}:{order.pk}")


def test_the_thank_you_offers_what_is_bought_with_the_order_at_the_stated_discount(tea_shop):
    customer = consenting_customer(name="Dewi Lestari", language="id")

    message = thank_you(place_order(customer))

    assert "Sering dibeli bersama pesanan Anda" in message.html
    assert "<strong>diskon 10%</strong>" in message.html and "THANKYOU10" in message.html
    assert message.html.index("Cast-iron teapot") < message.html.index("Tea tin")  # best first
    assert "£35,00" in message.html and "£6,50" in message.html  # prices in Indonesian
    assert "<li>Green tea" not in message.html  # what the order holds is not offered again
    assert "Cast-iron teapot" in message.text


def test_the_thank_you_offers_first_what_goes_with_this_order_not_with_older_purchases(tea_shop):
    cake, plate = ProductFactory(sku="CAKE", name="Lemon cake"), ProductFactory(sku="PLATE", name="Cake plate")
    others = CustomerFactory()
    for _ in range(6):
        order = OrderFactory(customer=others)
        order_add_line(order, product=cake)
        order_add_line(order, product=plate)
    product_pairs_recompute()
    customer = consenting_customer(language="en")
    order_add_line(OrderFactory(customer=customer), product=cake)

    html = thank_you(place_order(customer)).html

    offer = html[html.index("Often bought with your order") :]
    assert offer.index("Cast-iron teapot") < offer.index("Tea tin") < offer.index("Cake plate")


@override_settings(METRICS_PRODUCT_URL="https://shop.example.com/p/{sku}/", MESSAGING_TRACK_LINKS=False)
def test_each_product_links_to_the_shop_when_it_has_pages(tea_shop):
    # Link tracking off, so the shop's address is in the message itself (with tracking, the link goes
    # through the click-recording redirect to the same address: tests/contact_plans/test_views_link_tracking.py).
    message = thank_you(place_order(consenting_customer(language="ca")))

    assert '<a href="https://shop.example.com/p/POT%2F1/">Cast-iron teapot</a> 35,00\xa0£' in message.html
    assert "Sovint es compren amb la vostra comanda" in message.html


def test_without_a_shop_link_a_product_is_its_name_not_an_empty_link(tea_shop):
    message = thank_you(place_order(consenting_customer(language="en")))

    assert "<li>Cast-iron teapot £35.00</li>" in message.html
    assert 'href=""' not in message.html


def test_a_customer_without_marketing_consent_is_thanked_without_an_offer(tea_shop):
    customer = CustomerFactory(language="en", marketing_consent=False)

    message = thank_you(place_order(customer))

    assert "Thank you for your order WEB-1" in message.subject
    assert "THANKYOU10" not in message.html and "teapot" not in message.html
    assert recommended_products_block(customer) == []


def test_a_customer_with_nothing_to_go_on_gets_the_best_sellers_they_do_not_have(tea_shop):
    customer = consenting_customer()

    products = recommended_products_block(customer)

    assert [p["name"] for p in products] == ["Green tea", "Cast-iron teapot", "Tea tin"]
    assert products[0] == {"name": "Green tea", "url": "", "price": "£4.50"}


def test_the_migration_updates_untouched_ready_made_templates_and_leaves_edited_ones():
    migration = import_module("contact_plans.migrations.0008_ready_made_bought_together")
    contents = MessageTemplateContent.objects.filter(template__key=ORDER_THANK_YOU_KEY)
    before = {language: old for language, (old, _new) in migration.CHANGES[ORDER_THANK_YOU_KEY].items()}
    for language, old in before.items():
        contents.filter(language=language).update(html=old)
    contents.filter(language="ca").update(html="<p>La nostra pròpia versió</p>")

    migration.forwards(django_apps, None)

    current = {spec["key"]: spec for spec in READY_MADE}[ORDER_THANK_YOU_KEY]["contents"]
    assert contents.get(language="en").html == current["en"]["html"]
    assert contents.get(language="id").html == current["id"]["html"]
    assert contents.get(language="ca").html == "<p>La nostra pròpia versió</p>"
    migration.backwards(django_apps, None)
    assert contents.get(language="en").html == before["en"]
