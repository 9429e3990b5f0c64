"""Shapes metric snapshots for the browser: dashboard tiles, Chart.js specs, heat-map tables, CSV rows.

Pure functions over the snapshot JSON documented in metrics.models.MetricSnapshot (no queries), so
the dashboard, the CSV downloads and the tests read one shape. Any value may be null ("not enough
data"); nothing here turns a null into 0, and a NaN that slipped into a snapshot becomes null
before it reaches JSON (where NaN is not valid) or a template.
"""

import math
from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from retention_crm import formats

from .analytics import book
from .analytics.cohorts import partial_columns

# Bootstrap's palette, so the charts match the badges and alerts around them.
GREEN = "#198754"
RED = "#dc3545"
BLUE = "#0d6efd"
GREY = "#6c757d"
ORANGE = "#fd7e14"

# Points of the Pareto curve sent to the browser: smooth at any chart width, a few kB of JSON.
PARETO_POINTS = 400

LEVELS = ("high", "medium", "low")  # value rows, top to bottom
RISKS = ("low", "medium", "high")  # risk columns, left to right


def finite(value):
    """The value with every NaN or infinity (at any depth) replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def _number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def month_start(month: str) -> date:
    """ "2011-11" (or "2011-11-01") -> date(2011, 11, 1)."""
    year, number = month[:7].split("-")
    return date(int(year), int(number), 1)


def month_label(month: str) -> str:
    return formats.format_month(month_start(month))


def months_of(timeseries: dict | None) -> list[str]:
    return [str(month)[:7] for month in (timeseries or {}).get("months") or []]


# --- Tiles --------------------------------------------------------------------------------------


# key in the period figures, label, format ("count", "rate" or "money") and whether a rise is good news.
TILES = (
    ("active_customers", gettext_lazy("Active customers"), "count", True),
    ("retention_rate", gettext_lazy("Retention rate"), "rate", True),
    ("churn_rate", gettext_lazy("Churn rate"), "rate", False),
    ("repeat_purchase_rate", gettext_lazy("Repeat-purchase rate"), "rate", True),
    ("upsell_rate", gettext_lazy("Upsell rate"), "rate", True),
    ("nrr", gettext_lazy("Net revenue retention"), "rate", True),
    ("avg_clv", gettext_lazy("Average historical CLV"), "money", True),
    ("total_clv", gettext_lazy("Total historical CLV"), "money", True),
)


def tile(*, label, fmt: str, up_is_good: bool, value, previous, note: str = "") -> dict:
    value, previous = _number(value), _number(previous)
    change = None
    if value is not None and previous is not None:
        if fmt == "rate":
            change = value - previous  # percentage points
        elif previous:
            change = (value - previous) / abs(previous)  # relative
    direction = None if change is None else "up" if change > 0 else "down" if change < 0 else "flat"
    good = direction == ("up" if up_is_good else "down")
    tone = "secondary" if direction in (None, "flat") else "success" if good else "danger"
    return {
        "label": label,
        "format": fmt,
        "value": value,
        "previous": previous,
        "change": change,
        "direction": direction,
        "tone": tone,
        "note": note,
    }


# --- Periods --------------------------------------------------------------------------------------


def period_label(period: book.Period) -> str:
    """ "November 2026", "Q3 2026" or "2025", in the active language (retention_crm.formats)."""
    return formats.format_period(period.key)


def period_figures(periods: dict | None, summary: dict | None) -> dict[str, dict]:
    """The figures of each period by key, from the "periods" snapshot; a snapshot saved before there
    were any ("periods" missing) still gives the summary's month and the month before."""
    figures = dict(((periods or {}).get("periods")) or {})
    if not figures and summary:
        for data in (summary.get("previous") or {}, summary):
            start = str((data.get("period") or {}).get("start") or "")[:7]
            if start:
                figures[start] = {key: value for key, value in data.items() if key != "previous"}
    return figures


def period_offer(as_of: date, figures: dict[str, dict]) -> dict[str, list[book.Period]]:
    """The picker's periods on `as_of` (book performance's: months, quarters, years, newest first)
    that the snapshot has figures for and in which the scope had bought at all."""
    offer = {}
    for group, periods in book.period_choices(as_of).items():
        offer[group] = [p for p in periods if p.key in figures and _bought(figures[p.key])]
    return offer


def _bought(figures: dict) -> bool:
    # Snapshots from before the count was kept have no customers_with_purchase: offered.
    return figures.get("customers_with_purchase") is None or bool(figures["customers_with_purchase"])


