"""Group commit: the writes that a process's threads make at the same moment, done in one statement.

A thread that submits a write while no other is writing becomes the leader: it takes every write
queued so far (its own included), has them done together (``execute``, one statement and one
commit), hands each waiting thread its own result, and returns. Threads that submit meanwhile wait;
when the leader is done, the first of them leads the next batch with everything queued by then. So
a write waits for at most the batch in progress and its own, each request still returns only after
its own write is done, and under load a batch carries what arrived during the one before (one round
trip and one commit to the database for all of them, docs/benchmarks.md). A request that will
probably write says so early (``coming``); a leader waits a little (``WAIT_SECONDS`` at most) for
the writes so announced, which then join its batch instead of each making the next statement.

``execute`` gets the items in the order they were submitted and returns one outcome per item, a
result or an exception (the item's own failure, handed to its thread only). An exception raised by
``execute`` itself reaches every thread of the batch.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

logger = logging.getLogger(__name__)

# A process logs its batch sizes every this many batches (one line in a few seconds at full load).
LOG_EVERY = 10_000
# How long a leader waits at most for the writes announced as coming (``coming``) before it writes
# what is queued: a few answers' work in the process under load, nothing when no other is coming.
WAIT_SECONDS = 0.002


class _Waiter:
    __slots__ = ("item", "outcome", "lead", "done")

    def __init__(self, item):
        self.item, self.outcome, self.lead = item, None, False
        self.done = threading.Event()


class GroupCommit:
    def __init__(self, name: str, execute: Callable[[list], list], *, log_at_exit: bool = False):
        self.name, self._execute = name, execute
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._queue: list[_Waiter] = []
        self._leading = False
        self._coming = 0  # threads that announced a write and have not submitted it (nor given up)
        self._announced = threading.local()
        self.sizes: Counter[int] = Counter()  # batch size -> batches, since the process started
        if log_at_exit:
            atexit.register(self.log)

    @contextlib.contextmanager
    def coming(self):
        """Announces that this thread is about to submit a write (a request that will probably
        write): a leader waits for it, at most WAIT_SECONDS, so that it joins the batch instead of
        making a statement of its own right after. Leaving without submitting withdraws it."""
        with self._lock:
            self._coming += 1
        self._announced.value = True
        try:
            yield
        finally:
            if self._announced.value:
                self._announced.value = False
                with self._lock:
                    self._coming -= 1
                    self._changed.notify()

    def submit(self, item):
        """``item``'s outcome once its batch is done: its result, or its exception raised here."""
        waiter = _Waiter(item)
        announced = getattr(self._announced, "value", False)
        self._announced.value = False
        with self._lock:
            self._queue.append(waiter)
            if announced:
                self._coming -= 1
                self._changed.notify()
            lead = not self._leading
            self._leading = True
        if not lead:
            waiter.done.wait()
            lead = waiter.lead  # the batch before is done and this thread leads the next
        if lead:
            self._lead()
        if isinstance(waiter.outcome, BaseException):
            raise waiter.outcome
        return waiter.outcome

    def _lead(self) -> None:
        with self._lock:
            if self._coming > 0:  # the writes on their way, for a little while
                deadline = time.monotonic() + WAIT_SECONDS
                while self._coming > 0 and (remaining := deadline - time.monotonic()) > 0:
                    self._changed.wait(remaining)
            batch, self._queue = self._queue, []
        try:
            outcomes = self._execute([waiter.item for waiter in batch])
        except BaseException as error:  # noqa: BLE001 - every thread of the batch gets it, raised in its own
            outcomes = [error] * len(batch)
        for waiter, outcome in zip(batch, outcomes, strict=True):
            waiter.outcome = outcome
            waiter.done.set()
        with self._lock:
            if self._queue:
                following = self._queue[0]
                following.lead = True
                following.done.set()
            else:
                self._leading = False
            self.sizes[len(batch)] += 1
            batches = self.sizes.total()
        if batches % LOG_EVERY == 0:
            self.log()

    def log(self) -> None:
        """One line: the batches so far and their sizes (every LOG_EVERY batches, and when the process exits)."""
        batches = self.sizes.total()
        if batches:
            items = sum(size * count for size, count in self.sizes.items())
            logger.info(
                "surveys.group_commit name=%s batches=%s items=%s mean=%.2f sizes=%s",
                self.name, batches, items, items / batches,
                ",".join(f"{size}:{count}" for size, count in sorted(self.sizes.items())),
            )  # fmt: skip
