"""Segment conditions on the metrics of a customer (CustomerMetrics, docs/metrics.md).

The conditions are data (``CONDITIONS``); ``register_all`` adds them to the neutral registry
``retention_crm.segment_conditions`` and is called from ``MetricsConfig.ready()`` (metrics never
imports segmentation).

The figures are those of the last recompute (or of the refresh after the customer's last order).
A customer without a CustomerMetrics row matches no metric condition except a negated one
("is not", "is none of").
"""

from datetime import timedelta
from decimal import Decimal

from django.db.models import F, Q, Sum, Window
from django.db.models.functions import PercentRank
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Order
from retention_crm import segment_conditions as sc

from .models import CustomerMetrics, Level, RfmSegment

RANGE_OPS = ("gt", "gte", "lt", "lte", "between")
SCORE_OPS = ("eq", "ne", "in", "not_in", "gte", "lte", "between")
LEVEL_OPS = ("eq", "ne", "in", "not_in")


def _revenue_in_window(having: Q, days: int | None):
    # Net of refunds, as every revenue figure (metrics.md): refunds are orders with a negative net.
    since = timezone.now() - timedelta(days=days)
    return (
        Order.objects.filter(ordered_at__gte=since)
        .values("customer_id")
        .annotate(total=Sum("net_amount"))
        .filter(having)
        .values("customer_id")
    )


def _predicted_clv_percentile(operator: str, value, days) -> Q:
    # Percentile rank (0-100) of the predicted CLV among customers with a purchase and a prediction,
    # computed by the database in the same statement (a window function), so it needs no cut point
    # stored anywhere and is always consistent with the rows it ranks.
    ranked = (
        CustomerMetrics.objects.filter(purchases__gte=1, predicted_clv__isnull=False)
        .annotate(total=Window(PercentRank(), order_by=F("predicted_clv").asc()) * 100)
        .filter(sc.aggregate_lookup(operator, value))
        .values("customer_id")
    )
    return Q(pk__in=ranked)


def _predicted_over_historical(operator: str, value, days) -> Q:
    # predicted_clv / net_revenue compared with `value`, without a division: both sides times
    # net_revenue, which is positive here (a customer with nothing earned yet has no ratio).
    factor = Decimal(str(value))
    positive = Q(metrics__net_revenue__gt=0, metrics__predicted_clv__isnull=False)
    return positive & Q(**{f"metrics__predicted_clv__{operator}": F("metrics__net_revenue") * factor})


def _score(letter: str, label) -> sc.Condition:
    return sc.Condition(
        key=f"metrics.{letter}_score",
        label=label,
        group="metrics",
        value_type="integer",
        operators=SCORE_OPS,
        compile=sc.field_compiler(f"metrics__{letter}_score"),
        min_value=1,
        max_value=5,
        help_text=_("1 to 5, by quintiles; 5 is the best fifth."),
    )


def _choice(key: str, label, column: str, choices) -> sc.Condition:
    return sc.Condition(
        key=key,
        label=label,
        group="metrics",
        value_type="choice",
        operators=(*LEVEL_OPS, "is_empty", "is_not_empty"),
        compile=sc.field_compiler(f"metrics__{column}", blank_is_empty=True),
        choices=lambda: choices,
    )


def _number(
    key: str, label, column: str, *, nullable=False, value_type: str = "number", min_value=None, max_value=None
) -> sc.Condition:
    return sc.Condition(
        key=key,
        label=label,
        group="metrics",
        value_type=value_type,
        operators=(*RANGE_OPS, "is_empty", "is_not_empty") if nullable else RANGE_OPS,
        compile=sc.field_compiler(f"metrics__{column}"),
        min_value=min_value,
        max_value=max_value,
    )


# fmt: off
CONDITIONS: tuple[sc.Condition, ...] = (
    _score("r", _("R score (recency)")),
    _score("f", _("F score (frequency)")),
    _score("m", _("M score (monetary)")),
    _choice("metrics.rfm_segment", _("RFM segment"), "rfm_segment", RfmSegment.choices),
    _choice("metrics.risk_level", _("Risk level"), "risk_level", Level.choices),
    _choice("metrics.value_level", _("Value level"), "value_level", Level.choices),
    # Nullable figures ("is empty": no model could be fitted, or no purchase yet).
    _number("metrics.churn_risk", _("Churn risk"), "churn_risk", nullable=True, min_value=0, max_value=1),
    _number("metrics.predicted_clv", _("Predicted CLV"), "predicted_clv", nullable=True),
    _number("metrics.recency_days", _("Days since last purchase"), "recency_days", nullable=True, value_type="integer"),
    _number("metrics.net_revenue", _("Historical CLV (net revenue to date)"), "net_revenue"),
    _number("metrics.revenue_12m", _("Net revenue, last 12 months"), "revenue_12m"),
    _number("metrics.purchases", _("Purchases"), "purchases", value_type="integer", min_value=0),
    sc.Condition(key="metrics.pareto_top", label=_("In the Pareto top tier"), group="metrics", value_type="boolean",
                 operators=("is_true", "is_false"), compile=sc.field_compiler("metrics__pareto_top")),
    sc.Condition(key="metrics.revenue_in_last_days", label=_("Net revenue in a window"), group="metrics",
                 value_type="number", operators=("eq", *RANGE_OPS), compile=sc.aggregate_compiler(_revenue_in_window),
                 window="required", window_label=_("Net revenue"),
                 help_text=_("Computed from the orders at the time of the refresh, net of refunds.")),
    sc.Condition(key="metrics.predicted_clv_percentile", label=_("Predicted CLV percentile"), group="metrics",
                 value_type="number", operators=RANGE_OPS, compile=_predicted_clv_percentile, min_value=0,
                 max_value=100,
                 help_text=_("0 to 100 among customers with a purchase: 75 or more is the top quarter.")),
    sc.Condition(key="metrics.predicted_over_historical_clv", label=_("Predicted CLV ÷ historical CLV"),
                 group="metrics", value_type="number", operators=("gt", "gte", "lt", "lte"),
                 compile=_predicted_over_historical, min_value=0,
                 help_text=_("2 means the customer is expected to bring twice what they brought so far.")),
)
# fmt: on


def register_all() -> None:
    """Called from MetricsConfig.ready(); registering again replaces, so it is safe twice."""
    sc.register_group("metrics", _("Metrics"), order=20)
    for condition in CONDITIONS:
        sc.register(condition)