def period_tiles(figures: dict[str, dict], period: book.Period) -> list[dict]:
    """The eight tiles for `period`, each with its change against the period before (month, quarter
    or year): every tile from the same two periods, so that none says something of another time."""
    current = figures.get(period.key) or {}
    before = figures.get(book.period_previous(period).key) or {}
    return [
        tile(label=label, fmt=fmt, up_is_good=up_is_good, value=current.get(key), previous=before.get(key))
        for key, label, fmt, up_is_good in TILES
    ]


# --- Chart.js specs (read by static/js/charts.js) ---------------------------------------------


def _dataset(label, data, color, **extra) -> dict:
    return {"label": str(label), "data": finite(list(data)), "color": color, **extra}


def timeseries_chart(data: dict | None) -> dict | None:
    months = months_of(data)
    if not months:
        return None
    return {
        "type": "line",
        "labels": [month_label(month) for month in months],
        "datasets": [
            _dataset(_("Retention rate"), data.get("retention_rate") or [], GREEN),
            _dataset(_("Churn rate"), data.get("churn_rate") or [], RED),
        ],
        "y": {"percent": True, "min": 0, "max": 1, "title": _("Share of customers active at the start")},
    }


def pareto_chart(data: dict | None) -> dict | None:
    curve = (data or {}).get("curve") or []
    points = [{"x": _number(x), "y": _number(y)} for x, y in curve]
    points = [point for point in points if point["x"] is not None and point["y"] is not None]
    if not points:
        return None
    if len(points) > PARETO_POINTS:
        # One point per customer is far more than a 300-pixel-wide line can show; keep the ends.
        step = (len(points) - 1) / (PARETO_POINTS - 1)
        points = [points[round(i * step)] for i in range(PARETO_POINTS)]
    if points[0] != {"x": 0.0, "y": 0.0}:
        points.insert(0, {"x": 0.0, "y": 0.0})
    datasets = [
        _dataset(_("Share of revenue"), points, BLUE, fill=True),
        _dataset(_("80% of revenue"), [{"x": 0, "y": 0.8}, {"x": 1, "y": 0.8}], RED, dashed=True),
        _dataset(_("Equal shares"), [{"x": 0, "y": 0}, {"x": 1, "y": 1}], GREY, dashed=True),
    ]
    top = _number(data.get("top_share_of_customers"))
    if top is not None:
        marker = [{"x": top, "y": 0}, {"x": top, "y": 0.8}]
        datasets.insert(1, _dataset(_("Top tier"), marker, ORANGE, dashed=True))
    return {
        "type": "scatter",
        "datasets": datasets,
        "x": {"percent": True, "min": 0, "max": 1, "title": _("Share of customers (largest first)")},
        "y": {"percent": True, "min": 0, "max": 1, "title": _("Share of revenue")},
    }


def _amount(value: float) -> str:
    return formats.format_money(value, decimals=0)  # the workspace currency


def _bin_labels(edges: list) -> list[str]:
    """Labels of the bins between ``edges``; the first bin holds everything below and the last
    everything above (MetricSnapshot clv_distribution), so their labels say so."""
    edges = [_number(edge) for edge in edges]
    count = len(edges) - 1
    labels = []
    for index, (low, high) in enumerate(zip(edges, edges[1:], strict=False)):
        if low is None or high is None:
            labels.append("—")
        elif index == 0 and count > 1:
            labels.append(_("under %(amount)s") % {"amount": _amount(high)})
        elif index == count - 1 and count > 1:
            labels.append(_("%(amount)s and over") % {"amount": _amount(low)})
        else:
            labels.append(f"{_amount(low)}–{_amount(high)}")
    return labels


def clv_chart(data: dict | None, currency: str = "") -> dict | None:
    """The CLV histogram; its title and axis name the CLV it counts (``basis``: predicted, or
    historical when no purchase model could be fitted) and the currency of the amounts."""
    counts = (data or {}).get("counts") or []
    if not counts:
        return None
    historical = data.get("basis") == "historical"
    basis = _("Historical CLV") if historical else _("Predicted CLV")
    return {
        "type": "bar",
        "title": _("Historical CLV distribution") if historical else _("Predicted CLV distribution"),
        "basis": "historical" if historical else "predicted",
        "labels": _bin_labels(data.get("bins") or []),
        "datasets": [_dataset(_("Customers"), counts, BLUE)],
        "x": {"title": f"{basis} ({currency})" if currency else basis},
        "y": {"title": _("Customers with a purchase")},
    }


