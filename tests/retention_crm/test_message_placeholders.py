"""The registry of message placeholders: filled by contact_plans from ready(), names and fields
that a template can write, plain data only."""

from datetime import date
from decimal import Decimal

import pytest

from retention_crm import message_placeholders as mp


def test_contact_plans_registers_the_base_placeholders():
    names = {placeholder.name for placeholder in mp.placeholders()}

    assert {
        "customer",
        "metrics",
        "account_manager",
        "order",
        "recommended_products",
        "unsubscribe_url",
        "preferences_url",
    } <= names
    assert "first_name" in mp.get("customer").fields
    assert mp.get("recommended_products").is_list


@pytest.mark.parametrize("name", ["", "two words", "_private", "1st"])
def test_a_name_a_template_cannot_write_is_refused(name):
    with pytest.raises(ValueError):
        mp.register(mp.Placeholder(name=name, description="", example="", provider=lambda customer: ""))


def test_a_field_a_template_cannot_write_is_refused():
    with pytest.raises(ValueError):
        mp.register(
            mp.Placeholder(name="gift_cards", description="", example={}, provider=dict, fields={"__class__": "no"})
        )
    assert mp.get("gift_cards") is None


def test_plain_accepts_data_and_refuses_objects():
    value = {"a": [1, 2.5, Decimal("3"), "x", None, True, date(2026, 1, 2)], "b": ("t",)}

    assert mp.plain(value, name="x") == {"a": [1, 2.5, Decimal("3"), "x", None, True, date(2026, 1, 2)], "b": ["t"]}
    with pytest.raises(mp.NotPlain):
        mp.plain({"a": object()}, name="x")
    with pytest.raises(mp.NotPlain):
        mp.plain({1: "a"}, name="x")


def test_plain_gives_a_copy_of_a_flat_dict_and_still_refuses_what_is_nested_in_one():
    flat = {"first_name": "Siti", "purchases": 3, "clv": Decimal("1.50"), "since": date(2024, 1, 2), "x": None}

    copied = mp.plain(flat, name="customer")

    assert copied == flat and copied is not flat
    with pytest.raises(mp.NotPlain):
        mp.plain({"manager": object()}, name="customer")
    with pytest.raises(mp.NotPlain):
        mp.plain({1: "one"}, name="customer")
    assert mp.plain({"items": [{"name": "Tea"}]}, name="customer") == {"items": [{"name": "Tea"}]}
