"""The programme's pages: earning rules, tiers and rewards (list, create, edit) and the results.

Marta (marketer) and Ada (administrator) run the programme; Alice (an account manager) and Charlie
(no role) get a 404 from every page, as from a customer they may not see.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from loyalty import services
from loyalty.models import EarningRule, Reward, Tier
from tests.clients import client_for

from .factories import EarningRuleFactory, MemberFactory, RewardFactory, TierFactory, place_order

pytestmark = pytest.mark.django_db

PAGES = [
    "loyalty:results",
    "loyalty:rules",
    "loyalty:rule_create",
    "loyalty:tiers",
    "loyalty:tier_create",
    "loyalty:rewards",
    "loyalty:reward_create",
    "loyalty:settings",
]


def _local(at: datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("page", PAGES)
def test_marketers_and_administrators_open_the_programme_pages(marta, ada, page):
    for user in (marta, ada):
        assert client_for(user).get(reverse(page)).status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_account_managers_and_users_without_a_role_get_a_404(alice, charlie, page):
    for user in (alice, charlie):
        assert client_for(user).get(reverse(page)).status_code == 404
        assert client_for(user).post(reverse(page), {"name": "x"}).status_code == 404
    assert not EarningRule.objects.exists() and not Tier.objects.exists() and not Reward.objects.exists()


def test_the_navbar_shows_loyalty_to_marketers_only(marta, alice):
    assert reverse("loyalty:results") in client_for(marta).get(reverse("customers:list")).content.decode()

    assert reverse("loyalty:results") not in client_for(alice).get(reverse("customers:list")).content.decode()


def test_a_marketer_creates_a_base_rule(marta):
    data = {"kind": "base", "name": "One per euro", "value": "1", "starts_at": "2025-01-01T00:00"}

    response = client_for(marta).post(reverse("loyalty:rule_create"), data)

    assert response.status_code == 302
    rule = EarningRule.objects.get()
    assert (rule.kind, rule.value, rule.ends_at) == ("base", Decimal("1"), None)


@pytest.mark.parametrize(
    "changes, field, reason",
    [
        ({"value": "-1"}, "value", "A rule never awards negative points"),
        ({"value": "5000"}, "value", "At most 1000 points per currency unit"),
        ({"kind": "promotion", "value": "500"}, "value", "A multiplier of at most 100"),
        ({"kind": "signup", "value": "10.5"}, "value", "A bonus is a whole number of points"),
        ({"kind": "product", "sku": ""}, "sku", "names the product"),
        ({"kind": "category"}, "category", "names the category"),
        ({"ends_at": "2024-12-31T00:00"}, "ends_at", "must end after it starts"),
        ({"value": "abc"}, "value", "Enter a number"),
        ({"starts_at": "yesterday"}, "starts_at", "Enter a valid date/time"),
    ],
)
def test_a_bad_rule_is_refused_with_its_reason_and_nothing_is_written(marta, changes, field, reason):
    data = {"kind": "base", "name": "Bad", "value": "1", "starts_at": "2025-01-01T00:00"} | changes

    response = client_for(marta).post(reverse("loyalty:rule_create"), data)

    assert response.status_code == 200
    assert any(reason in error for error in response.context["form"].errors[field])
    assert not EarningRule.objects.exists()


def test_a_rule_not_yet_in_force_is_edited_in_place(marta):
    rule = EarningRuleFactory(starts_at=timezone.now() + timedelta(days=7))
    data = {"name": "Later", "value": "3", "starts_at": _local(rule.starts_at), "kind": "base"}

    client_for(marta).post(reverse("loyalty:rule_edit", args=[rule.pk]), data)

    assert list(EarningRule.objects.values_list("pk", "value")) == [(rule.pk, Decimal("3"))]


def test_changing_a_rule_in_force_ends_it_and_starts_a_new_one_so_past_orders_keep_their_points(marta):
    rule = EarningRuleFactory(value=1)
    member = MemberFactory()
    before = place_order(member.customer, amount="100", at=datetime(2025, 3, 1, tzinfo=UTC))
    services.order_points_earn(order_id=before.pk)
    change_at = timezone.localtime().replace(second=0, microsecond=0) + timedelta(hours=1)

    response = client_for(marta).post(
        reverse("loyalty:rule_edit", args=[rule.pk]),
        {"name": "Double", "value": "2", "starts_at": _local(change_at), "kind": "promotion"},
    )

    assert response.status_code == 302
    old, new = EarningRule.objects.order_by("starts_at")
    assert (old.pk, old.value, old.ends_at) == (rule.pk, Decimal("1"), change_at)
    assert (new.kind, new.value, new.starts_at, new.ends_at) == ("base", Decimal("2"), change_at, None)
    member.refresh_from_db()
    assert member.points == 100  # the order placed before the change earned by the rule of its time


def test_a_rule_in_force_cannot_be_changed_from_a_past_date(marta):
    rule = EarningRuleFactory(value=1)

    response = client_for(marta).post(
        reverse("loyalty:rule_edit", args=[rule.pk]),
        {"name": rule.name, "value": "2", "starts_at": "2024-06-01T00:00", "kind": "base"},
    )

    assert "past orders keep their points" in str(response.context["form"].errors["starts_at"])
    assert list(EarningRule.objects.values_list("value", "ends_at")) == [(Decimal("1"), None)]


def test_tiers_are_created_and_edited_with_clear_refusals(ada):
    TierFactory(name="Silver", threshold=500)
    client = client_for(ada)
    data = {"name": "Gold", "threshold": "500", "discount_percent": "150", "earn_multiplier": "50", "benefits": ""}

    refused = client.post(reverse("loyalty:tier_create"), data)

    errors = refused.context["form"].errors
    assert "Another tier starts at this threshold" in str(errors["threshold"])
    assert "between 0 and 100" in str(errors["discount_percent"])
    assert "between 0 and 10" in str(errors["earn_multiplier"])
    assert Tier.objects.count() == 1

    data |= {"threshold": "2000", "discount_percent": "10", "earn_multiplier": "1.5"}
    assert client.post(reverse("loyalty:tier_create"), data).status_code == 302
    gold = Tier.objects.get(name="Gold")
    assert client.post(reverse("loyalty:tier_edit", args=[gold.pk]), data | {"name": "silver"}).status_code == 200
    assert client.post(reverse("loyalty:tier_edit", args=[gold.pk]), data | {"threshold": "-1"}).status_code == 200
    assert (
        client.post(reverse("loyalty:tier_edit", args=[gold.pk]), data | {"discount_percent": "12"}).status_code == 302
    )
    gold.refresh_from_db()
    assert (gold.name, gold.threshold, gold.discount_percent) == ("Gold", Decimal("2000"), Decimal("12"))


def test_rewards_are_created_and_edited_with_clear_refusals(marta):
    client = client_for(marta)
    data = {
        "name": "Tote bag",
        "points_cost": "0",
        "stock": "-3",
        "per_customer_limit": "0",
        "valid_from": "2025-02-01T00:00",
        "valid_until": "2025-01-01T00:00",
        "code_valid_days": "90",
        "active": "on",
    }

    refused = client.post(reverse("loyalty:reward_create"), data)

    errors = refused.context["form"].errors
    assert set(errors) >= {"points_cost", "stock", "per_customer_limit", "valid_until"}
    assert "between 1 and" in str(errors["points_cost"])
    assert not Reward.objects.exists()

    data |= {"points_cost": "250", "stock": "", "per_customer_limit": "", "valid_until": ""}
    assert client.post(reverse("loyalty:reward_create"), data).status_code == 302
    reward = Reward.objects.get()
    assert (reward.points_cost, reward.stock) == (250, None)
    assert client.post(reverse("loyalty:reward_edit", args=[reward.pk]), data | {"stock": "5"}).status_code == 302
    reward.refresh_from_db()
    assert reward.stock == 5
    assert "Tote bag" in client.get(reverse("loyalty:rewards")).content.decode()


def test_an_unknown_rule_tier_or_reward_is_a_404(marta):
    for name in ("loyalty:rule_edit", "loyalty:tier_edit", "loyalty:reward_edit"):
        assert client_for(marta).get(reverse(name, args=[999999])).status_code == 404


@pytest.fixture
def results_data(ada):
    EarningRuleFactory()
    TierFactory(name="Silver", threshold=150)
    member = MemberFactory()
    at = timezone.now() - timedelta(days=2)
    for amount in ("450", "100"):
        order = place_order(member.customer, amount=amount, at=at)
        services.order_points_earn(order_id=order.pk)
    services.member_tiers_refresh()
    RewardFactory()
    return member


def test_the_results_page_shows_the_figures_and_the_tier_chart(marta, results_data):
    page = client_for(marta).get(reverse("loyalty:results"))

    figures = {figure["label"]: figure["value"] for figure in page.context["figures"]}
    assert figures["Members"] == 1 and figures["Outstanding points"] == 550
    assert figures["Repeat purchases, members"] == 100.0
    assert page.context["chart"]["labels"] == ["No tier", "Silver"]
    assert page.context["chart"]["datasets"][0]["data"] == [0, 1]
    assert 'data-chart-source="chart-loyalty-tiers-data"' in page.content.decode()


@pytest.mark.parametrize(
    ("language", "points", "share"),
    [("en", "1,550", "100.0%"), ("id", "1.550", "100,0%"), ("ms", "1,550", "100.0%"), ("ca", "1.550", "100,0\xa0%")],
)
def test_the_results_page_writes_numbers_the_way_its_language_does(marta, language, points, share):
    EarningRuleFactory()
    member = MemberFactory()
    at = timezone.now() - timedelta(days=2)
    for amount in ("1450", "100"):
        services.order_points_earn(order_id=place_order(member.customer, amount=amount, at=at).pk)

    page = client_for(marta).get(reverse("loyalty:results"), HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert f'<td class="text-end">{points}</td>' in page  # points issued, grouped
    assert f'<div class="fs-4 fw-semibold">{points}</div>' in page  # outstanding points
    assert f'<div class="fs-4 fw-semibold">{share}</div>' in page  # repeat purchases, members


def test_the_results_download_as_csv(marta, results_data):
    today = timezone.localdate()
    response = client_for(marta).get(
        reverse("loyalty:results"), {"start": f"{today - timedelta(days=7)}", "end": f"{today}", "format": "csv"}
    )

    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0] == "Figure,Value"
    assert "Points issued,550" in lines and "Members in tier Silver,1" in lines


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2025-05-01", "end": "2025-04-01"},
        {"start": "nonsense", "end": ""},
        {"start": "1900-01-01", "end": "2025-01-01"},
    ],
)
def test_a_bad_period_says_so_and_shows_the_default_period(marta, query):
    response = client_for(marta).get(reverse("loyalty:results"), query | {"format": "csv"})

    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert response.context["form"].errors
    assert response.context["end"] == timezone.localdate()


def test_saving_a_rule_in_force_unchanged_writes_nothing_and_says_so(marta):
    rule = EarningRuleFactory(value=1)

    response = client_for(marta).post(
        reverse("loyalty:rule_edit", args=[rule.pk]),
        {"name": rule.name, "value": "1", "starts_at": _local(timezone.now()), "kind": "base"},
        follow=True,
    )

    assert "Nothing was changed" in response.content.decode()
    assert list(EarningRule.objects.values_list("pk", "ends_at")) == [(rule.pk, None)]