def rfm_chart(data: dict | None, labels: dict[str, str]) -> dict | None:
    segments = (data or {}).get("segments") or []
    if not segments:
        return None
    return {
        "type": "bar",
        "labels": [str(labels.get(s.get("key"), s.get("label") or s.get("key"))) for s in segments],
        "datasets": [_dataset(_("Customers"), [s.get("count") for s in segments], BLUE)],
        "horizontal": True,
        "x": {"title": _("Customers")},
    }


def model_auc_chart(versions: list) -> dict | None:
    """AUC of the shown risk and of the plain BG/NBD baseline for each model version, oldest first."""
    versions = [v for v in versions if v.backtest_auc is not None or v.backtest_baseline_auc is not None]
    if not versions:
        return None
    versions.sort(key=lambda v: v.created_at)
    return {
        "type": "line",
        "labels": [f"#{v.pk} · {formats.format_date(v.as_of)}" for v in versions],
        "datasets": [
            _dataset(_("Risk score AUC"), [_number(v.backtest_auc) for v in versions], BLUE),
            _dataset(
                _("Baseline AUC (BG/NBD)"), [_number(v.backtest_baseline_auc) for v in versions], GREY, dashed=True
            ),
        ],
        "x": {"title": _("Model version")},
        "y": {"suggestedMin": 0.5, "max": 1, "title": _("AUC")},
    }


# --- Tables -------------------------------------------------------------------------------------


def cohort_table(data: dict | None, as_of: date | None = None) -> dict | None:
    """Rows of (cohort label, size, shares by month since acquisition, the column of the month still
    running on `as_of` or None) for the heat map."""
    cohorts = (data or {}).get("cohorts") or []
    if not cohorts:
        return None
    sizes = data.get("sizes") or []
    matrix = data.get("matrix") or []
    width = max((len(row) for row in matrix), default=0)
    partial = partial_columns(cohorts, as_of=as_of) if as_of else [None] * len(cohorts)
    rows = []
    for index, cohort in enumerate(cohorts):
        shares = [_number(share) for share in (matrix[index] if index < len(matrix) else [])]
        rows.append(
            {
                "label": month_label(str(cohort)),
                "size": sizes[index] if index < len(sizes) else None,
                "shares": shares + [None] * (width - len(shares)),
                "partial": partial[index],
            }
        )
    return {"columns": list(range(width)), "rows": rows, "has_partial": any(k is not None for k in partial)}


# The per-customer predictions, and why a buyer can be left without one (metrics.analytics.scoring).
PREDICTION_LABELS = {
    "p_alive": gettext_lazy("P(alive)"),
    "churn_risk": gettext_lazy("churn risk"),
    "expected_purchases": gettext_lazy("expected purchases"),
    "expected_spend": gettext_lazy("expected spend"),
    "predicted_clv": gettext_lazy("predicted CLV"),
}
GAP_REASONS = {
    "no_spend_model": gettext_lazy("the spend model could not be fitted"),
    "not_computable": gettext_lazy("it could not be computed"),
}


def prediction_gap_rows(gaps: dict | None) -> list[dict]:
    """ModelVersion.prediction_gaps as rows to show: {"figure", "count", "reason"} per figure and
    reason, in PREDICTION_LABELS' order; [] when every buyer has every prediction."""
    missing = (gaps or {}).get("missing") or {}
    return [
        {"figure": label, "count": int(count), "reason": GAP_REASONS.get(reason, reason)}
        for name, label in PREDICTION_LABELS.items()
        for reason, count in sorted((missing.get(name) or {}).items())
        if count
    ]


def buyers_without(gaps: dict | None, figure: str) -> int:
    """How many buyers ModelVersion.prediction_gaps counts without `figure`, whatever the reason."""
    return sum(int(count) for count in (((gaps or {}).get("missing") or {}).get(figure) or {}).values())


# How urgent each cell of the value x risk matrix is: the high-value customers at high risk are the
# ones to protect first (the worklist's first line), then the cells next to them; the colour says it.
CELL_TIERS = {("high", "high"): "protect", ("high", "medium"): "watch", ("medium", "high"): "watch"}
TIER_LABELS = {
    "protect": gettext_lazy("Protect first"),
    "watch": gettext_lazy("Watch closely"),
    "steady": gettext_lazy("Lower priority"),
}


