"""The full recompute: load (SQL) -> fit and score (metrics.analytics) -> save in bulk.

A run is claimed once (a conditional UPDATE from queued to running; a partial unique index lets
only one run be running), then:

1. load one row per customer and day (CustomerDay, kept up to date as orders arrive), and every
   customer; fork a child process that computes the dashboards' history snapshots from them
   (services.forked, snapshots.history_snapshots) while this process goes on;
2. fit BG/NBD and Gamma-Gamma on the customers with a purchase, starting from the current model ->
   a ModelVersion (none when the data cannot identify the model: the run still succeeds, with
   figures that need no model);
3. compute the population-wide cut points (RFM quintiles, Pareto tier, value level) and score
   every customer;
4. write the scores in chunks of SCORE_CHUNK_SIZE ids, each in its own transaction: one Celery task
   each (a group, spread over the workers), or from threads of this process (manage.py
   recompute_metrics --sync); on PostgreSQL into the run's own table (services.swap). Meanwhile
   complete the snapshots with the scores and save them. Whichever part finishes last marks the run
   succeeded, swaps the new scores in and makes its ModelVersion current;
5. back-test the churn risk at as_of - h on data up to the cut-off only (its own task, after the
   scores) -> stored on the ModelVersion.
"""

from __future__ import annotations

import io
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.rollups import customer_rollups_drain
from metrics import conf, pgbinary
from metrics.analytics import (
    BgNbdParams,
    GammaGammaParams,
    NotEnoughData,
    bgnbd_fit,
    gamma_gamma_fit,
    purchases_between,
    roc_auc,
    summary_from_daily,
)
from metrics.analytics import churn_backtest as analytics_churn_backtest
from metrics.models import (
    METRIC_FIELDS,
    SEGMENT_KEYS,
    CustomerMetrics,
    MetricSnapshot,
    ModelVersion,
    RecomputeChunk,
    RecomputeRun,
    RfmSegment,
)
from metrics.selectors import (
    assignment_frame,
    customer_daily_frame,
    customer_frame,
    customer_upsell_days,
)
from retention_crm import events

from .forked import Forked
from .scoring import apply_scoring, base_figures, scoring_edges, shown_churn_risk, sort_daily, with_predictions
from .snapshots import customer_codes, history_snapshots, with_scores
from .swap import scores_swap, scores_table, scores_table_create

logger = logging.getLogger(__name__)

# A run still "running" after this long lost its worker (a crash, a redeploy): it is marked failed
# so the next run can claim. A recompute of 1M customers takes minutes, so 6 hours is generous.
STALE_RUN_AFTER = timedelta(hours=6)

# Rows per INSERT ... ON CONFLICT statement: 2,000 rows x 24 columns stays under PostgreSQL's
# 65,535 parameters and keeps each statement's memory to a few MB.
UPSERT_BATCH = 2_000


# --- Runs ----------------------------------------------------------------------------------------


def recompute_run_create(*, as_of: date | None = None, user=None, queue: bool = True) -> RecomputeRun:
    """Ask for a full recompute as of `as_of` (default: today in the workspace time zone).

    Debounced: while a run for the same day waits in the queue, that run is returned, since it will
    see every change made until it starts. With `queue`, a worker is asked to run it after commit.
    """
    as_of = as_of or timezone.localdate()
    waiting = RecomputeRun.objects.filter(status=RecomputeRun.Status.QUEUED, as_of=as_of).order_by("created_at").first()
    if waiting is not None:
        return waiting
    run = RecomputeRun.objects.create(as_of=as_of, created_by=user if user and user.is_authenticated else None)
    logger.info("metrics.recompute_queued run=%s as_of=%s", run.pk, as_of)
    if queue:
        _queue(run.pk)
    return run


def _queue(run_id: int) -> None:
    from metrics.tasks import metrics_recompute_task

    transaction.on_commit(lambda: metrics_recompute_task.delay(run_id))


