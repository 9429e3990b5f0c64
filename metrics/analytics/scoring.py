"""Per-customer figures of CustomerMetrics from a daily frame: pure pandas/numpy, no Django.

Scores that depend on the whole population (RFM quintiles, the Pareto tier, the value level) are
computed once by the full recompute, which keeps their *cut points* (`scoring_edges`). A chunk of
customers, or one customer refreshed after an order, is then scored against those cut points
(`apply_scoring`) and gets exactly the scores the whole-population computation gives.

Every score is a non-decreasing function of a sort key: (value) for ties-averaged quintiles,
(value, customer_id) for ties broken by order of appearance. So "score >= k" is "key >= the
smallest key that reached k", and four edges per score reproduce the quintiles exactly.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd

from .bgnbd import BgNbdParams, bgnbd_churn_risk
from .clv import forecasts
from .gamma_gamma import GammaGammaParams
from .pareto import SHARE_TOLERANCE, TOP_REVENUE_SHARE, TRAILING_MONTHS
from .rfm import rfm_scores, rfm_segment
from .summary import summary_from_daily

# Value level (docs: "Value x risk"): high = the Pareto top tier; medium = the next customers by
# predicted CLV (historical CLV when no model could be fitted), 30% of the customers with a
# purchase; low = everyone else. 30% puts roughly half of the buyers in "high or medium" on a
# typical 20/80 book, which is as many as account managers can plan for.
MEDIUM_VALUE_SHARE = 0.3

SCORE_LEVELS = (2, 3, 4, 5)

FIGURE_COLUMNS = (
    "purchases",
    "first_purchase",
    "last_purchase",
    "recency_days",
    "usual_interval_days",
    "net_revenue",
    "revenue_12m",
    "x",
    "t_x",
    "T",
    "monetary_value",
)
PREDICTION_COLUMNS = ("p_alive", "churn_risk", "expected_purchases", "expected_spend", "predicted_clv")
SPEND_COLUMNS = ("expected_spend", "predicted_clv")

# Why a buyer is left without a prediction although the run fitted the purchase model (counted by
# prediction_gaps; a run without a purchase model says so in its message): no spend model was
# fitted, or the figure came out non-finite, which the analytics are tested never to do.
NO_SPEND_MODEL = "no_spend_model"
NOT_COMPUTABLE = "not_computable"


def sort_daily(daily: pd.DataFrame) -> pd.DataFrame:
    """The daily frame in (customer_id, day) order. Float sums then run in one order whatever order
    SQL returned the rows in, so a chunk's revenue equals the full run's to the last bit.

    Ten million rows: one int64 key (customer_id, then day) sorted by numpy, several times faster
    than a two-column sort_values, and nothing at all when the rows already come in order."""
    if len(daily) == 0:
        return daily.reset_index(drop=True)
    customer = daily["customer_id"].to_numpy(dtype="int64")
    day = np.asarray(daily["day"].to_numpy(), dtype="datetime64[D]").astype("int64")
    if customer.min() < 0 or customer.max() >= 2**42 or day.min() < 0 or day.max() >= 2**21:
        return daily.sort_values(["customer_id", "day"], kind="stable", ignore_index=True)
    key = (customer << 21) | day
    if np.all(key[1:] >= key[:-1]):
        return daily.reset_index(drop=True)
    return daily.take(np.argsort(key, kind="stable")).reset_index(drop=True)


def trailing_revenue(daily: pd.DataFrame, *, as_of: date) -> pd.Series:
    """Net revenue per customer in (as_of - 12 months, as_of], summed exactly as pareto_tier does."""
    as_of_midnight = pd.Timestamp(as_of)
    day = pd.to_datetime(daily["day"])
    mask = (day > as_of_midnight - pd.DateOffset(months=TRAILING_MONTHS)) & (day <= as_of_midnight)
    return daily["amount"][mask].astype(float).groupby(daily["customer_id"][mask]).sum()


def base_figures(daily: pd.DataFrame, *, customer_ids, as_of: date) -> pd.DataFrame:
    """Model-free figures per customer, indexed by the (sorted) `customer_ids`; customers without
    orders get purchases 0 and net revenue 0. `daily` must be sorted (sort_daily)."""
    as_of_midnight = pd.Timestamp(as_of)
    index = pd.Index(np.sort(np.asarray(customer_ids, dtype="int64")), name="customer_id")
    summary = summary_from_daily(daily, as_of=as_of_midnight, unit="D").reindex(index)
    figures = pd.DataFrame(index=index)
    figures["purchases"] = summary["purchases"].fillna(0).astype("int64")
    figures["first_purchase"] = summary["first_purchase"]
    figures["last_purchase"] = summary["last_purchase"]
    figures["recency_days"] = (as_of_midnight.normalize() - summary["last_purchase"]).dt.days
    x = summary["x"].fillna(0)
    figures["usual_interval_days"] = (summary["t_x"] / x).where(x > 0)
    figures["net_revenue"] = summary["net_revenue"].fillna(0.0)
    figures["revenue_12m"] = trailing_revenue(daily, as_of=as_of).reindex(index).fillna(0.0)
    figures["x"] = x
    figures["t_x"] = summary["t_x"]
    figures["T"] = summary["T"]
    figures["monetary_value"] = summary["monetary_value"].fillna(0.0)
    return figures


def predictions(
    columns: dict[str, np.ndarray],
    *,
    bgnbd: BgNbdParams | None,
    gamma_gamma: GammaGammaParams | None,
    horizon_days: float,
    clv_months: int,
    clv_discount: float,
) -> dict[str, np.ndarray]:
    """p_alive, churn_risk, expected_purchases (in horizon_days), expected_spend and predicted_clv
    from arrays purchases, x, t_x, T, monetary_value; NaN without a purchase or without a model.
    Arrays in, arrays out, so that one customer costs microseconds, not a DataFrame's milliseconds."""
    n = len(columns["purchases"])
    out = {name: np.full(n, np.nan) for name in PREDICTION_COLUMNS}
    buyers = np.asarray(columns["purchases"]) > 0
    if bgnbd is None or not buyers.any():
        return out
    x, t_x, T, monetary = (
        np.asarray(columns[name], dtype=float)[buyers] for name in ("x", "t_x", "T", "monetary_value")
    )
    figures = forecasts(
        bgnbd,
        gamma_gamma,
        x,
        t_x,
        T,
        monetary,
        horizon_days=horizon_days,
        horizon_months=clv_months,
        monthly_discount=clv_discount,
    )
    figures["churn_risk"] = shown_churn_risk(bgnbd, x, t_x, T, horizon_days=horizon_days)
    for name, values in figures.items():
        out[name][buyers] = values
    for values in out.values():
        values[~np.isfinite(values)] = np.nan  # an infinity is no figure either (prediction_gaps counts it)
    return out