def value_risk_table(data: dict | None, value_labels: dict, risk_labels: dict) -> dict | None:
    """The 3 x 3 value x risk matrix: rows high to low value, columns low to high risk; each cell
    with its tier (CELL_TIERS), which the page colours and explains in a legend."""
    cells = (data or {}).get("cells") or []
    if not cells:
        return None
    by_key = {(cell.get("value_level"), cell.get("risk_level")): cell for cell in cells}
    rows = []
    for value_level in LEVELS:
        row = []
        for risk_level in RISKS:
            cell = by_key.get((value_level, risk_level)) or {}
            row.append(
                {
                    "value_level": value_level,
                    "risk_level": risk_level,
                    "count": int(_number(cell.get("count")) or 0),
                    "clv": _number(cell.get("clv")),
                    "tier": CELL_TIERS.get((value_level, risk_level), "steady"),
                }
            )
        rows.append(
            {"value_level": value_level, "label": str(value_labels.get(value_level, value_level)), "cells": row}
        )
    unscored = sum(int(_number(c.get("count")) or 0) for c in cells if c.get("risk_level") not in RISKS)
    columns = [str(risk_labels.get(risk, risk)) for risk in RISKS]
    without_clv = int(_number((data or {}).get("buyers_without_clv")) or 0)
    legend = [{"tier": tier, "label": str(label)} for tier, label in TIER_LABELS.items()]
    return {"rows": rows, "columns": columns, "unscored": unscored, "without_clv": without_clv, "legend": legend}


# --- CSV ----------------------------------------------------------------------------------------

# PostgreSQL's jsonb does not keep the order of keys: the CSV columns follow the documented order.
SUMMARY_ORDER = tuple(key for key, *_rest in TILES) + ("new", "reactivated")
TIMESERIES_ORDER = ("retention_rate", "churn_rate", "active", "new", "reactivated", "nrr")

CSV_KINDS = ("summary", "timeseries", "cohorts", "pareto", "clv_distribution", "rfm", "value_risk")


def csv_table(kind: str, data: dict | None, as_of: date | None = None) -> tuple[list[str], list[list]]:
    """Header and rows of one chart's data, in the units of the snapshot (rates as 0-1 fractions).
    Cohorts end with partial_month: the k of the month still running on `as_of` (its share counts
    part of a month), empty when every month shown is complete."""
    data = finite(data or {})
    if kind == "summary":
        previous = data.get("previous") or {}
        keys = _ordered([key for key in data if key not in ("period", "previous")], SUMMARY_ORDER)
        period = data.get("period") or {}
        header = ["metric", "value", "previous", "period_start", "period_end"]
        return header, [[key, data.get(key), previous.get(key), period.get("start"), period.get("end")] for key in keys]
    if kind == "timeseries":
        series = _ordered([k for k, v in data.items() if k != "months" and isinstance(v, list)], TIMESERIES_ORDER)
        months = data.get("months") or []
        rows = [[month] + [_at(data[key], i) for key in series] for i, month in enumerate(months)]
        return ["month", *series], rows
    if kind == "cohorts":
        matrix = data.get("matrix") or []
        width = max((len(row) for row in matrix), default=0)
        sizes = data.get("sizes") or []
        cohorts = data.get("cohorts") or []
        partial = partial_columns(cohorts, as_of=as_of) if as_of else [None] * len(cohorts)
        rows = [
            [cohort, _at(sizes, i)] + [_at(_at(matrix, i) or [], k) for k in range(width)] + [partial[i]]
            for i, cohort in enumerate(cohorts)
        ]
        return ["cohort", "size"] + [f"month_{k}" for k in range(width)] + ["partial_month"], rows
    if kind == "pareto":
        return ["share_of_customers", "share_of_revenue"], [list(point) for point in data.get("curve") or []]
    if kind == "clv_distribution":
        edges = data.get("bins") or []
        counts = data.get("counts") or []
        return ["clv_from", "clv_to", "customers"], [
            [_at(edges, i), _at(edges, i + 1), c] for i, c in enumerate(counts)
        ]
    if kind == "rfm":
        rows = [[s.get("key"), s.get("label"), s.get("count"), s.get("revenue")] for s in data.get("segments") or []]
        return ["segment", "label", "customers", "revenue"], rows
    if kind == "value_risk":
        rows = [
            [c.get("value_level"), c.get("risk_level"), c.get("count"), c.get("clv")] for c in data.get("cells") or []
        ]
        return ["value_level", "risk_level", "customers", "clv"], rows
    raise ValueError(f"unknown chart kind {kind!r}")


def _ordered(keys: list[str], order: tuple[str, ...]) -> list[str]:
    """``keys`` with those named in ``order`` first, in that order, then the rest alphabetically."""
    rank = {key: index for index, key in enumerate(order)}
    return sorted(keys, key=lambda key: (rank.get(key, len(order)), key))


def _at(values: list, index: int):
    return values[index] if 0 <= index < len(values) else None
