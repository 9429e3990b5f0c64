"""The full recompute: load (SQL) -> fit and score (metrics.analytics) -> save in bulk.

A run (services.runs) is claimed once, then:

1. load one row per customer and day (CustomerDay, kept up to date as orders arrive), and every
   customer; fork a child process that computes the dashboards' history snapshots from them
   (metrics.forked, analytics.snapshots.history_snapshots) while this process goes on;
2. fit BG/NBD and Gamma-Gamma on the customers with a purchase, starting from the current model ->
   a ModelVersion (none when the data cannot identify the model: the run still succeeds, with
   figures that need no model);
3. compute the population-wide cut points (RFM quintiles, Pareto tier, value level) and score
   every customer (analytics.scoring);
4. write the scores in chunks of SCORE_CHUNK_SIZE ids, each in its own transaction: one Celery task
   each (a group, spread over the workers), or from threads of this process (manage.py
   recompute_metrics --sync); on PostgreSQL into the run's own table (services.swap, services.writes).
   Meanwhile complete the snapshots with the scores and save them. Whichever part finishes last marks
   the run succeeded, swaps the new scores in and makes its ModelVersion current (services.runs);
5. back-test the churn risk at as_of - h on data up to the cut-off only (services.backtest, its own
   task after the scores) -> stored on the ModelVersion.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import numpy as np
import pandas as pd
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from customers.rollups import customer_rollups_drain
from metrics import conf
from metrics.analytics import BgNbdParams, GammaGammaParams, NotEnoughData, bgnbd_fit, gamma_gamma_fit
from metrics.analytics.scoring import (
    NOT_COMPUTABLE,
    PREDICTION_COLUMNS,
    apply_scoring,
    base_figures,
    prediction_gaps,
    scoring_edges,
    sort_daily,
    with_predictions,
)
from metrics.analytics.snapshots import customer_codes, history_snapshots, with_scores
from metrics.forked import Forked
from metrics.models import SEGMENT_KEYS, ModelVersion, RecomputeChunk, RecomputeRun, RfmSegment
from metrics.run_messages import english, part
from metrics.selectors import assignment_frame, customer_daily_frame, customer_frame, customer_upsell_days
from retention_crm import heartbeat

from .backtest import metrics_backtest, metrics_backtest_queue
from .runs import (
    recompute_run_claim,
    recompute_run_create,
    recompute_run_fail,
    recompute_run_finish,
    recompute_run_say,
    recompute_run_step,
)
from .swap import scores_table, scores_table_create
from .writes import copy_insert, frame_columns, metrics_rows, metrics_upsert, previous_risks, snapshots_save

logger = logging.getLogger(__name__)


def metrics_recompute(
    *, as_of: date | None = None, run_id: int | None = None, chunks_async: bool = False
) -> RecomputeRun:
    """Run a recompute: `run_id` (a queued RecomputeRun), or a new run as of `as_of` (default today).

    `chunks_async`: score the chunks as a Celery group (in a worker); otherwise in this process.
    Never raises on bad data: a failure is stored on the run (status failed, message) and logged.
    """
    if run_id is None:
        run_id = recompute_run_create(as_of=as_of, queue=False).pk
    if not recompute_run_claim(run_id=run_id):
        return RecomputeRun.objects.get(pk=run_id)
    started = time.monotonic()
    try:
        with heartbeat.beating(RecomputeRun, run_id):
            _recompute(RecomputeRun.objects.get(pk=run_id), chunks_async=chunks_async)
    except Exception:
        logger.exception("metrics.recompute_failed run=%s", run_id)
        recompute_run_fail(
            run_id=run_id,
            message=[part("failed")],
        )
    run = RecomputeRun.objects.get(pk=run_id)
    logger.info(
        "metrics.recompute_done run=%s status=%s customers=%d seconds=%.1f",
        run.pk,
        run.status,
        run.customers_scored,
        time.monotonic() - started,
    )
    return run


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
        as_of=run.as_of,
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
    ids = customers["customer_id"].to_numpy()
    figures = base_figures(daily, customer_ids=ids, as_of=run.as_of)
    timings.lap("summary")

    recompute_run_step(run_id=run.pk, message=[part("fitting")])
    model_version, bgnbd, gamma_gamma, fit_message = _fit(figures, as_of=run.as_of)
    timings.lap("fit")

    recompute_run_step(run_id=run.pk, message=[part("scoring")])
    figures = with_predictions(figures, bgnbd=bgnbd, gamma_gamma=gamma_gamma, **conf.prediction_settings())
    timings.lap("predict")
    gaps_message = _record_prediction_gaps(run, model_version, figures, spend_model=gamma_gamma is not None)
    scoring = scoring_edges(figures, as_of=run.as_of)
    scored = apply_scoring(figures, scoring, risk_thresholds=conf.RISK_THRESHOLDS)
    timings.lap("score")
    ranges = chunk_ranges(ids, int(conf.SCORE_CHUNK_SIZE))
    buyers = int((figures["purchases"] > 0).sum())
    recompute_run_say(
        run_id=run.pk,
        message=_summary_message(run.as_of, buyers, len(ids), model_version, fit_message) + gaps_message,
        model_version=model_version,
        scoring=scoring,
        chunks_total=len(ranges),
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
            as_of=run.as_of,
            segment_labels={key: str(label) for key, label in RfmSegment.choices},
            segment_keys=SEGMENT_KEYS,
            clv_basis=scoring["value"]["basis"],
        )
        timings.lap("snapshots")
        snapshots_save(run_id=run.pk, as_of=run.as_of, snapshots=snapshots)
        timings.lap("snapshots_save")
    finally:
        if writing is not None:
            writing.wait()
    timings.lap("writes_wait")
    logger.info("metrics.recompute_timings run=%s %s", run.pk, timings)
    if model_version_id is None:
        return
    if chunks_async:
        metrics_backtest_queue(model_version_id=model_version_id)
    else:
        metrics_backtest(model_version_id=model_version_id, daily=daily)


def _record_prediction_gaps(
    run: RecomputeRun, model_version, figures: pd.DataFrame, *, spend_model: bool
) -> list[dict]:
    """Count the buyers left without each prediction on the model (the model-health page shows them)
    and say in the run's message when a figure could not be computed for some of them."""
    if model_version is None:
        return []
    gaps = prediction_gaps(
        {name: figures[name].to_numpy() for name in ("purchases", *PREDICTION_COLUMNS)}, spend_model=spend_model
    )
    ModelVersion.objects.filter(pk=model_version.pk).update(prediction_gaps=gaps)
    failed = max((reasons.get(NOT_COMPUTABLE, 0) for reasons in gaps["missing"].values()), default=0)
    if not failed:
        return []
    logger.warning("metrics.predictions_not_computable run=%s model=%s gaps=%s", run.pk, model_version.pk, gaps)
    return [part("predictions_missing", count=int(failed))]


