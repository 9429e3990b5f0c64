"""metrics.services.swap: a PostgreSQL run writes its rows into a table of its own and swaps it in."""

import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from customers.models import Customer
from metrics.models import CustomerMetrics, RecomputeRun
from metrics.services import metrics_recompute, metrics_refresh_customer, swap
from metrics.services import runs as runs_module
from tests.customers.factories import CustomerFactory

from .conftest import SIMULATED_AS_OF, simulate_workspace

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _schema() -> dict:
    """The indexes, constraints and storage options of CustomerMetrics, by name."""
    table = CustomerMetrics._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        indexes = dict(cursor.fetchall())
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint WHERE conrelid = %s::regclass",
            [table],
        )
        constraints = {name: (definition, valid) for name, definition, valid in cursor.fetchall()}
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [table])
        options = cursor.fetchone()[0]
    return {"indexes": indexes, "constraints": constraints, "options": options}


def _run_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE %s", [swap.TABLE_PREFIX + "%"])
        return [name for (name,) in cursor.fetchall()]


def _around_swap(monkeypatch, before):
    """Run `before()` in the run's last moment, just before its table is swapped in, as another
    request would: on its own connection, committed."""
    original = runs_module.scores_swap

    def other_connection():
        try:
            before()
        finally:
            connection.close()

    def swapping(**kwargs):
        thread = threading.Thread(target=other_connection)
        thread.start()
        thread.join()
        original(**kwargs)

    monkeypatch.setattr(runs_module, "scores_swap", swapping)


def test_the_swapped_table_keeps_the_schema_the_migrations_made():
    simulate_workspace(customers=60)
    schema = _schema()
    assert "custmetrics_segment" in schema["indexes"] and schema["options"] == ["fillfactor=70"]

    run = metrics_recompute(as_of=SIMULATED_AS_OF)
    second = metrics_recompute(as_of=SIMULATED_AS_OF + timedelta(days=1))

    assert run.status == second.status == RecomputeRun.Status.SUCCEEDED
    assert _schema() == schema  # names, definitions, validated foreign keys, fillfactor
    assert CustomerMetrics.objects.count() == 60
    assert _run_tables() == []  # the run's table became CustomerMetrics
    # previous_churn_risk carried over from the first run, through the new table
    first_risk = dict(CustomerMetrics.objects.values_list("customer_id", "previous_churn_risk"))
    assert any(risk is not None for risk in first_risk.values())


def test_a_customer_refreshed_while_the_run_ran_keeps_the_refreshed_row(monkeypatch):
    customers = simulate_workspace(customers=40)
    refreshed = customers[0]
    _around_swap(monkeypatch, lambda: metrics_refresh_customer(customer_id=refreshed.pk))

    run = metrics_recompute(as_of=SIMULATED_AS_OF)

    assert run.status == RecomputeRun.Status.SUCCEEDED
    assert CustomerMetrics.objects.get(customer=refreshed).as_of == timezone.localdate()  # the refresh's
    assert set(CustomerMetrics.objects.exclude(customer=refreshed).values_list("as_of", flat=True)) == {SIMULATED_AS_OF}


def test_a_customer_deleted_while_the_run_ran_is_left_out_and_the_keys_stay_valid(monkeypatch):
    simulate_workspace(customers=40)
    gone = CustomerFactory()  # a customer without orders can be deleted (orders protect the others)
    metrics_recompute(as_of=SIMULATED_AS_OF)  # the customer has a row in the old table
    _around_swap(monkeypatch, lambda: Customer.objects.filter(pk=gone.pk).delete())

    run = metrics_recompute(as_of=SIMULATED_AS_OF + timedelta(days=1))

    assert run.status == RecomputeRun.Status.SUCCEEDED, run.message
    assert CustomerMetrics.objects.count() == 40
    assert not CustomerMetrics.objects.filter(customer_id=gone.pk).exists()
    assert all(valid for _definition, valid in _schema()["constraints"].values())


def test_a_failed_swap_fails_the_run_and_keeps_the_previous_rows(monkeypatch, caplog):
    simulate_workspace(customers=30)
    metrics_recompute(as_of=SIMULATED_AS_OF)
    before = dict(CustomerMetrics.objects.values_list("customer_id", "as_of"))

    def broken(cursor, table):
        raise DatabaseError("disk full")

    monkeypatch.setattr(swap, "_grants", broken)  # after the old table was dropped, in the same transaction
    run = metrics_recompute(as_of=SIMULATED_AS_OF + timedelta(days=1))

    assert run.status == RecomputeRun.Status.FAILED
    assert "previous figures are kept" in run.message
    assert dict(CustomerMetrics.objects.values_list("customer_id", "as_of")) == before
    assert "metrics.recompute_swap_failed" in caplog.text


def test_a_failed_runs_table_is_dropped_by_the_next_run(monkeypatch):
    simulate_workspace(customers=30)
    monkeypatch.setattr(runs_module, "scores_swap", lambda **kwargs: (_ for _ in ()).throw(DatabaseError("x")))
    failed = metrics_recompute(as_of=SIMULATED_AS_OF)
    assert failed.status == RecomputeRun.Status.FAILED
    assert _run_tables() == [swap.scores_table(failed.pk)]

    monkeypatch.undo()
    run = metrics_recompute(as_of=SIMULATED_AS_OF)

    assert run.status == RecomputeRun.Status.SUCCEEDED
    assert _run_tables() == []
    assert CustomerMetrics.objects.count() == 30
