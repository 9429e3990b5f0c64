"""The built-in segments, as rule definitions over the registered conditions.

Plain data (no model import), so that the data migration and ``segments_builtin_ensure`` read the
same list. Names are stored in English and shown translated (``builtin_label``).

- Value x risk: the 9 cells of value level x risk level (docs/metrics.md "Value x risk").
- Pareto top 20%: the Pareto top tier (the customers who make 80% of the trailing-12-month revenue).
- The 10 RFM segments of docs/metrics.md.
- Influencers: customers at least one of whose referred customers made a purchase.
- Hidden potential: customers whose predicted CLV is well above what they have brought so far:
  at least one purchase, predicted CLV at least twice the historical CLV (net revenue to date),
  and predicted CLV in the top quarter of customers with a purchase (percentile >= 75), so that
  "twice almost nothing" does not qualify.
"""

from typing import NamedTuple

from django.utils import translation
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


class Builtin(NamedTuple):
    key: str
    name: str
    label: str
    description: str
    definition: dict


def _and(*rules: dict) -> dict:
    return {"op": "and", "rules": list(rules)}


def _rule(field: str, operator: str, value=None) -> dict:
    return {"field": field, "operator": operator, "value": value}


_LEVEL_NAMES = {"high": ("High", "high"), "medium": ("Medium", "medium"), "low": ("Low", "low")}
_VALUE_LABELS = {"high": _("High value"), "medium": _("Medium value"), "low": _("Low value")}
_RISK_LABELS = {"high": _("high risk"), "medium": _("medium risk"), "low": _("low risk")}

_RFM = (
    ("champions", "Champions", _("Champions")),
    ("loyal", "Loyal", _("Loyal")),
    ("potential_loyalists", "Potential loyalists", _("Potential loyalists")),
    ("new_customers", "New customers", _("New customers")),
    ("promising", "Promising", _("Promising")),
    ("need_attention", "Need attention", _("Need attention")),
    ("about_to_sleep", "About to sleep", _("About to sleep")),
    ("cant_lose_them", "Can't lose them", _("Can't lose them")),
    ("at_risk", "At risk", _("At risk")),
    ("hibernating", "Hibernating", _("Hibernating")),
)


def _value_risk() -> list[Builtin]:
    cells = []
    for value in ("high", "medium", "low"):
        for risk in ("high", "medium", "low"):
            name = f"{_LEVEL_NAMES[value][0]} value / {_LEVEL_NAMES[risk][1]} risk"
            cells.append(
                Builtin(
                    key=f"value_risk.{value}_{risk}",
                    name=name,
                    label=format_lazy("{} / {}", _VALUE_LABELS[value], _RISK_LABELS[risk]),
                    description=_("Value level and risk level of the last metrics recompute."),
                    definition=_and(_rule("metrics.value_level", "eq", value), _rule("metrics.risk_level", "eq", risk)),
                )
            )
    return cells


def _rfm() -> list[Builtin]:
    return [
        Builtin(
            key=f"rfm.{key}",
            name=f"RFM: {name}",
            label=format_lazy("{}: {}", _("RFM"), label),
            description=_("RFM segment from the R and F scores of the last metrics recompute."),
            definition=_and(_rule("metrics.rfm_segment", "eq", key)),
        )
        for key, name, label in _RFM
    ]


BUILTINS: list[Builtin] = [
    *_value_risk(),
    Builtin(
        key="pareto_top",
        name="Pareto top 20%",
        label=_("Pareto top 20%"),
        description=_("The customers who together make 80% of the trailing-12-month net revenue."),
        definition=_and(_rule("metrics.pareto_top", "is_true")),
    ),
    *_rfm(),
    Builtin(
        key="influencers",
        name="Influencers",
        label=_("Influencers"),
        description=_("Customers at least one of whose referred customers made a purchase."),
        definition=_and(_rule("behaviour.referrals_who_bought", "gte", 1)),
    ),
    Builtin(
        key="hidden_potential",
        name="Hidden potential",
        label=_("Hidden potential"),
        description=_(
            "At least one purchase, a predicted CLV of at least twice the historical CLV, "
            "and a predicted CLV in the top quarter of customers with a purchase."
        ),
        definition=_and(
            _rule("metrics.purchases", "gte", 1),
            _rule("metrics.predicted_over_historical_clv", "gte", 2),
            _rule("metrics.predicted_clv_percentile", "gte", 75),
        ),
    ),
]

_BY_KEY = {builtin.key: builtin for builtin in BUILTINS}
_ORDER = {builtin.key: index for index, builtin in enumerate(BUILTINS)}


def builtin_order(key: str) -> int:
    """Position in BUILTINS (value x risk, Pareto, RFM, influencers, hidden potential): the list order."""
    return _ORDER.get(key, len(_ORDER))


def builtin_description(key: str) -> str | None:
    builtin = _BY_KEY.get(key)
    return str(builtin.description) if builtin else None


def stored_text(text) -> str:
    """What the database keeps of a translatable name or description: its English text."""
    with translation.override("en"):
        return str(text)


def builtin_label(key: str) -> str | None:
    builtin = _BY_KEY.get(key)
    return str(builtin.label) if builtin else None


def builtin_get(key: str) -> Builtin | None:
    return _BY_KEY.get(key)
