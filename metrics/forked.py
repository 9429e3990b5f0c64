"""Run a pure function in a forked child process while this process goes on with other work.

The recompute fits and scores in its own process while a child computes the dashboards' history
snapshots from the same arrays, which it inherits by fork (copy on write: nothing is copied or
pickled on the way in). The result comes back pickled through a pipe. This is how a two-core
worker uses both cores for one run without a second task reloading every order.

The child only computes: it never touches the database (it shares the parent's connection socket)
and leaves with os._exit, so that no finaliser of the parent's objects runs in it. Where fork is
unavailable (Windows) or not worth it, the function runs in this process when the result is asked
for; a child that fails or dies is logged and its work done here instead, so a run never depends
on the child.

Unlike multiprocessing, a bare fork also works inside a Celery prefork worker, whose processes are
daemonic and may not start multiprocessing children.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import signal
import time
import traceback
from collections.abc import Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A child that has not answered after this long is taken for stuck (a lock held by another thread at
# the fork) and its work is done in the parent; at a million customers it needs about ten seconds.
DEFAULT_TIMEOUT = 1800.0


class Forked(Generic[T]):
    """`fn(**kwargs)`, in a child process when `fork` (and the platform can), else here on result().
    `nice`: how much lower the child's scheduling priority is than this process's.

    Use as a context manager, so that a child whose result is never asked for (the parent failed
    first) is stopped and reaped::

        with Forked(history_snapshots, fork=True, daily=daily, ...) as history:
            ...  # other work, in parallel
            snapshots = history.result()
    """

    def __init__(self, fn: Callable[..., T], /, *, fork: bool = True, nice: int = 0, **kwargs):
        self._fn, self._kwargs, self._nice = fn, kwargs, nice
        self._pid: int | None = None
        self._read_fd: int | None = None
        if fork and hasattr(os, "fork"):
            self._start()

    @property
    def forked(self) -> bool:
        return self._pid is not None

    def _start(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            logger.warning("metrics.fork_failed fn=%s", self._fn.__name__, exc_info=True)
            os.close(read_fd)
            os.close(write_fd)
            return
        if pid == 0:  # the child: compute, hand the result over, leave without cleanup
            os.close(read_fd)
            _child(self._fn, self._kwargs, write_fd, self._nice)
        os.close(write_fd)
        self._pid, self._read_fd = pid, read_fd

    def result(self, timeout: float = DEFAULT_TIMEOUT) -> T:
        """The function's result; computed here when there is no child, or the child failed or had
        not answered `timeout` seconds after it was asked."""
        if self._pid is None:
            return self._fn(**self._kwargs)
        payload = self._read(timeout)
        if payload is None:  # still at work after `timeout` seconds: stuck, as a fork can leave a lock
            logger.warning("metrics.forked_child_timeout fn=%s seconds=%s", self._fn.__name__, timeout)
            self.close()
            return self._fn(**self._kwargs)
        status = self._reap()
        try:
            ok, value = pickle.loads(payload)
        except Exception:
            ok, value = False, f"no result (exit status {status})"
        if ok:
            return value
        logger.warning("metrics.forked_child_failed fn=%s; computing here instead:\n%s", self._fn.__name__, value)
        return self._fn(**self._kwargs)

    def _read(self, timeout: float) -> bytes | None:
        """Everything the child writes until it closes the pipe; None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        chunks = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._read_fd], [], [], remaining)[0]:
                return None
            chunk = os.read(self._read_fd, 1 << 20)
            if not chunk:
                os.close(self._read_fd)
                self._read_fd = None
                return b"".join(chunks)
            chunks.append(chunk)

    def _reap(self) -> int | None:
        pid, self._pid = self._pid, None
        try:
            return os.waitpid(pid, 0)[1]
        except ChildProcessError:  # already reaped (SIGCHLD ignored by the host process)
            return None

    def close(self) -> None:
        """Stop a child whose result was not collected."""
        if self._read_fd is not None:
            os.close(self._read_fd)
            self._read_fd = None
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()

    def __enter__(self) -> Forked[T]:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _child(fn: Callable, kwargs: dict, write_fd: int, nice: int) -> None:
    status = 1
    try:
        try:
            if nice:
                os.nice(nice)
            payload = pickle.dumps((True, fn(**kwargs)), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:
            payload = pickle.dumps((False, traceback.format_exc()))
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
        status = 0
    finally:
        os._exit(status)
