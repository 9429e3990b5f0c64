"""Snapshots in the documented shapes (metrics.models.MetricSnapshot), for the view and browser tests."""

from datetime import date

from metrics.models import MetricSnapshot

AS_OF = date(2011, 12, 9)


def summary_data(**overrides) -> dict:
    data = {
        "period": {"start": "2011-11-01", "end": "2011-12-01"},
        "active_customers": 1200,
        "retention_rate": 0.45,
        "churn_rate": 0.55,
        "repeat_purchase_rate": 0.65,
        "upsell_rate": 0.6,
        "nrr": 1.02,
        "avg_clv": 1800.5,
        "total_clv": 7_800_000.0,
        "reactivated": 130,
        "new": 220,
        "previous": {
            "period": {"start": "2011-10-01", "end": "2011-11-01"},
            "active_customers": 1100,
            "retention_rate": 0.40,
            "churn_rate": 0.60,
            "repeat_purchase_rate": 0.64,
            "upsell_rate": 0.61,
            "nrr": 0.98,
            "avg_clv": 1700.0,
            "total_clv": 7_000_000.0,
            "reactivated": 120,
            "new": 200,
        },
    }
    data.update(overrides)
    return data


TIMESERIES = {
    "months": ["2011-09", "2011-10", "2011-11"],
    "retention_rate": [0.5, 0.40, 0.45],
    "churn_rate": [0.5, 0.60, 0.55],
    "active": [1000, 1100, 1200],
    "new": [180, 200, 220],
}
COHORTS = {
    "cohorts": ["2011-09", "2011-10", "2011-11"],
    "sizes": [885, 400, 300],
    "matrix": [[1.0, 0.38, 0.31], [1.0, 0.25, None], [1.0, None, None]],
}
PARETO = {
    "curve": [[0.0, 0.0], [0.1, 0.6], [0.2, 0.8], [0.5, 0.95], [1.0, 1.0]],
    "top_count": 2,
    "customer_count": 10,
    "top_share_of_customers": 0.2,
}
CLV_DISTRIBUTION = {"basis": "predicted", "bins": [0, 100, 500, 1000], "counts": [40, 25, 5]}
RFM = {
    "segments": [
        {"key": "champions", "label": "Champions", "count": 410, "revenue": 2_100_000.0},
        {"key": "hibernating", "label": "Hibernating", "count": 900, "revenue": 150_000.0},
    ]
}
VALUE_RISK = {
    "cells": [
        {"value_level": "high", "risk_level": "high", "count": 17, "clv": 34_000.0},
        {"value_level": "high", "risk_level": "low", "count": 120, "clv": 340_000.0},
        {"value_level": "low", "risk_level": "medium", "count": 300, "clv": None},
        {"value_level": "low", "risk_level": "", "count": 9, "clv": None},
    ]
}


def quarter_data(start: str, end: str, **figures) -> dict:
    """The figures of a quarter (the summary's keys), as the "periods" snapshot holds them."""
    data = {key: value for key, value in summary_data().items() if key != "previous"}
    return {**data, "period": {"start": start, "end": end}, **figures}


# Q3 2011 against Q2 2011: every tile changes, and differently from the months'.
QUARTERS = {
    "2011-Q3": quarter_data(
        "2011-07-01", "2011-10-01", active_customers=1500, retention_rate=0.7, churn_rate=0.3,
        repeat_purchase_rate=0.5, upsell_rate=0.4, nrr=0.9, avg_clv=1500.0, total_clv=6_000_000.0,
        new=600, reactivated=90,
    ),
    "2011-Q2": quarter_data(
        "2011-04-01", "2011-07-01", active_customers=1000, retention_rate=0.6, churn_rate=0.4,
        repeat_purchase_rate=0.45, upsell_rate=0.35, nrr=1.0, avg_clv=1000.0, total_clv=5_000_000.0,
        new=500, reactivated=80,
    ),
}  # fmt: skip


def periods_data(summary: dict, quarters: dict | None = None) -> dict:
    """The "periods" snapshot: the summary's two months and QUARTERS."""
    months = {}
    for data in (summary.get("previous") or {}, summary):
        if "period" in data:
            months[data["period"]["start"][:7]] = {key: value for key, value in data.items() if key != "previous"}
    return {"periods": {**months, **(QUARTERS if quarters is None else quarters)}}


def snapshots_create(
    *, scope: str = "", summary: dict | None = None, as_of: date = AS_OF, with_periods: bool = True
) -> None:
    """One snapshot of every kind for ``scope`` (without "periods": as saved before it existed)."""
    summary = summary or summary_data()
    documents = {
        "summary": summary,
        "timeseries": TIMESERIES,
        "cohorts": COHORTS,
        "pareto": PARETO,
        "clv_distribution": CLV_DISTRIBUTION,
        "rfm": RFM,
        "value_risk": VALUE_RISK,
    }
    if with_periods:
        documents["periods"] = periods_data(summary)
    MetricSnapshot.objects.bulk_create(
        MetricSnapshot(as_of=as_of, kind=kind, scope=scope, data=data) for kind, data in documents.items()
    )