def _fail_stale_runs() -> None:
    stale = RecomputeRun.objects.filter(
        status=RecomputeRun.Status.RUNNING, started_at__lt=timezone.now() - STALE_RUN_AFTER
    ).update(
        status=RecomputeRun.Status.FAILED,
        finished_at=timezone.now(),
        message=_("The recompute stopped without finishing (its worker was lost); start it again."),
    )
    if stale:
        logger.warning("metrics.recompute_stale_failed count=%d", stale)


def _claim(run_id: int) -> bool:
    """queued -> running, once. False when another delivery claimed it or another run is running
    (this one then stays queued and is started when that one finishes)."""
    _fail_stale_runs()
    try:
        with transaction.atomic():
            claimed = RecomputeRun.objects.filter(pk=run_id, status=RecomputeRun.Status.QUEUED).update(
                status=RecomputeRun.Status.RUNNING, started_at=timezone.now(), message=_("Loading orders…")
            )
    except IntegrityError:
        logger.info("metrics.recompute_waits run=%s reason=another_running", run_id)
        return False
    return claimed == 1


def _fail(run_id: int, message: str) -> None:
    RecomputeRun.objects.filter(pk=run_id).exclude(status=RecomputeRun.Status.SUCCEEDED).update(
        status=RecomputeRun.Status.FAILED, finished_at=timezone.now(), message=message
    )


def _step(run_id: int, message: str) -> None:
    RecomputeRun.objects.filter(pk=run_id, status=RecomputeRun.Status.RUNNING).update(message=message)


def _start_next_queued() -> None:
    waiting = RecomputeRun.objects.filter(status=RecomputeRun.Status.QUEUED).order_by("created_at", "id").first()
    if waiting is not None:
        _queue(waiting.pk)


def _finish_if_complete(run_id: int) -> bool:
    """The last part to finish (every chunk counted, the snapshots saved) marks the run succeeded, once,
    and on PostgreSQL swaps its table of new rows in (services.swap)."""
    try:
        return _finish(run_id)
    except DatabaseError:
        logger.exception("metrics.recompute_swap_failed run=%s", run_id)
        _fail(run_id, _("Saving the new customer scores failed; the previous figures are kept. See the server log."))
        return False


def _finish(run_id: int) -> bool:
    with transaction.atomic():
        finished = RecomputeRun.objects.filter(
            pk=run_id, status=RecomputeRun.Status.RUNNING, chunks_done__gte=F("chunks_total"), snapshots_saved=True
        ).update(status=RecomputeRun.Status.SUCCEEDED)
        if finished:
            model_version_id, started_at = RecomputeRun.objects.values_list("model_version_id", "started_at").get(
                pk=run_id
            )
            if connection.vendor == "postgresql":
                scores_swap(run_id=run_id, started_at=started_at)
            RecomputeRun.objects.filter(pk=run_id).update(finished_at=timezone.now())
            # The current model is the one the customer rows were scored with (none after a run that
            # could not fit one), so that a refresh scores like the last recompute did.
            ModelVersion.objects.filter(is_current=True).exclude(pk=model_version_id).update(is_current=False)
            if model_version_id:
                ModelVersion.objects.filter(pk=model_version_id).update(is_current=True)
            transaction.on_commit(_start_next_queued)
            events.publish(events.METRICS_RECOMPUTED, run_id=run_id)
    if finished:
        logger.info("metrics.recompute_succeeded run=%s", run_id)
    return bool(finished)


# --- The recompute ---------------------------------------------------------------------------------


def metrics_recompute(
    *, as_of: date | None = None, run_id: int | None = None, chunks_async: bool = False
) -> RecomputeRun:
    """Run a recompute: `run_id` (a queued RecomputeRun), or a new run as of `as_of` (default today).

    `chunks_async`: score the chunks as a Celery group (in a worker); otherwise in this process.
    Never raises on bad data: a failure is stored on the run (status failed, message) and logged.
    """
    if run_id is None:
        run_id = recompute_run_create(as_of=as_of, queue=False).pk
    if not _claim(run_id):
        return RecomputeRun.objects.get(pk=run_id)
    started = time.monotonic()
    try:
        _recompute(RecomputeRun.objects.get(pk=run_id), chunks_async=chunks_async)
    except Exception:
        logger.exception("metrics.recompute_failed run=%s", run_id)
        _fail(run_id, _("The recompute failed unexpectedly; the previous figures are kept. See the server log."))
    run = RecomputeRun.objects.get(pk=run_id)
    logger.info(
        "metrics.recompute_done run=%s status=%s customers=%d seconds=%.1f",
        run.pk,
        run.status,
        run.customers_scored,
        time.monotonic() - started,
    )
    return run


