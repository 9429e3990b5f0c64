""" "Bought together": the SQL of metrics.services.recommendations on small hand-made baskets, and the
per-customer reads of metrics.recommendations."""

import math
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from customers.models import Order
from metrics.models import ProductPair, ProductSales, RecomputeRun
from metrics.recommendations import (
    BOUGHT_TOGETHER,
    POPULAR,
    customer_recommendations,
    customers_recommendations,
    order_recommendations,
    product_related,
    product_url,
)
from metrics.services import metrics_recompute
from metrics.services.recommendations import product_pairs_recompute, product_pairs_recompute_for_run
from retention_crm import events
from tests.customers.factories import CustomerFactory, OrderFactory, ProductFactory, order_add_line
from tests.metrics.conftest import at_noon

pytestmark = pytest.mark.django_db


def basket(customer, *products, day="2024-03-01", status=Order.Status.PLACED, prices=None) -> Order:
    """A purchase of one of each product (quantity 1), placed unless ``status`` says otherwise."""
    order = OrderFactory(customer=customer, ordered_at=at_noon(day))
    for index, product in enumerate(products):
        order_add_line(order, product=product, unit_price=(prices or {}).get(index, "10.00"))
    if status != Order.Status.PLACED:
        refunded = order.gross_amount if status == Order.Status.REFUNDED else Decimal("0")
        Order.objects.filter(pk=order.pk).update(status=status, refunded_amount=refunded)
    return order


def pairs_of(product) -> list[tuple[str, int, int]]:
    return [
        (pair.related.sku, pair.rank, pair.together)
        for pair in ProductPair.objects.filter(product=product).select_related("related").order_by("rank")
    ]


@pytest.fixture
def abc():
    return ProductFactory(sku="A"), ProductFactory(sku="B"), ProductFactory(sku="C")


def test_known_pairs_are_counted_and_scored_by_cosine(abc):
    a, b, c = abc
    shopper = CustomerFactory()
    for products in ((a, b), (a, b), (a, c), (a, b, c), (b, c)):
        basket(shopper, *products)

    computed = product_pairs_recompute()

    # A is in 4 baskets, B in 4, C in 3; AB together in 3, AC in 2, BC in 2.
    assert (computed.baskets, computed.baskets_paired, computed.products, computed.pairs) == (5, 5, 3, 6)
    assert pairs_of(a) == [("B", 1, 3), ("C", 2, 2)]
    assert pairs_of(b) == [("A", 1, 3), ("C", 2, 2)]
    assert pairs_of(c) == [("A", 1, 2), ("B", 2, 2)]  # a tie is ranked by product id
    ab = ProductPair.objects.get(product=a, related=b)
    assert ab.score == pytest.approx(3 / math.sqrt(4 * 4))
    assert ProductPair.objects.get(product=c, related=a).score == pytest.approx(2 / math.sqrt(4 * 3))


def test_a_best_seller_does_not_swamp_a_product_that_goes_with_something(abc):
    # Bread is in every basket; jam goes with butter (3 of butter's 3 baskets, 3 of jam's 3).
    a, b, c = abc
    bread, butter, jam = ProductFactory(sku="BREAD"), ProductFactory(sku="BUTTER"), ProductFactory(sku="JAM")
    shopper = CustomerFactory()
    for _ in range(3):
        basket(shopper, bread, butter, jam)
    for other in (a, b, c, a, b, c, a, b, c, a):
        basket(shopper, bread, other)
    basket(shopper, bread, butter)

    product_pairs_recompute()

    # Butter is in 4 baskets with bread and 3 with jam, but bread is in 14: jam comes first.
    assert [sku for sku, _, _ in pairs_of(butter)] == ["JAM", "BREAD"]
    # By count alone bread would come first.
    product_pairs_recompute(score="count")
    assert [sku for sku, _, _ in pairs_of(butter)] == ["BREAD", "JAM"]


