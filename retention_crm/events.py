"""The one mechanism through which apps react to each other.

An app publishes a named event with primitive ids (``events.publish("order.placed",
order_id=1, customer_id=2)``); other apps subscribe in their ``AppConfig.ready()``. The
publisher never imports a subscriber, so ``customers`` stays free of the other apps.

Handlers run after the surrounding transaction commits (so they never see rows that are
rolled back) and in the publishing process; a handler with heavy work queues a Celery task.
A failing handler is logged and does not break the publisher or the other handlers.

Event names in use are listed in docs/architecture.md.
"""

import logging
from collections import defaultdict
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

Handler = Callable[..., None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(event: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if handler not in _handlers[event]:
            _handlers[event].append(handler)
        return handler

    return register


def subscribers(event: str) -> list[Handler]:
    return list(_handlers[event])


def publish(event: str, **payload: object) -> None:
    """Call every subscriber of ``event`` once the current transaction commits."""
    transaction.on_commit(lambda: _dispatch(event, payload))


def _dispatch(event: str, payload: dict) -> None:
    for handler in subscribers(event):
        try:
            handler(**payload)
        except Exception:
            # Ids only in the log line: payloads carry ids, never personal data.
            logger.exception("events.handler_failed event=%s handler=%s", event, handler.__qualname__)