def _settings() -> dict:
    return {
        "horizon_days": float(conf.CHURN_HORIZON_DAYS),
        "clv_months": int(conf.CLV_HORIZON_MONTHS),
        "clv_discount": float(conf.CLV_MONTHLY_DISCOUNT),
    }


def load_population(*, as_of: date, customer_id_from=None, customer_id_to=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(customers, daily) for the recompute: every customer in the id range, and their daily rows
    sorted. Customers are read after the orders, so every order's customer is among them."""
    daily = sort_daily(
        customer_daily_frame(as_of=as_of, customer_id_from=customer_id_from, customer_id_to=customer_id_to)
    )
    customers = customer_frame(customer_id_from=customer_id_from, customer_id_to=customer_id_to)
    ids = customers["customer_id"].to_numpy()
    if len(ids) and len(daily):
        day_ids = daily["customer_id"].to_numpy()
        known = ids[np.minimum(customer_codes(ids, day_ids), len(ids) - 1)] == day_ids
        if not known.all():
            daily = daily[known].reset_index(drop=True)
    elif len(daily):
        daily = daily.iloc[:0]
    return customers, daily


class _Timings:
    """Seconds per step of a run, logged at the end (where the time of a big run goes)."""

    def __init__(self):
        self.steps: dict[str, float] = {}
        self.last = time.monotonic()

    def lap(self, step: str) -> None:
        now = time.monotonic()
        self.steps[step] = self.steps.get(step, 0.0) + now - self.last
        self.last = now

    def __str__(self) -> str:
        return " ".join(f"{step}={seconds:.1f}" for step, seconds in self.steps.items())


def _recompute(run: RecomputeRun, *, chunks_async: bool) -> None:
    timings = _Timings()
    customer_rollups_drain()  # an import's customers whose day totals are still being refreshed
    timings.lap("rollups")
    customers, daily = load_population(as_of=run.as_of)
    timings.lap("load")
    ids = customers["customer_id"].to_numpy()
    assignments = assignment_frame()
    fork_min_rows = conf.FORK_MIN_ROWS
    # What the dashboards show of the orders alone is computed in a child process meanwhile.
    with Forked(
        history_snapshots,
        fork=fork_min_rows is not None and len(daily) >= int(fork_min_rows),
        # Behind the scoring and the writes of the scores, which the run waits for longest.
        nice=5,
        daily=daily,
        customer_ids=ids,
        countries=customers["country"],
        assignments=assignments,
        upsell_days=customer_upsell_days(as_of=run.as_of),
        as_of=pd.Timestamp(run.as_of),
        window_days=int(conf.ACTIVITY_WINDOW_DAYS),
    ) as history:
        timings.lap("fork")
        _score_and_save(run, daily, customers, assignments, history, chunks_async=chunks_async, timings=timings)


def _score_and_save(
    run: RecomputeRun,
    daily: pd.DataFrame,
    customers: pd.DataFrame,
    assignments: pd.DataFrame,
    history: Forked,
    *,
    chunks_async: bool,
    timings: _Timings,
) -> None:
    as_of = pd.Timestamp(run.as_of)
    ids = customers["customer_id"].to_numpy()
    figures = base_figures(daily, customer_ids=ids, as_of=as_of)
    timings.lap("summary")

    _step(run.pk, _("Fitting the purchase model…"))
    model_version, bgnbd, gamma_gamma, fit_message = _fit(figures, as_of=run.as_of)
    timings.lap("fit")

    _step(run.pk, _("Scoring customers…"))
    figures = with_predictions(figures, bgnbd=bgnbd, gamma_gamma=gamma_gamma, **_settings())
    timings.lap("predict")
    scoring = scoring_edges(figures, as_of=as_of)
    scored = apply_scoring(figures, scoring, risk_thresholds=conf.RISK_THRESHOLDS)
    timings.lap("score")
    ranges = chunk_ranges(ids, int(conf.SCORE_CHUNK_SIZE))
    buyers = int((figures["purchases"] > 0).sum())
    RecomputeRun.objects.filter(pk=run.pk).update(
        model_version=model_version,
        scoring=scoring,
        chunks_total=len(ranges),
        message=_summary_message(run.as_of, buyers, len(ids), model_version, fit_message),
    )
    model_version_id = model_version.pk if model_version else None
    if connection.vendor == "postgresql":
        scores_table_create(run.pk)

    # The chunks are written (by other workers, or threads of this process) while this computes the
    # dashboards' snapshots; the run succeeds when the last of them is saved.
    if chunks_async:
        _score_chunks_async(run.pk, model_version_id, ranges)
        writing = None
    else:
        writing = _score_chunks_here(run.pk, model_version_id, ranges, scored)
    try:
        forked = history.forked
        history_done = history.result()
        timings.lap("history_wait" if forked else "history")
        snapshots = with_scores(
            history_done,
            scored=scored,
            countries=customers["country"],
            assignments=assignments,
            as_of=as_of,
            segment_labels={key: str(label) for key, label in RfmSegment.choices},
            segment_keys=SEGMENT_KEYS,
            clv_basis=scoring["value"]["basis"],
        )
        timings.lap("snapshots")
        _snapshots_save(run.pk, run.as_of, snapshots)
        timings.lap("snapshots_save")
    finally:
        if writing is not None:
            writing.wait()
    timings.lap("writes_wait")
    logger.info("metrics.recompute_timings run=%s %s", run.pk, timings)
    if model_version_id is None:
        return
    if chunks_async:
        _queue_backtest(model_version_id)
    else:
        metrics_backtest(model_version_id=model_version_id, daily=daily)


def _summary_message(as_of: date, buyers: int, customers: int, model_version, fit_message: str) -> str:
    if customers == 0:
        return _("No customers yet: nothing to compute.")
    if buyers == 0:
        return _("No purchases up to %(as_of)s: %(customers)d customers were saved without figures.") % {
            "as_of": as_of.isoformat(),
            "customers": customers,
        }
    text = _("%(buyers)d of %(customers)d customers have a purchase up to %(as_of)s.") % {
        "buyers": buyers,
        "customers": customers,
        "as_of": as_of.isoformat(),
    }
    if model_version is None:
        return f"{text} {fit_message}"
    text += " " + _("Purchase model fitted in %(seconds).1f s.") % {"seconds": model_version.fit_seconds}
    return f"{text} {fit_message}".strip()


def chunk_ranges(customer_ids: np.ndarray, size: int) -> list[tuple[int, int]]:
    """[id_from, id_to) ranges of at most `size` customers each, covering every id given."""
    ids = np.sort(np.asarray(customer_ids, dtype="int64"))
    if ids.size == 0:
        return []
    starts = ids[::size].tolist()
    ends = starts[1:] + [int(ids[-1]) + 1]
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


# --- Fitting and back-testing ---------------------------------------------------------------------


def _fit(figures: pd.DataFrame, *, as_of: date) -> tuple[ModelVersion | None, BgNbdParams | None, object, str]:
    buyers = figures[figures["purchases"] > 0]
    # The search starts from the current model: last night's optimum is close to tonight's.
    previous_bgnbd, previous_gamma_gamma = model_params(ModelVersion.objects.filter(is_current=True).first())
    started = time.monotonic()
    try:
        bgnbd = bgnbd_fit(buyers["x"], buyers["t_x"], buyers["T"], unit="D", start=previous_bgnbd)
    except NotEnoughData as exc:
        logger.info("metrics.fit_not_enough_data as_of=%s buyers=%d", as_of, len(buyers))
        message = _(
            "Not enough purchase history to fit the churn model (%(reason)s): churn risk, P(alive) and "
            "predicted CLV are left empty; purchases, revenue and RFM are up to date."
        ) % {"reason": exc}
        return None, None, None, message
    notes, gamma_gamma = [], None
    try:
        gamma_gamma = gamma_gamma_fit(buyers["x"], buyers["monetary_value"], start=previous_gamma_gamma)
        if gamma_gamma.q <= 1:
            notes.append(f"Gamma-Gamma q = {gamma_gamma.q:.3g} <= 1 has no mean spend; predicted CLV left empty.")
            gamma_gamma = None
    except NotEnoughData as exc:
        notes.append(f"Gamma-Gamma not fitted: {exc}")
    model_version = ModelVersion.objects.create(
        as_of=as_of,
        unit=bgnbd.unit,
        bgnbd_r=bgnbd.r,
        bgnbd_alpha=bgnbd.alpha,
        bgnbd_a=bgnbd.a,
        bgnbd_b=bgnbd.b,
        bgnbd_log_likelihood=bgnbd.log_likelihood,
        gg_p=gamma_gamma.p if gamma_gamma else None,
        gg_q=gamma_gamma.q if gamma_gamma else None,
        gg_gamma=gamma_gamma.gamma if gamma_gamma else None,
        gg_log_likelihood=gamma_gamma.log_likelihood if gamma_gamma else None,
        n_customers=bgnbd.n_customers,
        fit_seconds=time.monotonic() - started,
        notes="\n".join(notes),
    )
    message = _("Predicted CLV is left empty: the spend model could not be fitted.") if gamma_gamma is None else ""
    return model_version, bgnbd, gamma_gamma, message


def model_params(model_version: ModelVersion | None) -> tuple[BgNbdParams | None, GammaGammaParams | None]:
    if model_version is None:
        return None, None
    bgnbd = BgNbdParams(
        r=model_version.bgnbd_r,
        alpha=model_version.bgnbd_alpha,
        a=model_version.bgnbd_a,
        b=model_version.bgnbd_b,
        unit=model_version.unit,
        log_likelihood=model_version.bgnbd_log_likelihood,
        n_customers=model_version.n_customers,
    )
    gamma_gamma = None
    if model_version.has_gamma_gamma:
        gamma_gamma = GammaGammaParams(
            p=model_version.gg_p,
            q=model_version.gg_q,
            gamma=model_version.gg_gamma,
            log_likelihood=model_version.gg_log_likelihood,
            n_customers=0,
        )
    return bgnbd, gamma_gamma


def churn_backtest(daily: pd.DataFrame, *, as_of: date, horizon_days: int) -> dict | None:
    """Fit at cutoff = as_of - horizon on data up to the cut-off only, then judge the risk on
    (cutoff, as_of]. Returns the ModelVersion backtest_* fields, or None when the cut-off data
    cannot fit the model."""
    cutoff = pd.Timestamp(as_of) - pd.Timedelta(days=horizon_days)
    summary = summary_from_daily(daily, as_of=cutoff, unit="D")
    buyers = summary[summary["purchases"] > 0]
    try:
        params = bgnbd_fit(buyers["x"], buyers["t_x"], buyers["T"], unit="D")
    except NotEnoughData:
        return None
    actual = purchases_between(daily, start=cutoff, end=cutoff + pd.Timedelta(days=horizon_days))
    baseline = analytics_churn_backtest(buyers, bgnbd=params, actual=actual, horizon_days=horizon_days)
    churned = actual.reindex(buyers.index, fill_value=0).to_numpy() == 0
    shown_risk = shown_churn_risk(params, buyers["x"], buyers["t_x"], buyers["T"], horizon_days=horizon_days)
    shown = roc_auc(shown_risk, churned)

    def finite_or_none(value):
        # A degenerate fit can predict NaN; it is stored and shown as "no figure", never as NaN.
        return None if value is None or not np.isfinite(value) else float(value)

    return {
        "backtest_cutoff": cutoff.date(),
        "backtest_horizon_days": horizon_days,
        "backtest_auc": finite_or_none(shown),
        "backtest_baseline_auc": finite_or_none(baseline.auc),
        "backtest_predicted_purchases": finite_or_none(baseline.predicted_purchases),
        "backtest_actual_purchases": baseline.actual_purchases,
        "backtest_customers": baseline.customers,
    }


def _queue_backtest(model_version_id: int) -> None:
    from metrics.tasks import metrics_backtest_task

    transaction.on_commit(lambda: metrics_backtest_task.delay(model_version_id))


def metrics_backtest(*, model_version_id: int, daily: pd.DataFrame | None = None) -> ModelVersion | None:
    """Back-test a fitted model's churn risk (churn_backtest) and store the result on it, once.

    Runs after the recompute has written every customer's scores (its own task, so that a worker
    scores while another back-tests); `daily` saves loading the orders again in the same process.
    """
    model_version = ModelVersion.objects.filter(pk=model_version_id).first()
    if model_version is None or model_version.backtested_at is not None:
        return model_version
    started = time.monotonic()
    if daily is None:
        daily = sort_daily(customer_daily_frame(as_of=model_version.as_of))
    result = churn_backtest(daily, as_of=model_version.as_of, horizon_days=int(conf.CHURN_HORIZON_DAYS))
    if result is None:
        result = {"notes": (model_version.notes + "\nBack-test: not enough data before the cut-off.").strip()}
    ModelVersion.objects.filter(pk=model_version_id, backtested_at__isnull=True).update(
        **result, backtested_at=timezone.now()
    )
    logger.info("metrics.backtest_done model=%s seconds=%.1f", model_version_id, time.monotonic() - started)
    return ModelVersion.objects.get(pk=model_version_id)


# --- Saving ----------------------------------------------------------------------------------------


def _snapshots_save(run_id: int, as_of: date, snapshots: list[tuple[str, str, dict]]) -> None:
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
    _finish_if_complete(run_id)


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
    formatted or parsed one by one. previous_churn_risk follows _previous_risks' rule, in SQL, from
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


def _previous_risks(customer_id_from: int, customer_id_to: int, as_of: date) -> dict[int, float | None]:
    """previous_churn_risk for the new rows: the risk of the last recompute of an earlier day (a second
    recompute on the same day keeps the earlier baseline, so "risk change" survives it)."""
    existing = CustomerMetrics.objects.filter(
        customer_id__gte=customer_id_from, customer_id__lt=customer_id_to
    ).values_list("customer_id", "as_of", "churn_risk", "previous_churn_risk")
    return {cid: (prev if row_as_of == as_of else risk) for cid, row_as_of, risk, prev in existing}


# --- Chunks ----------------------------------------------------------------------------------------


def _score_chunks_async(run_id: int, model_version_id: int | None, ranges) -> None:
    if not ranges:
        return
    from celery import group

    from metrics.tasks import metrics_score_chunk_task

    signatures = [metrics_score_chunk_task.si(run_id, model_version_id, a, b) for a, b in ranges]
    transaction.on_commit(lambda: group(signatures).apply_async())


class _Writing:
    """Chunks being written from threads of this process; wait() re-raises the first failure."""

    def __init__(self, executor: ThreadPoolExecutor, futures: list):
        self.executor, self.futures = executor, futures

    def wait(self) -> None:
        try:
            for future in self.futures:
                future.result()
        finally:
            self.executor.shutdown()


def _in_thread(**chunk) -> int:
    try:
        return metrics_score_chunk(**chunk)
    finally:
        connection.close()  # this thread's own connection


def _score_chunks_here(run_id: int, model_version_id: int | None, ranges, scored: pd.DataFrame) -> _Writing | None:
    """Write the chunks from the frame scored in this process: from WRITE_THREADS threads on
    PostgreSQL (each its own connection and transaction, overlapping the snapshots), or one after the
    other (SQLite, or inside a transaction whose rows other connections could not see)."""
    threads = int(conf.WRITE_THREADS)
    chunks = [
        {"run_id": run_id, "model_version_id": model_version_id, "customer_id_from": a, "customer_id_to": b}
        for a, b in ranges
    ]
    if threads > 0 and connection.vendor == "postgresql" and not connection.in_atomic_block and chunks:
        executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="metrics-chunk")
        return _Writing(executor, [executor.submit(_in_thread, **chunk, scored=scored) for chunk in chunks])
    for chunk in chunks:
        metrics_score_chunk(**chunk, scored=scored)
    return None