def test_refunded_and_cancelled_orders_do_not_count(abc):
    a, b, c = abc
    shopper = CustomerFactory()
    basket(shopper, a, b)
    basket(shopper, a, b)
    basket(shopper, a, c, status=Order.Status.REFUNDED)
    basket(shopper, a, c, status=Order.Status.CANCELLED)
    basket(shopper, a, c)

    product_pairs_recompute()

    assert pairs_of(a) == [("B", 1, 2)]  # AC is in one counted basket only
    sales = {s.product.sku: s.baskets for s in ProductSales.objects.select_related("product")}
    assert sales == {"A": 3, "B": 2, "C": 1}


def test_a_refund_order_and_negative_lines_are_not_baskets(abc):
    a, b, _ = abc
    shopper = CustomerFactory()
    basket(shopper, a, b)
    basket(shopper, a, b)
    refund = OrderFactory(customer=shopper, ordered_at=at_noon("2024-03-02"), kind=Order.Kind.REFUND)
    order_add_line(refund, product=a, quantity=-1)
    order_add_line(refund, product=b, quantity=-1)

    computed = product_pairs_recompute()

    assert computed.baskets == 2
    assert pairs_of(a) == [("B", 1, 2)]


def test_baskets_above_the_cap_are_left_out_of_the_pairs_but_count_as_sales(abc):
    a, b, c = abc
    d = ProductFactory(sku="D")
    shopper = CustomerFactory()
    basket(shopper, a, b, c, d)
    basket(shopper, a, b, c, d)
    basket(shopper, a, b)
    basket(shopper, a, b)

    with override_settings(METRICS_RECOMMEND_BASKET_CAP=3):
        computed = product_pairs_recompute()

    assert (computed.baskets, computed.baskets_paired) == (4, 2)
    assert pairs_of(a) == [("B", 1, 2)]
    assert pairs_of(c) == []
    assert ProductSales.objects.get(product=c).baskets == 2


def test_a_pair_seen_once_is_chance_and_each_product_keeps_its_best(abc):
    a, b, c = abc
    shopper = CustomerFactory()
    basket(shopper, a, b)
    basket(shopper, a, b)
    basket(shopper, a, c)
    basket(shopper, a, c)
    basket(shopper, a, c)
    basket(shopper, b, c)

    with override_settings(METRICS_RECOMMEND_PAIRS_KEPT=1):
        product_pairs_recompute()

    assert pairs_of(a) == [("C", 1, 3)]
    assert pairs_of(b) == [("A", 1, 2)]  # BC was seen once


def test_a_second_recompute_replaces_the_first_and_a_cut_off_ignores_later_orders(abc):
    a, b, c = abc
    shopper = CustomerFactory()
    basket(shopper, a, b, day="2024-01-10")
    basket(shopper, a, b, day="2024-01-11")
    basket(shopper, a, c, day="2024-02-10")
    basket(shopper, a, c, day="2024-02-11", prices={0: "12.50"})

    product_pairs_recompute()
    assert pairs_of(a) == [("B", 1, 2), ("C", 2, 2)]
    assert ProductSales.objects.get(product=a).price == Decimal("12.50")  # the latest price paid

    product_pairs_recompute(until=at_noon("2024-02-01"))

    assert pairs_of(a) == [("B", 1, 2)]
    assert ProductSales.objects.get(product=a).price == Decimal("10.00")
    assert not ProductSales.objects.filter(product=c).exists()


def test_an_unknown_score_is_refused(abc):
    with pytest.raises(ValueError, match="unknown score"):
        product_pairs_recompute(score="magic")


# --- Per customer ----------------------------------------------------------------------------------


@pytest.fixture
def shop():
    """Tea goes with a cup and with honey; a cake with a plate; a lamp sells alone, often."""
    products = {
        sku: ProductFactory(sku=sku, name=sku.title()) for sku in ("TEA", "CUP", "HONEY", "CAKE", "PLATE", "LAMP")
    }
    others = CustomerFactory()
    for _ in range(3):
        basket(others, products["TEA"], products["CUP"], products["HONEY"])
        basket(others, products["CAKE"], products["PLATE"])
    for _ in range(9):
        basket(others, products["LAMP"], prices={0: "30.00"})
    basket(others, products["TEA"], products["CUP"])
    product_pairs_recompute()
    return products


