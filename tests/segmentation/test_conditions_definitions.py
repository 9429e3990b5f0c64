"""Checking segment definitions: every mistake a clear message at its place in the tree."""

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Q

from retention_crm import segment_conditions as sc
from segmentation.conditions import MAX_DEPTH, definition_describe, segment_definition_clean
from segmentation.selectors import segment_preview
from tests.customers.factories import CustomerFactory

from .factories import SegmentFactory
from .segment_factories import group, metrics, rule

pytestmark = pytest.mark.django_db


def errors_of(definition, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        segment_definition_clean(definition, **kwargs)
    return caught.value.message_dict


def test_unknown_field_is_named():
    errors = errors_of(group(rule("customer.shoe_size", "eq", 42)))

    assert errors == {"rules[0].field": ["“customer.shoe_size” is not a field segments can use."]}


def test_text_where_a_number_is_needed():
    errors = errors_of(group(rule("customer.country", "eq", "GB"), rule("metrics.churn_risk", "gt", "high")))

    assert errors == {"rules[1].value": ["“high” is text where a number is needed."]}


def test_operator_not_allowed_for_the_field_lists_the_allowed_ones():
    errors = errors_of(group(rule("customer.marketing_consent", "gt", 3)))

    assert list(errors) == ["rules[0].operator"]
    assert "yes, no" in errors["rules[0].operator"][0]


def test_empty_group_is_refused_at_any_depth():
    assert errors_of(group()) == {"rules": ["This group is empty: add a condition or remove the group."]}
    nested = group(rule("customer.country", "eq", "GB"), group(op="or"))

    assert list(errors_of(nested)) == ["rules[1].rules"]


def test_nesting_deeper_than_the_limit_is_refused():
    definition = rule("customer.country", "eq", "GB")
    for _level in range(MAX_DEPTH + 1):
        definition = group(definition)

    errors = errors_of(definition)

    assert any("at most 4 levels deep" in message for messages in errors.values() for message in messages)


def test_depth_at_the_limit_is_fine():
    definition = rule("customer.country", "eq", "GB")
    for _level in range(MAX_DEPTH):
        definition = group(definition)

    assert segment_definition_clean(definition)


def test_every_error_is_reported_at_once():
    errors = errors_of(
        group(rule("metrics.churn_risk", "gt", 2), rule("customer.language", "eq", "xx"), {"op": "xor", "rules": []})
    )

    assert set(errors) == {"rules[0].value", "rules[1].value", "rules[2].op", "rules[2].rules"}
    assert errors["rules[0].value"] == ["The value must be at most 1."]


def test_reference_to_a_deleted_segment_is_explained():
    other = SegmentFactory(name="Gone soon", definition=group(rule("customer.country", "eq", "GB")))
    definition = group(rule("segment.member_of", "in", [other.pk]))
    assert segment_definition_clean(definition)
    other_id = other.pk
    other.delete()

    errors = errors_of(definition)

    assert errors == {
        "rules[0].value": [f"Segment {other_id} no longer exists (it was deleted); remove this condition."]
    }


def test_a_segment_cannot_be_defined_by_its_own_members():
    segment = SegmentFactory(name="Self", definition=group(rule("customer.country", "eq", "GB")))

    errors = errors_of(group(rule("segment.member_of", "in", [segment.pk])), segment_id=segment.pk)

    assert errors == {"rules[0].value": ["A segment cannot be defined by its own members."]}


def test_values_are_normalised():
    cleaned = segment_definition_clean(
        group(
            rule("metrics.churn_risk", "between", ["0.2", "0.8"]),
            rule("customer.tags", "in", "vip, b2b ,vip"),
            rule("metrics.purchases", "gte", "3"),
            rule("behaviour.bought_category", "in", ["Books"], days="30"),
            rule("behaviour.open_complaint", "is_true", "ignored"),
            op="or",
        )
    )

    assert cleaned == {
        "op": "or",
        "rules": [
            {"field": "metrics.churn_risk", "operator": "between", "value": [0.2, 0.8]},
            {"field": "customer.tags", "operator": "in", "value": ["b2b", "vip"]},
            {"field": "metrics.purchases", "operator": "gte", "value": 3},
            {"field": "behaviour.bought_category", "operator": "in", "value": ["Books"], "days": 30},
            {"field": "behaviour.open_complaint", "operator": "is_true", "value": None},
        ],
    }


@pytest.mark.parametrize(
    ("bad_rule", "where", "message"),
    [
        (
            rule("metrics.churn_risk", "between", [0.8, 0.2]),
            "value",
            "The first value must not be more than the second.",
        ),
        (rule("metrics.churn_risk", "between", 0.5), "value", "Give two values, the lowest and the highest."),
        (rule("metrics.purchases", "gte", 2.5), "value", "Enter a whole number."),
        (rule("customer.acquired_at", "gt", "last week"), "value", "“last week” is not a date; use YYYY-MM-DD."),
        (rule("customer.country", "eq", ""), "value", "Enter a value."),
        (rule("customer.country", "in", []), "value", "Choose at least one value."),
        (rule("metrics.revenue_in_last_days", "gt", 100), "days", "Enter the number of days."),
        (rule("behaviour.purchase", "not_within", 0), "value", "Enter a number of days from 1 to 36500."),
        (rule("customer.country", "eq", "GB", days=30), "days", "Country has no time window."),
    ],
)
def test_bad_values_get_a_clear_message(bad_rule, where, message):
    assert errors_of(group(bad_rule)) == {f"rules[0].{where}": [message]}


def test_rule_with_an_unknown_key_is_refused():
    errors = errors_of(group({"field": "customer.country", "operator": "eq", "value": "GB", "colour": "red"}))

    assert errors == {"rules[0]": ["Unknown key(s) in a condition: colour."]}


def test_definition_must_be_an_object():
    assert errors_of(["customer.country"]) == {
        "definition": ["The definition must be a group: {“op”: …, “rules”: […]}."]
    }


def test_contradiction_is_not_an_error_but_matches_nobody(marta):
    customer = CustomerFactory()
    metrics(customer, churn_risk=0.5)
    definition = segment_definition_clean(
        group(rule("metrics.churn_risk", "gt", 0.8), rule("metrics.churn_risk", "lt", 0.2))
    )

    preview = segment_preview(user=marta, definition=definition)

    assert preview.count == 0
    assert preview.matches_nobody
    assert preview.sample == []


def test_definition_in_words():
    definition = segment_definition_clean(
        group(
            rule("metrics.value_level", "eq", "high"),
            group(rule("customer.country", "in", ["FR", "GB"]), rule("behaviour.purchase", "not_within", 90), op="or"),
            rule("metrics.revenue_in_last_days", "gte", 100, days=30),
        )
    )

    assert definition_describe(definition) == (
        "Value level is High and (Country is any of FR, GB or A purchase: none in the last 90 days) "
        "and Net revenue in the last 30 days is at least 100"
    )


def test_the_registry_takes_conditions_from_other_apps():
    # What loyalty or surveys do from their AppConfig.ready().
    sc.register_group("loyalty", "Loyalty", order=40)
    condition = sc.register(
        sc.Condition(
            key="loyalty.test_points",
            label="Points",
            group="loyalty",
            value_type="integer",
            operators=("gte", "lte"),
            compile=sc.field_compiler("id"),
            min_value=0,
        )
    )
    try:
        assert sc.get("loyalty.test_points") is condition
        assert condition in sc.all_conditions()
        cleaned = segment_definition_clean(group(rule("loyalty.test_points", "gte", "5")))
        assert sc.get("loyalty.test_points").to_q("gte", 5) == Q(id__gte=5)
        assert cleaned["rules"][0]["value"] == 5
    finally:
        sc.unregister("loyalty.test_points")

    with pytest.raises(ValidationError):
        sc.get("loyalty.test_points")


def test_registry_lists_the_three_groups_of_conditions():
    keys = {condition.key for condition in sc.all_conditions()}
    groups = [group.key for group, _conditions in sc.grouped_conditions()]

    assert {"customer.country", "customer.tags", "customer.account_manager", "customer.acquired_at"} <= keys
    assert {"metrics.churn_risk", "metrics.rfm_segment", "metrics.revenue_in_last_days", "metrics.pareto_top"} <= keys
    assert {"behaviour.bought_category", "behaviour.purchase", "behaviour.open_complaint"} <= keys
    assert groups[:3] == ["customer", "metrics", "behaviour"]


def test_a_condition_with_an_unknown_operator_cannot_be_registered():
    with pytest.raises(ValueError):
        sc.Condition(key="x.y", label="Y", group="x", value_type="text", operators=("like",), compile=lambda *a: Q())