def metrics_score_chunk(
    *,
    run_id: int,
    model_version_id: int | None,
    customer_id_from: int,
    customer_id_to: int,
    scored: pd.DataFrame | None = None,
) -> int:
    """Score customers customer_id_from <= id < customer_id_to for a running run and upsert their rows.

    Idempotent: a second delivery of the same chunk writes and counts nothing. Returns the number of
    customers scored. A failure marks the run failed (its earlier chunks stay written) and re-raises.
    `scored`: the run's own scored frame of every customer, when the chunk runs in the process that
    computed it (otherwise the chunk loads and scores its customers itself, with the same result).
    """
    run = RecomputeRun.objects.filter(pk=run_id).first()
    if run is None or run.status != RecomputeRun.Status.RUNNING:
        logger.info("metrics.chunk_skipped run=%s from=%s reason=run_not_running", run_id, customer_id_from)
        return 0
    if RecomputeChunk.objects.filter(run_id=run_id, customer_id_from=customer_id_from).exists():
        return 0
    try:
        count = _score_chunk(run, model_version_id, customer_id_from, customer_id_to, scored)
    except Exception:
        logger.exception("metrics.chunk_failed run=%s from=%s", run_id, customer_id_from)
        _fail(run_id, _("Scoring customers failed; the previous figures of the other customers are kept."))
        raise
    _finish_if_complete(run_id)
    return count