def skus(recommendations) -> list[str]:
    return [r.sku for r in recommendations]


def test_a_customer_gets_what_goes_with_what_they_bought_never_what_they_have(shop):
    customer = CustomerFactory()
    basket(customer, shop["TEA"], shop["HONEY"])

    recommendations = customer_recommendations(customer_id=customer.pk, limit=2)

    assert skus(recommendations) == ["CUP", "LAMP"]  # the cup; then the best-seller fills the list
    assert [r.reason for r in recommendations] == [BOUGHT_TOGETHER, POPULAR]
    assert recommendations[0].price == Decimal("10.0000") and recommendations[0].currency == "GBP"
    only_together = customers_recommendations(customer_ids=[customer.pk], limit=5, popular=False)
    assert skus(only_together[customer.pk]) == ["CUP"]


def test_scores_add_up_over_the_products_a_customer_bought(shop):
    customer = CustomerFactory()
    basket(customer, shop["TEA"])
    basket(customer, shop["CAKE"])

    recommendations = customer_recommendations(customer_id=customer.pk, limit=3)

    assert set(skus(recommendations)) == {"CUP", "HONEY", "PLATE"}
    assert all(r.reason == BOUGHT_TOGETHER for r in recommendations)
    assert recommendations == sorted(recommendations, key=lambda r: -r.score)


def test_a_refunded_product_is_not_offered_again_and_does_not_lead_to_others(shop):
    customer = CustomerFactory()
    basket(customer, shop["CAKE"])
    basket(customer, shop["TEA"], status=Order.Status.REFUNDED)

    recommendations = customers_recommendations(customer_ids=[customer.pk], popular=False)[customer.pk]

    assert skus(recommendations) == ["PLATE"]  # nothing of the returned tea's; not the tea itself


def test_a_cancelled_purchase_is_not_owned(shop):
    customer = CustomerFactory()
    basket(customer, shop["CUP"])
    basket(customer, shop["TEA"], status=Order.Status.CANCELLED)

    assert "TEA" in skus(customers_recommendations(customer_ids=[customer.pk], popular=False)[customer.pk])


def test_a_chunk_of_customers_in_one_read_each_their_own(shop):
    tea, cake, nobody = CustomerFactory(), CustomerFactory(), CustomerFactory()
    basket(tea, shop["TEA"], shop["CUP"])
    basket(cake, shop["CAKE"])

    chunk = customers_recommendations(customer_ids=[tea.pk, cake.pk, nobody.pk, tea.pk], limit=1)

    assert {cid: skus(r) for cid, r in chunk.items()} == {tea.pk: ["HONEY"], cake.pk: ["PLATE"], nobody.pk: ["LAMP"]}
    assert customers_recommendations(customer_ids=[]) == {}


def test_owned_products_before_a_cut_off_only(shop):
    customer = CustomerFactory()
    basket(customer, shop["TEA"], day="2024-01-05")
    basket(customer, shop["CUP"], day="2024-06-05")

    before = customers_recommendations(customer_ids=[customer.pk], until=at_noon("2024-02-01"), popular=False)

    assert "CUP" in skus(before[customer.pk])


def test_for_one_order_what_goes_with_it_comes_before_what_goes_with_the_rest(shop):
    customer = CustomerFactory()
    basket(customer, shop["CAKE"], day="2024-01-05")
    order = basket(customer, shop["TEA"], day="2024-06-05")

    for_order = order_recommendations(order_id=order.pk, customer_id=customer.pk, limit=4)
    for_customer = customer_recommendations(customer_id=customer.pk, limit=4)

    assert skus(for_order)[:2] == ["CUP", "HONEY"] and skus(for_order)[2:] == ["PLATE", "LAMP"]
    assert [r.reason for r in for_order] == [BOUGHT_TOGETHER, BOUGHT_TOGETHER, BOUGHT_TOGETHER, POPULAR]
    assert set(skus(for_customer)[:3]) == {"CUP", "HONEY", "PLATE"}
    assert order_recommendations(order_id=order.pk, customer_id=customer.pk, limit=0) == []


