"""The built-in segments exist after migrate and hold the right customers on a hand-built dataset."""

import pytest
from django.utils import translation

from segmentation import services
from segmentation.builtins import BUILTINS
from segmentation.models import Segment, SegmentMembership
from tests.customers.factories import CustomerFactory

from .segment_factories import metrics, purchase

pytestmark = pytest.mark.django_db

RFM_KEYS = (
    "champions",
    "loyal",
    "potential_loyalists",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "cant_lose_them",
    "at_risk",
    "hibernating",
)


def members_of(key: str) -> set[str]:
    segment = Segment.objects.get(key=key)
    rows = SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True)
    return set(rows.values_list("customer__name", flat=True))


def test_every_builtin_exists_after_migrate():
    keys = set(Segment.objects.filter(kind="builtin").values_list("key", flat=True))

    value_risk = {f"value_risk.{v}_{r}" for v in ("high", "medium", "low") for r in ("high", "medium", "low")}
    assert keys == value_risk | {f"rfm.{key}" for key in RFM_KEYS} | {"pareto_top", "influencers", "hidden_potential"}
    assert Segment.objects.get(key="value_risk.high_high").name == "High value / high risk"


def test_ensure_is_idempotent_and_restores_a_changed_definition():
    Segment.objects.filter(key="influencers").update(definition={"op": "and", "rules": []})

    created = services.segments_builtin_ensure()

    assert created == 0
    assert Segment.objects.filter(kind="builtin").count() == len(BUILTINS) == 22
    assert Segment.objects.get(key="influencers").definition["rules"][0]["field"] == "behaviour.referrals_who_bought"


def test_ensure_recreates_a_missing_builtin():
    Segment.objects.filter(key="pareto_top").delete()

    assert services.segments_builtin_ensure() == 1
    assert Segment.objects.filter(key="pareto_top").exists()


def test_builtin_names_are_shown_from_their_translatable_labels():
    segment = Segment.objects.get(key="rfm.champions")

    with translation.override("en"):
        assert segment.display_name == "RFM: Champions"
        assert Segment.objects.get(key="value_risk.high_low").display_name == "High value / low risk"
    assert segment.name == "RFM: Champions"


def test_builtins_hold_the_right_customers():
    # Value x risk and Pareto
    vip = CustomerFactory(name="VIP at risk")
    metrics(vip, value_level="high", risk_level="high", pareto_top=True, rfm_segment="cant_lose_them")
    steady = CustomerFactory(name="Steady")
    metrics(steady, value_level="medium", risk_level="low", rfm_segment="champions")
    small = CustomerFactory(name="Small")
    metrics(small, value_level="low", risk_level="medium", rfm_segment="hibernating")
    CustomerFactory(name="No metrics")
    # Influencers: Referrer's referral bought; Quiet's referral did not.
    referrer, quiet = CustomerFactory(name="Referrer"), CustomerFactory(name="Quiet")
    purchase(CustomerFactory(name="Referred buyer", referred_by=referrer))
    CustomerFactory(name="Referred browser", referred_by=quiet)
    # Hidden potential: predicted >= 2 x historical and in the top quarter of predicted CLV.
    for name, predicted, historical in [
        ("Rising", 900, 100),  # ratio 9, top -> yes
        ("Big already", 1000, 800),  # top, ratio 1.25 -> no
        ("Twice little", 40, 10),  # ratio 4, bottom -> no
        ("P1", 100, 90),
        ("P2", 200, 150),
        ("P3", 300, 250),
        ("P4", 400, 350),
    ]:
        metrics(CustomerFactory(name=name), predicted_clv=predicted, net_revenue=historical)

    services.segments_refresh_all()

    assert members_of("value_risk.high_high") == {"VIP at risk"}
    assert members_of("value_risk.medium_low") == {"Steady"}
    assert members_of("value_risk.low_medium") == {"Small"}
    assert members_of("value_risk.high_low") == set()
    assert members_of("pareto_top") == {"VIP at risk"}
    assert members_of("rfm.champions") == {"Steady"}
    assert members_of("rfm.cant_lose_them") == {"VIP at risk"}
    assert members_of("rfm.hibernating") == {"Small"}
    assert members_of("influencers") == {"Referrer"}
    assert members_of("hidden_potential") == {"Rising"}
