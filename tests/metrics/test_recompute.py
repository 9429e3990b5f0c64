"""The full recompute: exact figures on hand-built orders, edge cases, chunking, runs and the command."""

import json
import time
from datetime import date, datetime, timedelta
from io import StringIO
from unittest import mock

import pandas as pd
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone, translation

from customers.models import AccountAssignment, Order, OrderLine
from metrics.analytics import NotEnoughData, bgnbd_churn_risk, bgnbd_p_alive, rfm_scores
from metrics.models import METRIC_FIELDS, CustomerMetrics, MetricSnapshot, ModelVersion, RecomputeRun
from metrics.services import chunk_ranges, metrics_recompute, model_params, recompute_run_create
from metrics.services import recompute as recompute_module
from metrics.services.runs import recompute_run_finish
from retention_crm import events
from tests.customers.factories import CustomerFactory, ProductFactory

from .conftest import SIMULATED_AS_OF, at_noon, order_on

pytestmark = pytest.mark.django_db

AS_OF = date(2024, 6, 30)


def _line(order: Order, product, amount) -> None:
    OrderLine.objects.create(order=order, line_number=1, product=product, quantity=1, unit_price=amount, amount=amount)


@pytest.fixture
def book(db):
    """Six customers whose figures are worked out by hand in the tests below."""
    p1, p2 = ProductFactory(), ProductFactory()
    a = CustomerFactory(external_id="A", country="GB")
    _line(order_on(a, "2024-01-10", "100.00"), p1, "100.00")
    order_on(a, "2024-01-10", "20.00")  # same day: one purchase of 120
    _line(order_on(a, "2024-03-10", "50.00"), p2, "50.00")  # a product not in the first basket
    order_on(a, "2024-06-10", "30.00")
    order_on(a, "2024-06-15", "-10.00")  # a refund: revenue, never a purchase
    b = CustomerFactory(external_id="B", country="FR")
    _line(order_on(b, "2023-05-01", "80.00"), p1, "80.00")
    _line(order_on(b, "2024-02-01", "40.00"), p1, "40.00")
    c = CustomerFactory(external_id="C", country="FR")
    order_on(c, "2024-04-01", "-25.00")
    d = CustomerFactory(external_id="D", country="")
    e = CustomerFactory(external_id="E", country="GB")
    order_on(e, "2024-06-29", "60.00")
    order_on(e, "2024-07-05", "500.00")  # after as_of
    f = CustomerFactory(external_id="F", country="GB")
    order_on(f, "2024-05-01", "70.00", status=Order.Status.CANCELLED, net_amount=0)
    return {"A": a, "B": b, "C": c, "D": d, "E": e, "F": f}


def _row(customer) -> CustomerMetrics:
    return CustomerMetrics.objects.get(customer=customer)


def _snapshot(kind: str, scope: str = "") -> dict:
    return MetricSnapshot.objects.get(as_of=AS_OF, kind=kind, scope=scope).data


def test_recompute_gives_the_hand_worked_customer_figures(book):
    run = metrics_recompute(as_of=AS_OF)

    assert run.status == RecomputeRun.Status.SUCCEEDED
    a, b, c, d, e, f = (_row(book[key]) for key in "ABCDEF")
    assert (a.purchases, a.first_purchase, a.last_purchase) == (3, date(2024, 1, 10), date(2024, 6, 10))
    assert (a.recency_days, a.usual_interval_days) == (20, 76.0)
    assert (a.net_revenue, a.revenue_12m) == (190, 190)
    assert (b.purchases, b.recency_days, b.usual_interval_days) == (2, 150, 276.0)
    assert (b.net_revenue, b.revenue_12m) == (120, 40)  # May 2023 is outside the trailing 12 months
    assert (c.purchases, c.net_revenue, c.rfm_segment, c.r_score) == (0, -25, "", None)
    assert (d.purchases, d.net_revenue, d.first_purchase) == (0, 0, None)
    assert (e.purchases, e.net_revenue, e.usual_interval_days) == (1, 60, None)  # the July order is ignored
    assert (f.purchases, f.net_revenue) == (0, 0)  # a cancelled order is no purchase
    assert [(m.r_score, m.f_score, m.m_score, m.rfm_segment) for m in (a, b, e)] == [
        (3, 5, 5, "loyal"),
        (1, 3, 3, "at_risk"),
        (5, 1, 1, "new_customers"),
    ]
    # Pareto: A (190) and E (60) make 94% of the 265 trailing revenue; B is the next 30% of buyers.
    assert [(m.pareto_top, m.value_level) for m in (a, b, c, d, e, f)] == [
        (True, "high"),
        (False, "medium"),
        (False, "low"),
        (False, "low"),
        (True, "high"),
        (False, "low"),
    ]


