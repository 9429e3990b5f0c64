"""The registry of message placeholders: what a message template may say about its customer.

A neutral place, like ``segment_conditions`` and ``worklist_signals``: contact_plans registers the
base placeholders (the customer's profile, their metrics, their account manager, recommended
products, the unsubscribe and preference links) from its ``AppConfig.ready()``, and loyalty and
surveys add their blocks the same way from theirs, without importing one another::

    from retention_crm import message_placeholders as mp

    mp.register(mp.Placeholder(
        name="loyalty",                          # the variable templates write: {{ loyalty.points }}
        description=_("The customer's loyalty account."),
        example={"points": 1250, "tier": "Gold"},
        provider=loyalty_for_message,           # (customer) -> a plain value, see PLAIN_TYPES
        # bulk_provider=loyalty_for_messages,   # optional: (customers) -> {pk: value}, for bulk sends
        fields={"points": _("Points balance"), "tier": _("Current tier")},
        owner="loyalty",
    ))

The rendering (contact_plans.messaging.rendering) builds a message's context from this registry
only, calling the providers of the placeholders a template uses, so nothing but what is listed
here is reachable from a template. A provider returns plain values only (``PLAIN_TYPES``: text,
numbers, ``Decimal`` for an amount of money in the workspace currency, dates, lists and dicts of
these), never a model instance: what the sandbox is given is all a template can touch. ``fields``
lists the keys of a dict, or of each dict of a list, and a template that uses any other key is
refused when saved. Providers run with the message's language active (``translation.override``),
so a provider may translate what it returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

PLAIN_TYPES = (str, int, float, Decimal, bool, date, datetime, type(None))
# The same types exactly (not their subclasses): checked first, by a set lookup, as a bulk send
# checks some twenty values per message.
_EXACTLY_PLAIN = frozenset(PLAIN_TYPES)


@dataclass(frozen=True)
class Placeholder:
    name: str
    description: Any  # a (lazy) translated string
    example: Any
    provider: Callable[[Any], Any]
    fields: Mapping[str, Any] = field(default_factory=dict)
    owner: str = ""
    order: int = 100
    # Optional: (customers) -> {customer pk: value}, the same values as ``provider`` gives, for many
    # customers in a few queries (the outbox's bulk path calls it once per chunk and language).
    bulk_provider: Callable[[list], Mapping[int, Any]] | None = None

    @property
    def is_list(self) -> bool:
        return isinstance(self.example, list)

    @property
    def example_json(self) -> str:
        return json.dumps(self.example, ensure_ascii=False, default=str)

    @property
    def field_items(self) -> list[tuple[str, object]]:
        # For templates: a field may be called "items", which Django's templates would read as a key.
        return list(self.fields.items())


class NotPlain(TypeError):
    """A provider returned something other than plain data (a model instance, an object)."""


_placeholders: dict[str, Placeholder] = {}


def register(placeholder: Placeholder) -> Placeholder:
    """Add a placeholder; registering a name again replaces it, so a second ready() changes nothing."""
    if not placeholder.name.isidentifier() or placeholder.name.startswith("_"):
        raise ValueError(f"a placeholder name must be an identifier not starting with _, not {placeholder.name!r}")
    for key in placeholder.fields:
        if not str(key).isidentifier() or str(key).startswith("_"):
            raise ValueError(f"placeholder {placeholder.name!r}: field {key!r} is not an identifier")
    plain(placeholder.example, name=placeholder.name)
    _placeholders[placeholder.name] = placeholder
    return placeholder


def unregister(name: str) -> None:
    _placeholders.pop(name, None)


def get(name: str) -> Placeholder | None:
    return _placeholders.get(name)


def placeholders() -> list[Placeholder]:
    """Every registered placeholder, in the order the editor and the docs list them."""
    return sorted(_placeholders.values(), key=lambda p: (p.order, p.name))


def plain(value: Any, *, name: str) -> Any:
    """``value`` if it is plain data (PLAIN_TYPES, and lists, tuples and dicts with text keys of
    them, as lists and dicts); NotPlain naming the placeholder otherwise."""
    kind = type(value)
    if kind in _EXACTLY_PLAIN:
        return value
    if (
        kind is dict
        and all(type(item) in _EXACTLY_PLAIN for item in value.values())
        and all(type(key) is str for key in value)
    ):
        return dict(value)  # a dict of plain values: a copy, as below
    if isinstance(value, PLAIN_TYPES):
        return value
    if isinstance(value, list | tuple):
        return [plain(item, name=name) for item in value]
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise NotPlain(f"placeholder {name!r}: dict keys must be text")
        return {key: plain(item, name=name) for key, item in value.items()}
    raise NotPlain(f"placeholder {name!r} gave a {type(value).__name__}, which is not plain data")