def prediction_gaps(columns: dict[str, np.ndarray], *, spend_model: bool) -> dict:
    """The buyers (purchases > 0) left without each prediction, by reason, for a run that fitted the
    purchase model: ``{"buyers": 4338, "missing": {"predicted_clv": {"no_spend_model": 4338}}}``,
    non-zero counts only (``"missing": {}`` when every buyer has every figure).

    `columns`: purchases and the PREDICTION_COLUMNS, as `predictions` returns them."""
    buyers = np.asarray(columns["purchases"]) > 0
    missing = {}
    for name in PREDICTION_COLUMNS:
        empty = int(np.count_nonzero(~np.isfinite(np.asarray(columns[name], dtype=float)[buyers])))
        if empty:
            reason = NO_SPEND_MODEL if name in SPEND_COLUMNS and not spend_model else NOT_COMPUTABLE
            missing[name] = {reason: empty}
    return {"buyers": int(buyers.sum()), "missing": missing}


def shown_churn_risk(bgnbd: BgNbdParams, x, t_x, T, *, horizon_days: float) -> np.ndarray:
    """The churn risk users see. metrics.md allows combining BG/NBD with other signals only when the
    back-test shows the combination at least as good; none has been shown to be yet, so the shown
    risk is the BG/NBD formula itself (and its back-test AUC equals the baseline's)."""
    return bgnbd_churn_risk(bgnbd, x, t_x, T, horizon_days=horizon_days)


def with_predictions(figures: pd.DataFrame, **model) -> pd.DataFrame:
    """`figures` (base_figures) plus the `predictions` columns; `model`: predictions' keywords."""
    columns = {name: figures[name].to_numpy() for name in ("purchases", "x", "t_x", "T", "monetary_value")}
    return figures.assign(**predictions(columns, **model))


# --- Population-wide cut points -------------------------------------------------------------------


def _value_edges(keys: np.ndarray, scores: np.ndarray) -> list[float | None]:
    return [float(keys[scores >= k].min()) if np.any(scores >= k) else None for k in SCORE_LEVELS]


def _pair_edges(values: np.ndarray, ids: np.ndarray, scores: np.ndarray) -> list[list | None]:
    order = np.lexsort((ids, values))
    edges: list[list | None] = []
    for k in SCORE_LEVELS:
        reached = np.flatnonzero(scores[order] >= k)
        if reached.size == 0:
            edges.append(None)
        else:
            first = order[reached[0]]
            edges.append([float(values[first]), int(ids[first])])
    return edges