def test_model_figures_are_the_bgnbd_formulas_with_the_stored_parameters(book):
    run = metrics_recompute(as_of=AS_OF)

    model = run.model_version
    assert model is not None and model.is_current
    params, _ = model_params(model)
    a = _row(book["A"])
    # A: 3 purchase days, the last 152 days after the first, which was 172 days before as_of.
    expected = bgnbd_churn_risk(params, [2], [152], [172], horizon_days=90)[0]
    assert a.churn_risk == pytest.approx(expected, rel=1e-12)
    assert a.p_alive == pytest.approx(bgnbd_p_alive(params, [2], [152], [172])[0], rel=1e-12)
    assert a.model_version == model


def test_summary_snapshot_has_the_hand_worked_rates(book):
    metrics_recompute(as_of=AS_OF)

    summary = _snapshot("summary")
    # May 2024. Active at May 1 (a purchase in Feb 2 - May 1): A only; at June 1: A.
    assert summary["period"] == {"start": "2024-05-01", "end": "2024-06-01"}
    assert (summary["active_at_start"], summary["active_customers"], summary["retention_rate"]) == (1, 1, 1.0)
    assert (summary["churn_rate"], summary["new"], summary["reactivated"]) == (0.0, 0, 0)
    # As of May 31: buyers A and B, both repeat buyers; A bought a new product on Mar 10, B never.
    assert (summary["repeat_purchase_rate"], summary["upsell_rate"]) == (1.0, 0.5)
    assert (summary["avg_clv"], summary["total_clv"]) == (145.0, 290.0)
    assert summary["nrr"] is None  # A bought nothing in the 31 days before May
    # April: active at Apr 1 are A (Mar 10) and B (Feb 1); at May 1 only A.
    previous = summary["previous"]
    assert (previous["active_at_start"], previous["retained"], previous["retention_rate"]) == (2, 1, 0.5)


def test_every_snapshot_is_json_without_nan(book):
    metrics_recompute(as_of=AS_OF)

    kinds = set(MetricSnapshot.objects.filter(scope="").values_list("kind", flat=True))
    assert kinds == set(MetricSnapshot.Kind.values)
    for snapshot in MetricSnapshot.objects.all():
        json.dumps(snapshot.data, allow_nan=False)
    assert {"country:GB", "country:FR"} <= set(MetricSnapshot.objects.values_list("scope", flat=True))
    assert _snapshot("timeseries")["months"][-1] == "2024-05"
    # The first purchase is on 2023-05-01: with W = 90 days, July 2023 is the first month whose
    # end's window leaves it out, so the first whose churn can be seen (not a 100% for lack of data).
    assert _snapshot("timeseries")["months"][0] == "2023-07"
    assert set(_snapshot("periods")["periods"]) >= {"2024-05", "2024-Q1", "2023-Q4", "2023", "2022"}
    cohorts = _snapshot("cohorts")
    assert cohorts["cohorts"][0] == "2023-05" and cohorts["sizes"][0] == 1  # B
    rfm = {row["key"]: row["count"] for row in _snapshot("rfm")["segments"]}
    assert (rfm["loyal"], rfm["at_risk"], rfm["new_customers"], rfm["champions"]) == (1, 1, 1, 0)


def test_manager_scope_uses_the_book_of_each_period(book, alice, bob):
    a = book["A"]
    AccountAssignment.objects.create(
        customer=a, manager=alice, started_at=at_noon("2024-01-01"), ended_at=at_noon("2024-05-15")
    )
    AccountAssignment.objects.create(customer=a, manager=bob, started_at=at_noon("2024-05-15"))

    metrics_recompute(as_of=AS_OF)

    alice_summary, bob_summary = _snapshot("summary", f"manager:{alice.pk}"), _snapshot("summary", f"manager:{bob.pk}")
    # April: A was in Alice's book only. May: A changed hands, so both books had A during the month.
    assert alice_summary["previous"]["active_at_start"] == 1
    assert bob_summary["previous"]["active_at_start"] == 0
    assert bob_summary["previous"]["retention_rate"] is None
    assert alice_summary["active_at_start"] == bob_summary["active_at_start"] == 1
    # On as_of A is Bob's: the as-of snapshots count A in Bob's book only.
    bob_rfm = {row["key"]: row["count"] for row in _snapshot("rfm", f"manager:{bob.pk}")["segments"]}
    alice_rfm = {row["key"]: row["count"] for row in _snapshot("rfm", f"manager:{alice.pk}")["segments"]}
    assert (bob_rfm["loyal"], alice_rfm["loyal"]) == (1, 0)


