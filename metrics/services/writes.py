"""The writes of a recompute: CustomerMetrics rows from the scored arrays (bulk upsert, or binary COPY
into the run's own table on PostgreSQL) and the dashboard snapshots.

The scored arrays are the columns of metrics.analytics.scoring (base_figures + predictions +
scores), aligned with the customer ids; NaN is "no figure" and is stored as NULL.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from metrics import pgbinary
from metrics.models import METRIC_FIELDS, SEGMENT_KEYS, CustomerMetrics, MetricSnapshot, RecomputeRun

from .runs import recompute_run_finish

# Rows per INSERT ... ON CONFLICT statement: 2,000 rows x 24 columns stays under PostgreSQL's
# 65,535 parameters and keeps each statement's memory to a few MB.
UPSERT_BATCH = 2_000


def snapshots_save(*, run_id: int, as_of: date, snapshots: list[tuple[str, str, dict]]) -> None:
    """Save a run's dashboard snapshots (replacing those of the same day), then finish the run if its
    scores are all written too."""
    rows = [MetricSnapshot(as_of=as_of, kind=kind, scope=scope, data=data) for kind, scope, data in snapshots]
    with transaction.atomic():
        MetricSnapshot.objects.bulk_create(
            rows,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["as_of", "kind", "scope"],
            update_fields=["data", "created_at"],
        )
        RecomputeRun.objects.filter(pk=run_id).update(snapshots_saved=True)
    recompute_run_finish(run_id=run_id)


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def _python_floats(values) -> list[float | None]:
    array = np.asarray(values, dtype=float)
    return [None if v != v else v for v in np.where(np.isfinite(array), array, np.nan).tolist()]


def _integer(value: float | None) -> int | None:
    return None if value is None else int(value)


def _dates(values) -> list:
    """datetime.date objects (None for NaT) from datetime64 arrays, without a pandas round trip."""
    return np.asarray(values, dtype="datetime64[D]").tolist()


def metrics_rows(
    columns: dict[str, np.ndarray],
    ids: np.ndarray,
    *,
    as_of: date,
    model_version_id: int | None,
    previous: dict[int, float | None],
) -> list[CustomerMetrics]:
    """CustomerMetrics instances from the columns of base_figures + predictions + scores (arrays
    aligned with `ids`); `previous`: customer_id -> the previous_churn_risk to store."""
    first, last = _dates(columns["first_purchase"]), _dates(columns["last_purchase"])
    # Python lists with None for NaN, built once per column: a million rows stay a few seconds.
    floats = {
        name: _python_floats(columns[name])
        for name in (
            "recency_days",
            "usual_interval_days",
            "net_revenue",
            "revenue_12m",
            "r_score",
            "f_score",
            "m_score",
            "p_alive",
            "churn_risk",
            "expected_purchases",
            "expected_spend",
            "predicted_clv",
        )
    }
    rows = []
    for i, customer_id in enumerate(np.asarray(ids).tolist()):
        value = {name: values[i] for name, values in floats.items()}
        has_purchase = int(columns["purchases"][i]) > 0
        rows.append(
            CustomerMetrics(
                customer_id=customer_id,
                as_of=as_of,
                model_version_id=model_version_id,
                purchases=int(columns["purchases"][i]),
                first_purchase=first[i] if has_purchase else None,
                last_purchase=last[i] if has_purchase else None,
                recency_days=_integer(value["recency_days"]),
                usual_interval_days=value["usual_interval_days"],
                net_revenue=_money(value["net_revenue"] or 0.0),
                revenue_12m=_money(value["revenue_12m"] or 0.0),
                r_score=_integer(value["r_score"]),
                f_score=_integer(value["f_score"]),
                m_score=_integer(value["m_score"]),
                rfm_segment=SEGMENT_KEYS.get(columns["rfm_segment"][i], ""),
                p_alive=value["p_alive"],
                churn_risk=value["churn_risk"],
                risk_level=columns["risk_level"][i],
                expected_purchases_90d=value["expected_purchases"],
                expected_spend=value["expected_spend"],
                predicted_clv=None if value["predicted_clv"] is None else _money(value["predicted_clv"]),
                value_level=columns["value_level"][i],
                pareto_top=bool(columns["pareto_top"][i]),
                previous_churn_risk=previous.get(customer_id),
            )
        )
    return rows


def frame_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {name: frame[name].to_numpy() for name in frame.columns}


def metrics_upsert(rows: list[CustomerMetrics], *, fields=(*METRIC_FIELDS, "previous_churn_risk")) -> None:
    CustomerMetrics.objects.bulk_create(
        rows, batch_size=UPSERT_BATCH, update_conflicts=True, unique_fields=["customer"], update_fields=list(fields)
    )


# What copy_insert sends per customer, in binary COPY (metrics.pgbinary): fixed-width and never
# NULL, so a million rows are one numpy array. NULL travels as a sentinel (NULL_INT for dates and
# integers, 0 for scores, NaN for floats, NULL_CENTS for amounts, which travel as cents, code 0 for ""
# texts) and is restored in SQL.
COPY_COLUMNS = (
    ("customer_id", "int8"),
    ("purchases", "int4"),
    ("first_purchase", "int4"),  # days since 1970-01-01
    ("last_purchase", "int4"),
    ("recency_days", "int4"),
    ("usual_interval_days", "float8"),
    ("net_revenue", "int8"),  # cents
    ("revenue_12m", "int8"),  # cents
    ("r_score", "int2"),
    ("f_score", "int2"),
    ("m_score", "int2"),
    ("rfm_segment", "int2"),  # a position in SEGMENT_CODES
    ("p_alive", "float8"),
    ("churn_risk", "float8"),
    ("risk_level", "int2"),  # a position in LEVEL_CODES
    ("expected_purchases_90d", "float8"),
    ("expected_spend", "float8"),
    ("predicted_clv", "int8"),  # cents
    ("value_level", "int2"),
    ("pareto_top", "bool"),
)
NULL_INT = np.iinfo("int32").min
NULL_CENTS = np.iinfo("int64").min
SEGMENT_CODES = ("", *SEGMENT_KEYS.values())
LEVEL_CODES = ("", "low", "medium", "high")

# The CustomerMetrics columns and the SQL that makes each from the staging row (see COPY_COLUMNS).
_COPY_SELECT = {
    "customer_id": "customer_id",
    "as_of": "%(as_of)s::date",
    "model_version_id": "%(model_version_id)s::bigint",
    "purchases": "purchases",
    "first_purchase": f"CASE WHEN first_purchase = {NULL_INT} THEN NULL ELSE DATE '1970-01-01' + first_purchase END",
    "last_purchase": f"CASE WHEN last_purchase = {NULL_INT} THEN NULL ELSE DATE '1970-01-01' + last_purchase END",
    "recency_days": f"NULLIF(recency_days, {NULL_INT})",
    "usual_interval_days": "NULLIF(usual_interval_days, 'NaN')",
    # Amounts travel as cents: integer to numeric is a tenth of the cost of float to numeric,
    # which PostgreSQL makes by way of text.
    "net_revenue": "(net_revenue::numeric * 0.01)::numeric(14, 2)",
    "revenue_12m": "(revenue_12m::numeric * 0.01)::numeric(14, 2)",
    "r_score": "NULLIF(r_score, 0)",
    "f_score": "NULLIF(f_score, 0)",
    "m_score": "NULLIF(m_score, 0)",
    "rfm_segment": "(%(segments)s::text[])[rfm_segment + 1]",
    "p_alive": "NULLIF(p_alive, 'NaN')",
    "churn_risk": "NULLIF(churn_risk, 'NaN')",
    "risk_level": "(%(levels)s::text[])[risk_level + 1]",
    "expected_purchases_90d": "NULLIF(expected_purchases_90d, 'NaN')",
    "expected_spend": "NULLIF(expected_spend, 'NaN')",
    "predicted_clv": f"(NULLIF(predicted_clv, {NULL_CENTS})::numeric * 0.01)::numeric(14, 2)",
    "value_level": "(%(levels)s::text[])[value_level + 1]",
    "pareto_top": "pareto_top",
    "updated_at": "%(now)s::timestamptz",
}


def _codes(values: np.ndarray, codes: tuple[str, ...], mapping: dict | None = None) -> np.ndarray:
    labels = pd.Series(values, dtype=object)
    if mapping is not None:
        labels = labels.map(mapping).fillna("")
    positions = pd.Categorical(labels.fillna(""), categories=codes).codes
    if (positions < 0).any():
        raise ValueError(f"Unknown label among {sorted(set(labels) - set(codes))[:5]}")
    return positions


def _copy_values(columns: dict[str, np.ndarray], ids: np.ndarray) -> dict[str, np.ndarray]:
    """The COPY_COLUMNS arrays of customers `ids` from the columns of base_figures + predictions + scores."""

    def days(name: str) -> np.ndarray:
        values = np.asarray(columns[name], dtype="datetime64[D]")
        return np.where(np.isnat(values), NULL_INT, values.astype("int64"))

    def integers(name: str, null: int) -> np.ndarray:
        values = np.asarray(columns[name], dtype=float)
        return np.where(np.isfinite(values), np.round(values), null)

    def floats(name: str) -> np.ndarray:
        values = np.asarray(columns[name], dtype=float)
        return np.where(np.isfinite(values), values, np.nan)

    def cents(name: str, null: int) -> np.ndarray:
        values = np.asarray(columns[name], dtype=float)
        finite = np.isfinite(values)
        out = np.full(values.shape, null, dtype="int64")
        out[finite] = np.rint(values[finite] * 100)
        return out

    return {
        "customer_id": np.asarray(ids),
        "purchases": np.asarray(columns["purchases"]),
        "first_purchase": days("first_purchase"),
        "last_purchase": days("last_purchase"),
        "recency_days": integers("recency_days", NULL_INT),
        "usual_interval_days": floats("usual_interval_days"),
        "net_revenue": cents("net_revenue", 0),
        "revenue_12m": cents("revenue_12m", 0),
        "r_score": integers("r_score", 0),
        "f_score": integers("f_score", 0),
        "m_score": integers("m_score", 0),
        "rfm_segment": _codes(columns["rfm_segment"], SEGMENT_CODES, SEGMENT_KEYS),
        "p_alive": floats("p_alive"),
        "churn_risk": floats("churn_risk"),
        "risk_level": _codes(columns["risk_level"], LEVEL_CODES),
        "expected_purchases_90d": floats("expected_purchases"),
        "expected_spend": floats("expected_spend"),
        "predicted_clv": cents("predicted_clv", NULL_CENTS),
        "value_level": _codes(columns["value_level"], LEVEL_CODES),
        "pareto_top": np.asarray(columns["pareto_top"], dtype=bool),
    }


def copy_insert(columns: dict[str, np.ndarray], ids: np.ndarray, *, into: str, as_of: date, model_version_id) -> None:
    """Rows of CustomerMetrics into a run's table of new rows (services.swap), on PostgreSQL: binary
    COPY into a temporary table, then one INSERT ... SELECT that restores NULLs and texts.

    Many times faster than bulk_create's parameterised batches or CSV text, because no value is
    formatted or parsed one by one. previous_churn_risk follows previous_risks' rule, in SQL, from
    the customer's current row. Call it inside a transaction (the temporary table is dropped at commit).
    """
    live = CustomerMetrics._meta.db_table
    names = ", ".join(_COPY_SELECT)
    staging = ", ".join(f"{name} {pg_type}" for name, pg_type in COPY_COLUMNS)
    payload = pgbinary.encode(COPY_COLUMNS, _copy_values(columns, ids))
    values = ", ".join(f"{expression} AS {name}" for name, expression in _COPY_SELECT.items())
    selected = ", ".join(f"new.{name}" for name in _COPY_SELECT)
    insert = (
        f"INSERT INTO {connection.ops.quote_name(into)} ({names}, previous_churn_risk) "  # noqa: S608
        f"SELECT {selected}, CASE WHEN old.as_of = new.as_of THEN old.previous_churn_risk ELSE old.churn_risk END "
        f"FROM (SELECT {values} FROM metrics_staging) AS new LEFT JOIN {live} AS old "
        # The bounds let PostgreSQL read the chunk's range of the primary key, not the whole table.
        "ON old.customer_id = new.customer_id AND old.customer_id BETWEEN %(first)s AND %(last)s"
    )
    with connection.cursor() as cursor:
        # Sorting a chunk of 50,000 rows for the join in memory, not in temporary files.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(f"CREATE TEMP TABLE metrics_staging ({staging}) ON COMMIT DROP")
        cursor.copy_expert("COPY metrics_staging FROM STDIN WITH (FORMAT binary)", io.BytesIO(payload))
        cursor.execute(
            insert,
            {
                "as_of": as_of,
                "model_version_id": model_version_id,
                "segments": list(SEGMENT_CODES),
                "levels": list(LEVEL_CODES),
                "now": timezone.now(),
                "first": int(ids.min()) if len(ids) else 0,
                "last": int(ids.max()) if len(ids) else 0,
            },
        )
        cursor.execute("DROP TABLE metrics_staging")


def previous_risks(*, customer_id_from: int, customer_id_to: int, as_of: date) -> dict[int, float | None]:
    """previous_churn_risk for the new rows: the risk of the last recompute of an earlier day (a second
    recompute on the same day keeps the earlier baseline, so "risk change" survives it)."""
    existing = CustomerMetrics.objects.filter(
        customer_id__gte=customer_id_from, customer_id__lt=customer_id_to
    ).values_list("customer_id", "as_of", "churn_risk", "previous_churn_risk")
    return {cid: (prev if row_as_of == as_of else risk) for cid, row_as_of, risk, prev in existing}
