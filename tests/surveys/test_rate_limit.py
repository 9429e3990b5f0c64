"""The answer page's rate limit counted in each process and added to the shared count in batches
(surveys/rate_limit.py): one round trip for many answers, the limit still shared and enforced
before the database, and overshot by at most a batch per process."""

import contextlib
import os
import random
import uuid
from unittest import mock

import pytest
from django.core.cache import caches

from surveys import rate_limit

MINUTE = 29_000_000 * 60.0  # a Unix time at the start of a minute


@pytest.fixture
def locmem(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }


@pytest.fixture
def redis_cache(settings):
    if not os.environ.get("TEST_REDIS_URL"):
        pytest.skip("needs TEST_REDIS_URL")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["TEST_REDIS_URL"],
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }


@contextlib.contextmanager
def _frozen_clock(at: float = 1000.0):
    """time.monotonic() stands still: only a full batch sends the counts (the bound's worst case)."""
    clock = mock.Mock(monotonic=mock.Mock(return_value=at))
    with mock.patch.object(rate_limit, "time", clock):
        yield clock.monotonic


class _Process:
    """One gunicorn worker's counts, so that a test can play several processes sharing one cache."""

    def __init__(self):
        self.counts, self.flushed = {}, [0.0]

    def answer(self, address: str, *, limit: int) -> bool:
        with (
            mock.patch.object(rate_limit, "_COUNTS", self.counts),
            mock.patch.object(rate_limit, "_FLUSHED", self.flushed),
        ):
            return rate_limit.answer_over_limit(address, limit=limit, now=MINUTE + 5)


def _shared(address: str) -> int | None:
    return caches["default"].get(f"surveys.answers:{address}:{int(MINUTE // 60)}")


def test_in_one_process_the_limit_is_exact(locmem):
    with _frozen_clock():
        refused = [rate_limit.answer_over_limit("203.0.113.1", limit=100, now=MINUTE + 1) for _ in range(130)]

    assert refused == [False] * 100 + [True] * 30


def test_a_flood_sends_its_count_once_a_batch(redis_cache):
    sent = []
    add = rate_limit._add_on_redis

    def counting(items):
        sent.append(len(items))
        return add(items)

    with _frozen_clock(), mock.patch.object(rate_limit, "_add_on_redis", side_effect=counting):
        refused = [rate_limit.answer_over_limit("203.0.113.2", limit=10_000, now=MINUTE + 1) for _ in range(40)]

    # The first answer (no round trip yet in this process), then every 16th.
    assert not any(refused) and len(sent) == 3
    assert _shared("203.0.113.2") == 33  # the last 7 wait for the next batch or FLUSH_SECONDS


def test_one_round_trip_carries_every_addresses_count_after_flush_seconds(redis_cache):
    sent = []
    add = rate_limit._add_on_redis

    def counting(items):
        sent.append(sorted(key.rsplit(":", 2)[-2] for key, _amount in items))
        return add(items)

    with _frozen_clock() as clock, mock.patch.object(rate_limit, "_add_on_redis", side_effect=counting):
        for address in ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.2"]:
            rate_limit.answer_over_limit(address, limit=20, now=MINUTE + 1)
        clock.return_value += 2 * rate_limit.FLUSH_SECONDS
        rate_limit.answer_over_limit("198.51.100.4", limit=20, now=MINUTE + 2)

    assert sent == [["198.51.100.1"], ["198.51.100.2", "198.51.100.3", "198.51.100.4"]]
    assert [_shared(f"198.51.100.{n}") for n in range(1, 5)] == [1, 2, 1, 1]


def test_near_the_limit_every_answer_is_counted_at_once(locmem):
    # Room for 3 answers: a batch of one, so a second process sees each answer as it is taken.
    first, second = _Process(), _Process()

    with _frozen_clock():
        refused = [process.answer("203.0.113.3", limit=3) for process in [first, second, first, second, first]]

    assert refused == [False, False, False, True, True]
    assert _shared("203.0.113.3") == 5


@pytest.mark.parametrize("processes", [2, 4])
def test_a_flood_from_several_processes_overshoots_by_at_most_a_batch_per_process(locmem, processes):
    limit, attempts = 200, 600
    workers = [_Process() for _ in range(processes)]
    rng = random.Random(processes)

    with _frozen_clock():
        # Adversarial turns: each process floods in long runs while the others hold counts unsent.
        admitted = 0
        for _ in range(attempts // 10):
            worker = rng.choice(workers)
            admitted += sum(not worker.answer("203.0.113.4", limit=limit) for _ in range(10))

    assert limit <= admitted <= limit + processes * (rate_limit.BATCH - 1)


def test_no_answer_is_refused_before_the_limit_whatever_the_processes(locmem):
    workers = [_Process() for _ in range(3)]

    with _frozen_clock():
        refused = [workers[n % 3].answer("203.0.113.5", limit=50) for n in range(50)]

    assert not any(refused)


def test_with_redis_down_answers_are_taken_counted_here_and_the_log_says_so(settings, caplog):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }

    with caplog.at_level("WARNING", logger="surveys.rate_limit"):
        refused = [rate_limit.answer_over_limit("203.0.113.6", limit=3, now=MINUTE + 1) for _ in range(5)]

    # Nothing is lost for want of the shared count; this process's own count still stops a flood.
    assert refused == [False, False, False, True, True]
    assert "surveys.rate_limit_unavailable error=ConnectionError" in caplog.text
    assert "203.0.113.6" not in caplog.text


def test_the_counts_of_past_minutes_are_forgotten(locmem):
    with _frozen_clock() as clock:
        rate_limit.answer_over_limit("203.0.113.7", limit=20, now=MINUTE + 1)
        rate_limit.answer_over_limit("203.0.113.7", limit=20, now=MINUTE + 2)
        clock.return_value += 2 * rate_limit.FLUSH_SECONDS
        rate_limit.answer_over_limit("203.0.113.8", limit=20, now=MINUTE + 61)

    assert list(rate_limit._COUNTS) == [("203.0.113.8", int(MINUTE // 60) + 1)]