def test_as_of_in_the_past_uses_only_data_up_to_that_day(book):
    metrics_recompute(as_of=date(2024, 3, 10))

    a = _row(book["A"])
    assert (a.as_of, a.purchases, a.last_purchase, a.net_revenue) == (date(2024, 3, 10), 2, date(2024, 3, 10), 170)
    assert _row(book["E"]).purchases == 0
    assert MetricSnapshot.objects.get(as_of=date(2024, 3, 10), kind="summary", scope="").data["period"]["end"] == (
        "2024-03-01"
    )


def test_workspace_without_orders_succeeds_with_empty_figures(db):
    customer = CustomerFactory()

    run = metrics_recompute(as_of=AS_OF)

    assert run.status == RecomputeRun.Status.SUCCEEDED
    assert "No purchases up to 30 Jun 2024" in run.message
    row = _row(customer)
    assert (row.purchases, row.net_revenue, row.rfm_segment, row.value_level, row.churn_risk) == (0, 0, "", "low", None)
    summary = _snapshot("summary")
    assert (summary["retention_rate"], summary["repeat_purchase_rate"], summary["active_customers"]) == (None, None, 0)
    assert _snapshot("cohorts") == {"cohorts": [], "sizes": [], "matrix": []}
    assert _snapshot("pareto")["top_count"] == 0


def test_workspace_without_customers_succeeds(db):
    run = metrics_recompute(as_of=AS_OF)

    assert run.status == RecomputeRun.Status.SUCCEEDED
    assert run.chunks_total == 0 and run.progress_percent == 100
    assert "No customers yet" in run.message


def test_one_order_workspace_gets_rfm_but_no_model(db):
    customer = CustomerFactory()
    order_on(customer, "2024-06-01", "42.00")

    run = metrics_recompute(as_of=AS_OF)

    assert run.status == RecomputeRun.Status.SUCCEEDED and run.model_version is None
    row = _row(customer)
    assert (row.purchases, row.recency_days, row.net_revenue) == (1, 29, 42)
    assert (row.r_score, row.f_score, row.m_score, row.rfm_segment) == (3, 3, 3, "need_attention")
    assert (row.pareto_top, row.value_level) == (True, "high")


def test_as_of_before_any_order_gives_a_clear_message(book):
    run = metrics_recompute(as_of=date(2020, 1, 1))

    assert run.status == RecomputeRun.Status.SUCCEEDED
    assert "No purchases up to 1 Jan 2020" in run.message
    assert CustomerMetrics.objects.filter(purchases__gt=0).count() == 0


def test_fitted_model_scores_every_buyer_and_becomes_current(simulated):
    run = metrics_recompute(as_of=SIMULATED_AS_OF)

    model = run.model_version
    assert run.status == RecomputeRun.Status.SUCCEEDED and model is not None
    assert model.is_current and model.has_gamma_gamma
    assert model.n_customers == CustomerMetrics.objects.filter(purchases__gt=0).count() == 300
    assert model.backtest_auc is not None and model.backtest_auc >= model.backtest_baseline_auc
    scored = CustomerMetrics.objects.filter(purchases__gt=0)
    assert not scored.filter(churn_risk__isnull=True).exists()
    assert not scored.filter(predicted_clv__isnull=True).exists()
    assert set(scored.values_list("risk_level", flat=True)) <= {"low", "medium", "high"}
    assert run.customers_scored == 300 and run.progress_percent == 100