def _chunk_scored(run: RecomputeRun, model_version, id_from: int, id_to: int) -> pd.DataFrame:
    """The scored rows of customers id_from <= id < id_to, computed from their own orders."""
    bgnbd, gamma_gamma = model_params(model_version)
    customers, daily = load_population(as_of=run.as_of, customer_id_from=id_from, customer_id_to=id_to)
    figures = base_figures(daily, customer_ids=customers["customer_id"].to_numpy(), as_of=pd.Timestamp(run.as_of))
    figures = with_predictions(figures, bgnbd=bgnbd, gamma_gamma=gamma_gamma, **_settings())
    return apply_scoring(figures, run.scoring, risk_thresholds=conf.RISK_THRESHOLDS)


def _score_chunk(
    run: RecomputeRun, model_version_id: int | None, id_from: int, id_to: int, scored: pd.DataFrame | None
) -> int:
    model_version = ModelVersion.objects.filter(pk=model_version_id).first() if model_version_id else None
    if scored is None:
        scored = _chunk_scored(run, model_version, id_from, id_to)
    else:
        lo, hi = np.searchsorted(scored.index.to_numpy(), [id_from, id_to])
        scored = scored.iloc[lo:hi]
    columns, ids = frame_columns(scored), scored.index.to_numpy()
    model_version_id = model_version.pk if model_version else None
    try:
        with transaction.atomic():
            RecomputeChunk.objects.create(run=run, customer_id_from=id_from, customer_id_to=id_to, customers=len(ids))
            if connection.vendor == "postgresql":
                # Plain inserts into the run's own table, swapped in when the run succeeds. Not
                # waiting for the WAL flush is safe: a crash loses the chunk and its RecomputeChunk
                # row together, and the swap, which makes the rows count, commits durably.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
                copy_insert(columns, ids, into=scores_table(run.pk), as_of=run.as_of, model_version_id=model_version_id)
            else:
                previous = _previous_risks(id_from, id_to, run.as_of)
                metrics_upsert(
                    metrics_rows(columns, ids, as_of=run.as_of, model_version_id=model_version_id, previous=previous)
                )
            RecomputeRun.objects.filter(
                pk=run.pk, status=RecomputeRun.Status.RUNNING, chunks_done__lt=F("chunks_total")
            ).update(chunks_done=F("chunks_done") + 1, customers_scored=F("customers_scored") + len(ids))
    except IntegrityError:
        if RecomputeChunk.objects.filter(run_id=run.pk, customer_id_from=id_from).exists():
            logger.info("metrics.chunk_duplicate run=%s from=%s", run.pk, id_from)
            return 0
        raise
    logger.info("metrics.chunk_scored run=%s from=%s to=%s customers=%d", run.pk, id_from, id_to, len(ids))
    return len(ids)
