"""The answer page's rate limit: answers a minute from one client address, shared by every process
through the cache (Redis in production), enforced before the database is touched.

Each process counts the answers of each (address, minute) in memory and adds its counts to the
shared count in batches: one round trip carries every address's count, made by the request that
finds a batch full (``BATCH`` answers of one address) or the last one ``FLUSH_SECONDS`` old, and
reads the shared totals back. A process judges an answer on the shared total it last read plus what
it has counted since. Near the limit the batch shrinks to one (``_batch``), so the count is then
sent with every answer, as if there were no batching.

The bound: a process admits at most ``batch - 1`` answers of an address on a shared total it has not
refreshed, so with P processes an address gets at most ``limit + P * (BATCH - 1)`` answers through in
a minute, and far fewer in practice (the batch is at most a ``SPREAD``-th of the room left under the
limit; tests/surveys/test_rate_limit.py holds the bound). A refused answer counts too, as before.

When the shared count cannot be reached (Redis restarted or down) the answer is taken (it matters
more than the count), the log says so without the address, and the process keeps its own counts,
which it adds later and which still refuse a flood that reaches the limit in this process alone.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

# Answers of one address a process counts before adding them to the shared count: one round trip
# in 16 under a flood from one address (a benchmark's, a NAT's), instead of one per answer.
BATCH = 16
# Every process adds its counts at least this often while answers arrive: the shared count is
# never more than a few answers behind for anyone, and one round trip carries every address's count.
FLUSH_SECONDS = 0.05
# The room left under the limit is shared among this many processes (2 gunicorn workers in
# production, with room to spare): the batch is at most a SPREAD-th of it, and one near the limit.
SPREAD = 4
# The shared count's key lives a second longer than its minute.
WINDOW_SECONDS = 61

_LOCK = threading.Lock()
# (address, minute) -> [shared total last read, counted here and not yet sent, being sent]
_COUNTS: dict[tuple[str, int], list[int]] = {}
_FLUSHED = [0.0]  # time.monotonic() of the last round trip (a list: changed under _LOCK)


def counts_reset() -> None:
    """Forgets this process's counts (tests; a new cache)."""
    with _LOCK:
        _COUNTS.clear()
        _FLUSHED[0] = 0.0


def _batch(limit: int, shared: int) -> int:
    return max(1, min(BATCH, (limit - shared) // SPREAD))


def answer_over_limit(address: str, *, limit: int, now: float) -> bool:
    """Counts one answer from ``address`` at ``now`` (a Unix time); True when it is over the limit of
    its minute, as far as this process knows (the module's docstring: how far that may lag)."""
    key = (address, int(now // 60))
    with _LOCK:
        count = _COUNTS.get(key)
        if count is None:
            count = _COUNTS[key] = [0, 0, 0]
        count[1] += 1
        clock = time.monotonic()
        due = count[1] >= _batch(limit, count[0]) or clock - _FLUSHED[0] >= FLUSH_SECONDS
        if not due:
            return sum(count) > limit
        taken = _take(minute=key[1])
        _FLUSHED[0] = clock
    try:
        totals = _add_to_shared(taken)
    except Exception as error:  # noqa: BLE001 - the cache is down: the answer matters more than the count
        logger.warning("surveys.rate_limit_unavailable error=%s", type(error).__name__)
        with _LOCK:
            for taken_key, amount in taken.items():
                if (kept := _COUNTS.get(taken_key)) is not None:
                    kept[2] -= amount
                    kept[1] += amount  # sent again with the next round trip
            return sum(count) > limit
    with _LOCK:
        for taken_key, total in totals.items():
            if (kept := _COUNTS.get(taken_key)) is not None:
                kept[2] -= taken[taken_key]
                kept[0] = max(kept[0], total)
        return sum(count) > limit


def _take(*, minute: int) -> dict[tuple[str, int], int]:
    """Every count not yet sent, marked as being sent; the counts of past minutes forgotten (under _LOCK)."""
    taken = {}
    for key in list(_COUNTS):
        count = _COUNTS[key]
        if key[1] < minute:
            del _COUNTS[key]
        elif count[1]:
            taken[key] = count[1]
            count[2] += count[1]
            count[1] = 0
    return taken


def _cache_key(key: tuple[str, int]) -> str:
    return f"surveys.answers:{key[0]}:{key[1]}"


def _add_to_shared(taken: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
    """Adds each count to its shared total; returns the totals. On Redis one round trip for all."""
    keys = list(taken)
    totals = _add_on_redis([(_cache_key(key), taken[key]) for key in keys])
    if totals is None:
        totals = []
        for key in keys:
            cache.add(_cache_key(key), 0, timeout=WINDOW_SECONDS)
            try:
                totals.append(cache.incr(_cache_key(key), taken[key]))
            except ValueError:  # expired between the two
                cache.set(_cache_key(key), taken[key], timeout=WINDOW_SECONDS)
                totals.append(taken[key])
    return dict(zip(keys, totals, strict=True))


# On Redis: a script (the count and its expiry one atomic step), pipelined for every key in one
# round trip, sent on a connection of each thread's own, made once with the cache's connection
# settings and kept: checking a connection out of redis-py's pool and back costs, for every command,
# a poll of the socket and the pool's bookkeeping, three times the command's own work in the process
# (docs/benchmarks.md). On any failure of that connection (Redis restarted, the script flushed, a
# timeout) it is dropped and the commands go the pool's way, which reconnects and loads the script (a
# connection lost after Redis counted counts those answers twice: stricter, never laxer). The script
# object (with its client) is made once per process: Django's cache would make a new client on every call.
_COUNT_SCRIPT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
_REDIS_SCRIPTS: dict[int, object] = {}
_REDIS_CONNECTIONS = threading.local()


def _add_on_redis(items: list[tuple[str, int]]) -> list[int] | None:
    """The shared totals after adding each (key, amount), in one round trip; None when the cache is not Redis."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    items = [(backend.make_and_validate_key(key), amount) for key, amount in items]
    script = _REDIS_SCRIPTS.get(id(backend._cache))
    if script is None:
        client = backend._cache.get_client(items[0][0], write=True)
        # EVALSHA, and EVAL when Redis does not know the script (restarted, flushed).
        script = _REDIS_SCRIPTS[id(backend._cache)] = client.register_script(_COUNT_SCRIPT)
    own = getattr(_REDIS_CONNECTIONS, "connection", None)
    if own is not None and own[0] is script:
        connection = own[1]
        try:
            commands = [("EVALSHA", script.sha, 1, key, WINDOW_SECONDS, amount) for key, amount in items]
            connection.send_packed_command(connection.pack_commands(commands))
            return [int(connection.read_response()) for _ in commands]
        except Exception:  # noqa: BLE001 - whatever it was, the pool's way below says it again or works
            connection.disconnect()
            _REDIS_CONNECTIONS.connection = None
    pipeline = script.registered_client.pipeline(transaction=False)
    for key, amount in items:
        script(keys=[key], args=[WINDOW_SECONDS, amount], client=pipeline)
    totals = [int(total) for total in pipeline.execute()]
    pool = script.registered_client.connection_pool
    # The pool's settings, outside its books (it neither counts nor hands out this one).
    _REDIS_CONNECTIONS.connection = (script, pool.connection_class(**pool.connection_kwargs))
    return totals