def test_the_model_records_that_no_buyer_lacks_a_prediction(simulated):
    run = metrics_recompute(as_of=SIMULATED_AS_OF)

    buyers = CustomerMetrics.objects.filter(purchases__gt=0)
    for field in ("p_alive", "churn_risk", "expected_purchases_90d", "expected_spend", "predicted_clv"):
        assert not buyers.filter(**{f"{field}__isnull": True}).exists(), field
    assert run.model_version.prediction_gaps == {"buyers": 300, "missing": {}}
    summary = MetricSnapshot.objects.get(as_of=SIMULATED_AS_OF, kind="summary", scope="").data
    value_risk = MetricSnapshot.objects.get(as_of=SIMULATED_AS_OF, kind="value_risk", scope="").data
    assert summary["buyers_without_predicted_clv"] == 0 and value_risk["buyers_without_clv"] == 0


def test_without_a_spend_model_the_buyers_without_clv_are_counted_with_the_reason(simulated, monkeypatch):
    from metrics.services import recompute

    def no_spend_model(*args, **kwargs):
        raise NotEnoughData("Gamma-Gamma: no repeat buyer with a positive spend to fit", code="no_repeat_spend")

    monkeypatch.setattr(recompute, "gamma_gamma_fit", no_spend_model)

    run = metrics_recompute(as_of=SIMULATED_AS_OF)

    missing = {"no_spend_model": 300}
    assert run.model_version.prediction_gaps == {
        "buyers": 300,
        "missing": {"expected_spend": missing, "predicted_clv": missing},
    }
    summary = MetricSnapshot.objects.get(as_of=SIMULATED_AS_OF, kind="summary", scope="").data
    assert summary["buyers_without_predicted_clv"] == 300 and summary["total_predicted_clv"] is None
    # The model's note is stored as a part and read in each language (issue 13), English kept for the admin.
    assert run.model_version.notes_parts == [
        {"code": "spend_model_not_fitted", "params": {"reason": "no_repeat_spend"}}
    ]
    assert (
        run.model_version.notes
        == "The spend model (Gamma-Gamma) was not fitted: no repeat buyer with a positive spend."
    )
    with translation.override("ms"):
        assert "tiada pembeli berulang" in run.model_version.notes_text


def test_risk_levels_follow_the_thresholds_setting(simulated):
    with override_settings(METRICS_RISK_THRESHOLDS=(0.2, 0.5)):
        metrics_recompute(as_of=SIMULATED_AS_OF)

    for row in CustomerMetrics.objects.filter(purchases__gt=0):
        expected = "low" if row.churn_risk < 0.2 else "medium" if row.churn_risk < 0.5 else "high"
        assert row.risk_level == expected


def test_rfm_scores_equal_the_analytics_core(simulated):
    metrics_recompute(as_of=SIMULATED_AS_OF)

    rows = pd.DataFrame.from_records(
        CustomerMetrics.objects.filter(purchases__gt=0)
        .order_by("customer_id")
        .values("customer_id", "last_purchase", "purchases", "net_revenue", "r_score", "f_score", "m_score")
    ).set_index("customer_id")
    rows["last_purchase"] = pd.to_datetime(rows["last_purchase"])
    rows["net_revenue"] = rows["net_revenue"].astype(float)
    expected = rfm_scores(rows, as_of=pd.Timestamp(SIMULATED_AS_OF))
    assert (rows["r_score"] == expected["r"]).all()
    assert (rows["f_score"] == expected["f"]).all()
    assert (rows["m_score"] == expected["m"]).all()


def _rows_without_timestamps() -> list[dict]:
    fields = ["customer_id", "previous_churn_risk", *(f for f in METRIC_FIELDS if f != "updated_at")]
    return list(CustomerMetrics.objects.order_by("customer_id").values(*fields))


def test_small_chunks_scored_from_their_own_orders_equal_the_in_process_scores(
    simulated, django_capture_on_commit_callbacks
):
    metrics_recompute(as_of=SIMULATED_AS_OF)  # one process: chunks slice the frame scored in memory
    in_process = _rows_without_timestamps()
    CustomerMetrics.objects.all().delete()
    ModelVersion.objects.update(is_current=False)  # the same starting point for both fits

    # As workers do: each chunk loads and scores its own customers (tasks run eagerly here).
    with override_settings(METRICS_SCORE_CHUNK_SIZE=7), django_capture_on_commit_callbacks(execute=True):
        run = metrics_recompute(as_of=SIMULATED_AS_OF, chunks_async=True)

    run.refresh_from_db()
    assert run.status == RecomputeRun.Status.SUCCEEDED
    assert run.chunks_total == run.chunks_done == 43
    by_chunks = _rows_without_timestamps()
    model_ids = {row.pop("model_version") for row in in_process + by_chunks}
    assert len(model_ids) == 2  # two fits, same data
    assert by_chunks == in_process
    assert run.model_version.backtested_at is not None  # its own task, after the chunks