def _summary_message(as_of: date, buyers: int, customers: int, model_version, fit_message: list[dict]) -> list[dict]:
    """The run's summary as parts of metrics.run_messages (rendered in each reader's language)."""
    if customers == 0:
        return [part("no_customers")]
    if buyers == 0:
        return [part("no_purchases", as_of=as_of.isoformat(), customers=customers)]
    parts = [part("buyers", buyers=buyers, customers=customers, as_of=as_of.isoformat())]
    if model_version is not None:
        parts.append(part("fit_seconds", seconds=model_version.fit_seconds))
    return parts + fit_message


def chunk_ranges(customer_ids: np.ndarray, size: int) -> list[tuple[int, int]]:
    """[id_from, id_to) ranges of at most `size` customers each, covering every id given."""
    ids = np.sort(np.asarray(customer_ids, dtype="int64"))
    if ids.size == 0:
        return []
    starts = ids[::size].tolist()
    ends = starts[1:] + [int(ids[-1]) + 1]
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


# --- Fitting ---------------------------------------------------------------------------------------


def _fit(figures: pd.DataFrame, *, as_of: date) -> tuple[ModelVersion | None, BgNbdParams | None, object, str]:
    buyers = figures[figures["purchases"] > 0]
    # The search starts from the current model: last night's optimum is close to tonight's.
    previous_bgnbd, previous_gamma_gamma = model_params(ModelVersion.objects.filter(is_current=True).first())
    started = time.monotonic()
    try:
        bgnbd = bgnbd_fit(buyers["x"], buyers["t_x"], buyers["T"], unit="D", start=previous_bgnbd)
    except NotEnoughData as exc:
        logger.info("metrics.fit_not_enough_data as_of=%s buyers=%d", as_of, len(buyers))
        return None, None, None, [part("not_enough_history", reason=exc.code)]
    notes, gamma_gamma = [], None
    try:
        gamma_gamma = gamma_gamma_fit(buyers["x"], buyers["monetary_value"], start=previous_gamma_gamma)
        if gamma_gamma.q <= 1:
            notes.append(part("spend_model_no_mean", q=float(gamma_gamma.q)))
            gamma_gamma = None
    except NotEnoughData as exc:
        notes.append(part("spend_model_not_fitted", reason=exc.code))
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
        notes=english(notes),
        notes_parts=notes,
    )
    return model_version, bgnbd, gamma_gamma, [part("no_spend_model")] if gamma_gamma is None else []


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
        with heartbeat.beating(RecomputeRun, run_id):
            count = _score_chunk(run, model_version_id, customer_id_from, customer_id_to, scored)
    except Exception:
        logger.exception("metrics.chunk_failed run=%s from=%s", run_id, customer_id_from)
        recompute_run_fail(run_id=run_id, message=[part("scoring_failed")])
        raise
    recompute_run_finish(run_id=run_id)
    return count


def _chunk_scored(run: RecomputeRun, model_version, id_from: int, id_to: int) -> pd.DataFrame:
    """The scored rows of customers id_from <= id < id_to, computed from their own orders."""
    bgnbd, gamma_gamma = model_params(model_version)
    customers, daily = load_population(as_of=run.as_of, customer_id_from=id_from, customer_id_to=id_to)
    figures = base_figures(daily, customer_ids=customers["customer_id"].to_numpy(), as_of=run.as_of)
    figures = with_predictions(figures, bgnbd=bgnbd, gamma_gamma=gamma_gamma, **conf.prediction_settings())
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
                previous = previous_risks(customer_id_from=id_from, customer_id_to=id_to, as_of=run.as_of)
                metrics_upsert(
                    metrics_rows(columns, ids, as_of=run.as_of, model_version_id=model_version_id, previous=previous)
                )
            RecomputeRun.objects.filter(
                pk=run.pk, status=RecomputeRun.Status.RUNNING, chunks_done__lt=F("chunks_total")
            ).update(
                chunks_done=F("chunks_done") + 1,
                customers_scored=F("customers_scored") + len(ids),
                heartbeat_at=timezone.now(),
            )
    except IntegrityError:
        if RecomputeChunk.objects.filter(run_id=run.pk, customer_id_from=id_from).exists():
            logger.info("metrics.chunk_duplicate run=%s from=%s", run.pk, id_from)
            return 0
        raise
    logger.info("metrics.chunk_scored run=%s from=%s to=%s customers=%d", run.pk, id_from, id_to, len(ids))
    return len(ids)