def test_a_products_related_products_best_first(shop):
    related = product_related(product_id=shop["TEA"].pk)

    assert [(r.product.sku, r.rank, r.together) for r in related] == [("CUP", 1, 4), ("HONEY", 2, 3)]
    assert related[0].price == Decimal("10.0000")
    assert product_related(product_id=shop["LAMP"].pk) == []


@override_settings(METRICS_PRODUCT_URL="https://shop.example.com/p/{sku}/")
def test_a_products_link_follows_the_configured_pattern():
    assert product_url("TEA/1 X") == "https://shop.example.com/p/TEA%2F1%20X/"
    with override_settings(METRICS_PRODUCT_URL=""):
        assert product_url("TEA") == ""


# --- The nightly hook -------------------------------------------------------------------------------


def test_a_metrics_recompute_recomputes_the_pairs_up_to_its_as_of_day(abc, django_capture_on_commit_callbacks):
    a, b, c = abc
    shopper = CustomerFactory()
    today = timezone.localdate()
    for days_ago in (40, 30, 20):
        basket(shopper, a, b, day=today - timedelta(days=days_ago))
    basket(shopper, a, c, day=today - timedelta(days=5))
    basket(shopper, a, c, day=today - timedelta(days=4))

    with django_capture_on_commit_callbacks(execute=True):
        run = metrics_recompute(as_of=today - timedelta(days=10))  # publishes metrics.recomputed

    assert run.status == RecomputeRun.Status.SUCCEEDED
    assert pairs_of(a) == [("B", 1, 3)]  # the baskets after its as-of day are not in it
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(events.METRICS_RECOMPUTED, run_id=metrics_recompute(as_of=today).pk)
    assert pairs_of(a) == [("B", 1, 3), ("C", 2, 2)]


def test_the_hook_of_a_run_that_is_gone_does_nothing(abc):
    a, b, _ = abc
    basket(CustomerFactory(), a, b)

    assert product_pairs_recompute_for_run(run_id=987654) is None
    assert not ProductSales.objects.exists()


def test_the_hook_counts_the_whole_as_of_day_of_the_workspace(abc):
    a, b, c = abc
    shopper = CustomerFactory()
    zone = timezone.get_current_timezone()
    for _ in range(2):
        late = basket(shopper, a, b)
        Order.objects.filter(pk=late.pk).update(ordered_at=datetime(2024, 3, 1, 23, 59, tzinfo=zone))
        early = basket(shopper, a, c)
        Order.objects.filter(pk=early.pk).update(ordered_at=datetime(2024, 3, 2, 0, 1, tzinfo=zone))
    run = RecomputeRun.objects.create(as_of=date(2024, 3, 1))

    computed = product_pairs_recompute_for_run(run_id=run.pk)

    assert computed.baskets == 2
    assert pairs_of(a) == [("B", 1, 2)]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_metrics_recomputed_has_a_real_worker_recompute_the_pairs(abc, celery_worker):
    import time

    a, b, _ = abc
    shopper = CustomerFactory()
    basket(shopper, a, b, day=timezone.localdate() - timedelta(days=3))
    basket(shopper, a, b, day=timezone.localdate() - timedelta(days=2))
    run = RecomputeRun.objects.create(as_of=timezone.localdate())

    with transaction.atomic():  # handlers run once the publisher's transaction commits
        events.publish(events.METRICS_RECOMPUTED, run_id=run.pk)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not ProductPair.objects.exists():
        time.sleep(0.1)
    assert pairs_of(a) == [("B", 1, 2)]
    assert ProductSales.objects.get(product=b).buyers == 1