def _last_of(values: pd.Series, ids: np.ndarray, count: int) -> list | None:
    """(value, id) of the count-th customer by value descending then id ascending: the edge of a top-N."""
    if count <= 0:
        return None
    order = np.lexsort((ids, -values.to_numpy(dtype=float)))
    last = order[count - 1]
    return [float(values.iloc[last]), int(ids[last])]


def _pareto_edge(revenue: np.ndarray, ids: np.ndarray) -> list | None:
    """(revenue, id) of the last customer of the Pareto top tier (metrics.analytics.pareto_tier's
    ranking: trailing revenue descending, then id), from every customer's revenue_12m. Customers
    with nothing in the window rank after everyone with revenue and before refunds, where they
    change neither the total nor where 80% of it is reached."""
    total = float(revenue.sum())
    if revenue.size == 0 or total <= 0:
        return None
    order = np.lexsort((ids, -revenue))
    cumulative = np.cumsum(revenue[order]) / total
    top_count = int(np.searchsorted(cumulative, TOP_REVENUE_SHARE - SHARE_TOLERANCE, side="left")) + 1
    last = order[top_count - 1]
    return [float(revenue[last]), int(ids[last])]


def scoring_edges(figures: pd.DataFrame, *, as_of: date) -> dict:
    """The JSON-able cut points of the whole population (see the module docstring).

    `figures`: with_predictions over every customer.
    """
    buyers = figures[figures["purchases"] > 0]
    ids = buyers.index.to_numpy()
    scores = rfm_scores(buyers, as_of=pd.Timestamp(as_of))
    rfm = {
        "customers": int(len(buyers)),
        "r": _value_edges(-buyers["recency_days"].to_numpy(dtype=float), scores["r"].to_numpy()),
        "f": _pair_edges(buyers["purchases"].to_numpy(dtype=float), ids, scores["f"].to_numpy()),
        "m": _value_edges(buyers["net_revenue"].to_numpy(dtype=float), scores["m"].to_numpy()),
    }
    pareto = _pareto_edge(figures["revenue_12m"].to_numpy(dtype=float), figures.index.to_numpy())
    top = pd.Series(_at_or_above(figures["revenue_12m"].to_numpy(), figures.index.to_numpy(), pareto), figures.index)
    basis = "predicted" if buyers["predicted_clv"].notna().all() and len(buyers) else "historical"
    column = "predicted_clv" if basis == "predicted" else "net_revenue"
    rest = buyers[~top[buyers.index].to_numpy()]
    medium_count = min(math.floor(MEDIUM_VALUE_SHARE * len(buyers) + 0.5), len(rest))
    value = {"basis": basis, "medium": _last_of(rest[column], rest.index.to_numpy(), medium_count)}
    return {"rfm": rfm, "pareto": pareto, "value": value}


# --- Applying the cut points ------------------------------------------------------------------------


def _score_values(keys: np.ndarray, edges: list) -> np.ndarray:
    score = np.ones(len(keys), dtype="int64")
    for edge in edges:
        if edge is not None:
            score += keys >= edge
    return score


def _score_pairs(values: np.ndarray, ids: np.ndarray, edges: list) -> np.ndarray:
    score = np.ones(len(values), dtype="int64")
    for edge in edges:
        if edge is not None:
            score += (values > edge[0]) | ((values == edge[0]) & (ids >= edge[1]))
    return score


def _at_or_above(values: np.ndarray, ids: np.ndarray, edge: list | None) -> np.ndarray:
    """Whether (value desc, id asc) ranks at or before `edge`."""
    if edge is None:
        return np.zeros(len(values), dtype=bool)
    return (values > edge[0]) | ((values == edge[0]) & (ids <= edge[1]))


def risk_levels(churn_risk: np.ndarray, thresholds) -> np.ndarray:
    low, high = thresholds
    with np.errstate(invalid="ignore"):
        levels = np.where(churn_risk < low, "low", np.where(churn_risk < high, "medium", "high"))
    return np.where(np.isnan(churn_risk), "", levels).astype(object)