def test_chunk_ranges_cover_every_id_once():
    assert chunk_ranges([5, 1, 9, 3, 7], 2) == [(1, 5), (5, 9), (9, 10)]
    assert chunk_ranges([], 10) == []


def test_previous_churn_risk_is_the_risk_of_the_last_recompute_of_an_earlier_day(simulated):
    metrics_recompute(as_of=SIMULATED_AS_OF - timedelta(days=30))
    before = dict(CustomerMetrics.objects.values_list("customer_id", "churn_risk"))

    metrics_recompute(as_of=SIMULATED_AS_OF)
    metrics_recompute(as_of=SIMULATED_AS_OF)  # a second run the same day keeps the baseline

    after = dict(CustomerMetrics.objects.values_list("customer_id", "previous_churn_risk"))
    assert after == before


def test_a_second_run_waits_while_one_is_running(db):
    running = RecomputeRun.objects.create(as_of=AS_OF, status=RecomputeRun.Status.RUNNING, started_at=timezone.now())
    waiting = RecomputeRun.objects.create(as_of=AS_OF)

    result = metrics_recompute(run_id=waiting.pk)

    assert result.status == RecomputeRun.Status.QUEUED
    running.refresh_from_db()
    assert running.status == RecomputeRun.Status.RUNNING


def test_a_run_running_for_hours_is_failed_so_the_next_can_start(db):
    stale = RecomputeRun.objects.create(
        as_of=AS_OF, status=RecomputeRun.Status.RUNNING, started_at=timezone.now() - timedelta(hours=7)
    )

    run = metrics_recompute(as_of=AS_OF)

    stale.refresh_from_db()
    assert stale.status == RecomputeRun.Status.FAILED and "start it again" in stale.message
    assert run.status == RecomputeRun.Status.SUCCEEDED


def test_a_claimed_run_is_not_run_twice(book):
    run = metrics_recompute(as_of=AS_OF)
    finished_at = run.finished_at

    again = metrics_recompute(run_id=run.pk)

    assert again.status == RecomputeRun.Status.SUCCEEDED and again.finished_at == finished_at


