"""metrics.forked: a pure function computed in a forked child, with the fallbacks."""

import os
import signal
import time

import pytest
from django.test import override_settings

from metrics.forked import Forked
from metrics.models import MetricSnapshot, ModelVersion, RecomputeRun
from metrics.services import metrics_recompute
from metrics.services import recompute as recompute_module

from .conftest import SIMULATED_AS_OF

PARENT = os.getpid()


def _pid_and(value):
    return os.getpid(), value


def _fails_in_child(value):
    if os.getpid() != PARENT:
        raise ValueError("boom in the child")
    return value


def _dies_in_child(value):
    if os.getpid() != PARENT:
        os._exit(3)  # as an out-of-memory kill would leave it: no result at all
    return value


def _sleeps_in_child(seconds):
    if os.getpid() != PARENT:
        time.sleep(seconds)
        return seconds
    return 0


def _sleeps(seconds):
    time.sleep(seconds)
    return seconds


def test_the_result_is_computed_in_a_child_and_handed_back():
    with Forked(_pid_and, value={"big": list(range(100_000))}) as call:
        assert call.forked
        pid, value = call.result()

    assert pid != PARENT
    assert value == {"big": list(range(100_000))}  # larger than a pipe's buffer


def test_without_fork_the_result_is_computed_here_when_asked():
    with Forked(_pid_and, fork=False, value=1) as call:
        assert not call.forked
        assert call.result() == (PARENT, 1)


def test_a_child_that_raises_is_logged_and_the_work_done_here(caplog):
    with Forked(_fails_in_child, value=7) as call:
        assert call.result() == 7

    assert "metrics.forked_child_failed" in caplog.text
    assert "boom in the child" in caplog.text


def test_a_child_that_dies_without_a_result_is_replaced_by_the_work_done_here(caplog):
    with Forked(_dies_in_child, value=8) as call:
        assert call.result() == 8

    assert "no result (exit status" in caplog.text


def test_a_child_that_does_not_answer_in_time_is_stopped_and_the_work_done_here(caplog):
    with Forked(_sleeps_in_child, seconds=60) as call:
        pid = call._pid
        started = time.monotonic()
        assert call.result(timeout=0.5) == 0  # computed here, where it does not sleep

    assert time.monotonic() - started < 5
    assert "metrics.forked_child_timeout" in caplog.text
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_leaving_without_the_result_stops_and_reaps_the_child():
    with Forked(_sleeps, seconds=60) as call:
        pid = call._pid
    started = time.monotonic()

    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped already: no zombie left behind
    with pytest.raises(ProcessLookupError):
        os.kill(pid, signal.SIG_DFL)
    assert time.monotonic() - started < 5


def _snapshots() -> dict:
    return {(s.kind, s.scope): s.data for s in MetricSnapshot.objects.filter(as_of=SIMULATED_AS_OF)}


@pytest.mark.django_db
def test_a_recompute_forking_its_history_snapshots_saves_what_one_process_saves(simulated, monkeypatch):
    forks = []
    original = recompute_module.Forked

    def recording(*args, **kwargs):
        call = original(*args, **kwargs)
        forks.append(call.forked)
        return call

    monkeypatch.setattr(recompute_module, "Forked", recording)
    with override_settings(METRICS_FORK_MIN_ROWS=None):
        assert metrics_recompute(as_of=SIMULATED_AS_OF).status == RecomputeRun.Status.SUCCEEDED
    in_one_process = _snapshots()
    MetricSnapshot.objects.all().delete()
    ModelVersion.objects.update(is_current=False)  # the same starting point for both fits

    with override_settings(METRICS_FORK_MIN_ROWS=0):
        assert metrics_recompute(as_of=SIMULATED_AS_OF).status == RecomputeRun.Status.SUCCEEDED

    assert forks == [False, True]
    assert _snapshots() == in_one_process
    assert {"summary", "timeseries", "periods", "cohorts", "pareto", "rfm", "value_risk", "clv_distribution"} == {
        kind for kind, _scope in in_one_process
    }
    assert in_one_process[("summary", "")]["avg_predicted_clv"] is not None