def scores(columns: dict[str, np.ndarray], ids: np.ndarray, scoring: dict, *, risk_thresholds) -> dict[str, np.ndarray]:
    """r_score, f_score, m_score (NaN without a purchase or without cut points), rfm_segment
    (metrics.md name, "" when unscored), pareto_top, value_level and risk_level, from arrays
    purchases, recency_days, net_revenue, revenue_12m, predicted_clv, churn_risk."""
    n = len(ids)
    buyers = np.asarray(columns["purchases"]) > 0
    out = {name: np.full(n, np.nan) for name in ("r_score", "f_score", "m_score")}
    out["rfm_segment"] = np.full(n, "", dtype=object)
    rfm = (scoring or {}).get("rfm")
    if rfm and rfm.get("customers") and buyers.any():
        recency = np.asarray(columns["recency_days"], dtype=float)[buyers]
        r = _score_values(-recency, rfm["r"])
        f = _score_pairs(np.asarray(columns["purchases"], dtype=float)[buyers], ids[buyers], rfm["f"])
        m = _score_values(np.asarray(columns["net_revenue"], dtype=float)[buyers], rfm["m"])
        out["r_score"][buyers], out["f_score"][buyers], out["m_score"][buyers] = r, f, m
        out["rfm_segment"][buyers] = rfm_segment(r, f)
    revenue_12m = np.asarray(columns["revenue_12m"], dtype=float)
    top = _at_or_above(revenue_12m, ids, (scoring or {}).get("pareto")) & buyers
    value = (scoring or {}).get("value") or {}
    basis = np.asarray(columns["predicted_clv" if value.get("basis") == "predicted" else "net_revenue"], dtype=float)
    medium = _at_or_above(np.where(np.isnan(basis), -np.inf, basis), ids, value.get("medium")) & buyers
    out["pareto_top"] = top
    out["value_level"] = np.where(top, "high", np.where(medium, "medium", "low")).astype(object)
    out["risk_level"] = risk_levels(np.asarray(columns["churn_risk"], dtype=float), risk_thresholds)
    return out


SCORE_INPUTS = ("purchases", "recency_days", "net_revenue", "revenue_12m", "predicted_clv", "churn_risk")


def apply_scoring(figures: pd.DataFrame, scoring: dict, *, risk_thresholds) -> pd.DataFrame:
    """`figures` (with_predictions) plus the `scores` columns."""
    columns = {name: figures[name].to_numpy() for name in SCORE_INPUTS}
    return figures.assign(**scores(columns, figures.index.to_numpy(), scoring, risk_thresholds=risk_thresholds))


# --- One customer, without pandas -------------------------------------------------------------------


def one_customer_figures(days: np.ndarray, amount: np.ndarray, purchase_amount: np.ndarray, *, as_of: date) -> dict:
    """base_figures for one customer from their daily rows (one per day, sorted, none after as_of),
    as length-1 arrays. The same definitions as summary_from_daily, in numpy: a refresh after an
    order has to take a few milliseconds, and a DataFrame's overhead alone is more than that."""
    as_of_midnight = pd.Timestamp(as_of).normalize()
    as_of_day = np.datetime64(as_of_midnight.date(), "D")
    days = np.asarray(days, dtype="datetime64[D]")
    amount = np.asarray(amount, dtype=float)
    bought = np.asarray(purchase_amount, dtype=float) > 0
    purchase_days = days[bought]
    purchases = int(bought.sum())
    window_start = np.datetime64((as_of_midnight - pd.DateOffset(months=TRAILING_MONTHS)).date(), "D")
    in_window = (days > window_start) & (days <= as_of_day)
    figures = {
        "purchases": purchases,
        "net_revenue": float(np.add.reduceat(amount, [0])[0]) if amount.size else 0.0,  # as summary_from_daily adds
        "revenue_12m": math.fsum(amount[in_window]),
        "first_purchase": np.datetime64("NaT", "D"),
        "last_purchase": np.datetime64("NaT", "D"),
        "recency_days": np.nan,
        "usual_interval_days": np.nan,
        "x": 0.0,
        "t_x": np.nan,
        "T": np.nan,
        "monetary_value": 0.0,
    }
    if purchases:
        first, last = purchase_days[0], purchase_days[-1]
        spend = np.asarray(purchase_amount, dtype=float)[bought]
        x = purchases - 1
        t_x = float((last - first).astype(int))
        figures.update(
            first_purchase=first,
            last_purchase=last,
            recency_days=float((as_of_day - last).astype(int)),
            x=float(x),
            t_x=t_x,
            T=float((as_of_day - first).astype(int)),
            usual_interval_days=t_x / x if x else np.nan,
            # Added as summary_from_daily adds (analytics.summary.segment_sums), to the last bit.
            monetary_value=(float(np.add.reduceat(spend, [0])[0]) - spend[0]) / x if x else 0.0,
        )
    return {name: np.array([value]) for name, value in figures.items()}