def test_imports_in_a_row_queue_one_recompute(db, django_capture_on_commit_callbacks):
    from metrics.tasks import metrics_recompute_task

    with mock.patch.object(metrics_recompute_task, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            events.publish(events.ORDERS_IMPORTED, job_id="one")
            events.publish(events.CUSTOMERS_IMPORTED, job_id="one")
            events.publish(events.ORDERS_IMPORTED, job_id="two")

    run = RecomputeRun.objects.get()
    assert run.status == RecomputeRun.Status.QUEUED
    delay.assert_called_once_with(run.pk)


def test_the_demo_seed_queues_a_recompute_that_a_worker_would_run(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(events.DEMO_SEEDED)

    # Tests run tasks eagerly: the queued run has already run.
    assert RecomputeRun.objects.get().status == RecomputeRun.Status.SUCCEEDED


def test_recompute_request_returns_the_run_already_waiting(db):
    first = recompute_run_create(as_of=AS_OF, queue=False)

    second = recompute_run_create(as_of=AS_OF, queue=False)
    other_day = recompute_run_create(as_of=AS_OF - timedelta(days=1), queue=False)

    assert second == first and other_day != first


def test_command_recomputes_and_prints_the_model_and_back_test(simulated):
    out = StringIO()

    call_command("recompute_metrics", "--as-of", SIMULATED_AS_OF.isoformat(), "--sync", stdout=out, stderr=StringIO())

    text = out.getvalue()
    assert "Finished: recompute" in text and "300 customers scored" in text
    assert "BG/NBD on 300 customers" in text and "Back-test at 2024-04-01" in text


def _exit_code(*argv: str) -> int:
    """The exit status of `manage.py <argv>` as the shell would see it, run in this process."""
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["manage.py", *argv])
    except SystemExit as exc:
        return 0 if exc.code is None else int(exc.code)
    except Exception:  # a traceback: Python exits with 1
        return 1
    return 0


def test_command_exits_0_after_a_run_whose_back_test_is_missing_figures(simulated, monkeypatch, capsys):
    from metrics.analytics import BacktestResult
    from metrics.services import backtest

    def without_figures(buyers, **kwargs):
        return BacktestResult(
            auc=None, customers=len(buyers), churned=0, predicted_purchases=float("nan"), actual_purchases=0
        )

    monkeypatch.setattr(backtest, "analytics_churn_backtest", without_figures)

    code = _exit_code("recompute_metrics", "--as-of", SIMULATED_AS_OF.isoformat(), "--sync", "--no-progress")

    text = capsys.readouterr().out
    assert code == 0
    assert "Finished: recompute" in text
    assert "vs BG/NBD baseline n/a; predicted n/a purchases" in text


def test_command_refuses_a_future_date(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("recompute_metrics", "--as-of", (timezone.localdate() + timedelta(days=1)).isoformat(), "--sync")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
    reason="SQLite's in-memory test database locks whole tables between the worker thread and this one",
)
def test_recompute_through_a_real_worker_scores_a_group_of_chunks(celery_worker):
    from metrics.tasks import metrics_recompute_task
    from tests.metrics.conftest import simulate_workspace

    simulate_workspace(customers=120)
    run = recompute_run_create(as_of=SIMULATED_AS_OF, queue=False)

    with override_settings(METRICS_SCORE_CHUNK_SIZE=25):
        metrics_recompute_task.delay(run.pk)
        deadline = datetime.now() + timedelta(seconds=120)
        seen = set()
        while datetime.now() < deadline:
            run.refresh_from_db()
            seen.add(run.progress_percent)
            if run.is_finished:
                break
            time.sleep(0.1)

    assert run.status == RecomputeRun.Status.SUCCEEDED, run.message
    assert (run.chunks_total, run.chunks_done, run.customers_scored) == (5, 5, 120)
    assert run.progress_percent == 100 and max(seen) == 100
    assert CustomerMetrics.objects.count() == 120
    assert ModelVersion.objects.get(is_current=True) == run.model_version
    # The back-test is a task of its own, queued with the chunks.
    while (
        datetime.now() < deadline
        and not ModelVersion.objects.filter(pk=run.model_version_id, backtested_at__isnull=False).exists()
    ):
        time.sleep(0.1)
    model = ModelVersion.objects.get(pk=run.model_version_id)
    assert model.backtested_at is not None and model.backtest_auc is not None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_in_one_process_on_postgresql_writes_its_chunks_from_threads():
    from tests.metrics.conftest import simulate_workspace

    simulate_workspace(customers=120)
    with override_settings(METRICS_SCORE_CHUNK_SIZE=25, METRICS_WRITE_THREADS=2):
        with mock.patch("metrics.services.recompute._in_thread", wraps=recompute_module._in_thread) as in_thread:
            run = metrics_recompute(as_of=SIMULATED_AS_OF)

    assert in_thread.call_count == 5
    assert run.status == RecomputeRun.Status.SUCCEEDED, run.message
    assert (run.chunks_total, run.chunks_done, run.customers_scored, run.snapshots_saved) == (5, 5, 120, True)
    assert CustomerMetrics.objects.count() == 120
    assert MetricSnapshot.objects.filter(as_of=SIMULATED_AS_OF, kind="summary", scope="").exists()
    assert ModelVersion.objects.get(is_current=True) == run.model_version
    assert run.model_version.backtested_at is not None


def test_a_run_is_not_done_until_its_snapshots_are_saved(db):
    run = RecomputeRun.objects.create(
        as_of=AS_OF, status=RecomputeRun.Status.RUNNING, started_at=timezone.now(), chunks_total=2, chunks_done=2
    )

    assert recompute_run_finish(run_id=run.pk) is False
    assert run.progress_percent == 70  # the snapshots count as one more chunk of three

    RecomputeRun.objects.filter(pk=run.pk).update(snapshots_saved=True)
    assert recompute_run_finish(run_id=run.pk) is True
    run.refresh_from_db()
    assert run.status == RecomputeRun.Status.SUCCEEDED and run.progress_percent == 100


def test_command_refuses_a_date_before_1970(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="1970-01-01"):
        call_command("recompute_metrics", "--as-of", "1969-12-31", "--sync")

    assert not RecomputeRun.objects.exists()
