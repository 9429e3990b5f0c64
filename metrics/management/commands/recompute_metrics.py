"""manage.py recompute_metrics [--as-of YYYY-MM-DD] [--sync]: the recompute the nightly task runs."""

import math
import sys
import threading
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from metrics.models import RecomputeRun
from metrics.services import metrics_recompute, recompute_run_create
from retention_crm import dates

# How often the progress bar (and, without --sync, the wait for the worker) polls the run.
POLL_SECONDS = 0.5


class Command(BaseCommand):
    help = "Recompute every metric, customer score and dashboard snapshot as of a date (default: today)."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=date.fromisoformat, help="YYYY-MM-DD; only data up to that day is used.")
        parser.add_argument(
            "--sync", action="store_true", help="Run here, chunks one after the other, instead of in a worker."
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not draw the progress bar.")

    def handle(self, *args, as_of=None, sync=False, no_progress=False, **options):
        if as_of and as_of > timezone.localdate():
            raise CommandError("--as-of cannot be in the future.")
        if as_of and as_of < dates.EARLIEST:
            raise CommandError(f"--as-of cannot be before {dates.EARLIEST.isoformat()}.")
        run = recompute_run_create(as_of=as_of, queue=not sync)
        done = threading.Event()
        if not no_progress and sys.stderr.isatty():
            threading.Thread(target=self._draw_progress, args=(run.pk, done), daemon=True).start()
        try:
            if sync:
                run = metrics_recompute(run_id=run.pk)
                if run.status == RecomputeRun.Status.QUEUED:
                    raise CommandError("Another recompute is running; this one waits in the queue for a worker.")
            else:
                self.stderr.write(
                    f"Recompute {run.pk} queued; waiting for a worker (Ctrl-C stops waiting, not the run)."
                )
                while not run.is_finished:
                    time.sleep(POLL_SECONDS)
                    run.refresh_from_db()
        finally:
            done.set()
        self._report(run)
        if run.status == RecomputeRun.Status.FAILED:
            raise CommandError(run.message)

    def _draw_progress(self, run_id, done: threading.Event) -> None:
        # A separate thread has its own database connection, so it sees the committed progress.
        from django.db import connection

        try:
            while not done.wait(POLL_SECONDS):
                run = RecomputeRun.objects.get(pk=run_id)
                width = 40
                filled = int(width * run.progress_percent / 100)
                sys.stderr.write(
                    f"\r[{'#' * filled}{'.' * (width - filled)}] {run.progress_percent:3d}%  "
                    f"{run.customers_scored:,} customers  {run.message[:40]:<40}"
                )
                sys.stderr.flush()
        finally:
            sys.stderr.write("\n")
            connection.close()

    def _report(self, run: RecomputeRun) -> None:
        """What the run did, every figure through _figure: a model or back-test can lack any of them."""
        self.stdout.write(
            f"{run.get_status_display()}: recompute {run.pk} as of {run.as_of}, "
            f"{_figure(run.customers_scored, ',')} customers scored in {_figure(run.chunks_done)} chunk(s)."
        )
        if run.message:
            self.stdout.write(run.message)
        model = run.model_version
        if model is None:
            self.stdout.write("No purchase model (see the message above).")
            return
        self.stdout.write(
            f"BG/NBD on {_figure(model.n_customers, ',')} customers: r={_figure(model.bgnbd_r, '.4g')} "
            f"alpha={_figure(model.bgnbd_alpha, '.4g')} a={_figure(model.bgnbd_a, '.4g')} "
            f"b={_figure(model.bgnbd_b, '.4g')} LL={_figure(model.bgnbd_log_likelihood, '.1f')} "
            f"({_figure(model.fit_seconds, '.1f')} s)"
        )
        if model.has_gamma_gamma:
            self.stdout.write(
                f"Gamma-Gamma: p={_figure(model.gg_p, '.4g')} q={_figure(model.gg_q, '.4g')} "
                f"gamma={_figure(model.gg_gamma, '.4g')} LL={_figure(model.gg_log_likelihood, '.1f')}"
            )
        for figure, reasons in sorted((model.prediction_gaps or {}).get("missing", {}).items()):
            counts = ", ".join(f"{_figure(count, ',')} {reason}" for reason, count in sorted(reasons.items()))
            self.stdout.write(f"Buyers without {figure}: {counts}.")
        if model.backtested_at is None and model.backtest_cutoff is None:
            self.stdout.write("Back-test: queued for a worker.")
        elif model.backtest_cutoff is None:
            self.stdout.write("Back-test: not enough data before the cut-off.")
        else:
            self.stdout.write(
                f"Back-test at {model.backtest_cutoff} (+{_figure(model.backtest_horizon_days)} days, "
                f"{_figure(model.backtest_customers, ',')} customers): AUC {_figure(model.backtest_auc, '.4f')} "
                f"vs BG/NBD baseline {_figure(model.backtest_baseline_auc, '.4f')}; predicted "
                f"{_figure(model.backtest_predicted_purchases, ',.0f')} purchases, actual "
                f"{_figure(model.backtest_actual_purchases, ',')}."
            )


def _figure(value, spec: str = "") -> str:
    """`value` formatted with `spec`, or "n/a" when the run has no such figure (None, NaN)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return format(value, spec)
