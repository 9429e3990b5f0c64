"""Segment conditions on survey answers: the last NPS answer, and "is a detractor" (the latest
answer, any survey, was a detractor's).

Data (``CONDITIONS``) that ``register_all`` adds to ``retention_crm.segment_conditions`` from
``SurveysConfig.ready()`` (segmentation never imports surveys). Each compiles to one set-based
subquery: the customers' latest answers are those with no later answer of the same customer (and,
for NPS, the same kind), an anti-join the (customer, answered_on) index serves.
"""

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from retention_crm import segment_conditions as sc

from .models import Kind, Response

LOOKUPS = {"eq": "exact", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}


def _latest(kind: str | None):
    named = Response.objects.filter(customer__isnull=False)
    later = Response.objects.filter(customer_id=OuterRef("customer_id"), answered_at__gt=OuterRef("answered_at"))
    if kind:
        named = named.filter(survey__kind=kind)
        later = later.filter(survey__kind=kind)
    return named.filter(~Exists(later))


def _last_nps(operator: str, value, days) -> Q:
    latest = _latest(Kind.NPS)
    if operator == "between":
        low, high = value
        latest = latest.filter(score__gte=low, score__lte=high)
    else:
        latest = latest.filter(**{f"score__{LOOKUPS[operator]}": value})
    return Q(pk__in=latest.values("customer_id"))


def _detractor(value, days) -> Q:
    return Q(pk__in=_latest(None).filter(is_detractor=True).values("customer_id"))


CONDITIONS: tuple[sc.Condition, ...] = (
    sc.Condition(key="surveys.last_nps", label=_("Last NPS answer"), group="surveys", value_type="integer",
                 operators=("eq", "gt", "gte", "lt", "lte", "between"), compile=_last_nps, min_value=0, max_value=10,
                 help_text=_("The score of the customer's latest NPS answer (0-10).")),
    sc.Condition(key="surveys.detractor", label=_("Is a detractor"), group="surveys", value_type="boolean",
                 operators=("is_true", "is_false"), compile=sc.exists_compiler(_detractor),
                 help_text=_("The customer's latest survey answer was a detractor's (NPS 0-6, CSAT 1-2, CES 1-3, "
                             "or a negative comment).")),
)  # fmt: skip


def register_all() -> None:
    """Called from SurveysConfig.ready(); registering again replaces, so it is safe twice."""
    sc.register_group("surveys", _("Surveys"), order=50)
    for condition in CONDITIONS:
        sc.register(condition)
