"""Heartbeats of long jobs, so that a job whose worker was killed does not stay "running" for ever.

A running job (an import, a metrics recompute) has a ``heartbeat_at`` column. While its task runs,
``beating`` touches it every HEARTBEAT_SECONDS from a thread of the worker, on a connection of its
own, so the beat goes on through a long transaction (an import's merge) or a long computation (a
model fit) and stops exactly when the process dies. Each app's reaper (a beat task every
REAP_EVERY_MINUTES) marks failed the jobs whose last beat is older than
``settings.JOB_HEARTBEAT_TIMEOUT_MINUTES``, with INTERRUPTED as the reason, and frees what they held.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

# One UPDATE of one row every 30 s costs nothing; the timeout (10 minutes by default) is twenty
# missed beats, so a pause of the worker (a garbage collection, a database failover) is not a death.
HEARTBEAT_SECONDS = 30
# How often the reapers look: a dead job is marked failed within the timeout plus this.
REAP_EVERY_MINUTES = 5

INTERRUPTED = _("Interrupted: the worker stopped before the job finished.")


def stale_before(*, now: datetime | None = None) -> datetime:
    """A running job whose last beat is older than this has lost its worker."""
    return (now or timezone.now()) - timedelta(minutes=settings.JOB_HEARTBEAT_TIMEOUT_MINUTES)


@contextmanager
def beating(model: type[Model], pk, *, running: str = "running") -> Iterator[None]:
    """Touch ``model`` row ``pk``'s ``heartbeat_at`` every HEARTBEAT_SECONDS while the block runs,
    as long as its status is ``running``."""

    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(HEARTBEAT_SECONDS):
                try:
                    model.objects.filter(pk=pk, status=running).update(heartbeat_at=timezone.now())
                except DatabaseError:
                    # A missed beat or two is what the timeout allows for; the next one tries again.
                    logger.warning("heartbeat.missed model=%s id=%s", model._meta.label, pk)
        finally:
            connections.close_all()  # this thread's own connections

    thread = threading.Thread(target=beat, name=f"heartbeat-{model._meta.label_lower}-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
