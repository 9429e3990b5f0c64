"""The one mechanism through which apps react to each other, and the list of every event.

Each event is declared once below, with the payload it carries (ids and small primitives, never
personal data). An app publishes a declared event (``events.publish(events.ORDER_PLACED,
order_id=1, customer_id=2)``); other apps subscribe in their ``reactions.py``, connected from
their ``AppConfig.ready()``. The publisher never imports a subscriber, so ``customers`` stays free
of the other apps. ``publish`` and ``subscribe`` refuse an event that is not declared here, and
``publish`` refuses a payload that differs from the declaration.

Handlers run after the surrounding transaction commits (so they never see rows that are rolled
back) and in the publishing process: a handler may queue a Celery task directly, without another
``transaction.on_commit``. A failing handler is logged and does not break the publisher or the
other handlers. docs/architecture.md has the table of these declarations.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

logger = logging.getLogger(__name__)

Handler = Callable[..., None]


class UnknownEvent(LookupError):
    """An event name that is not declared in this module."""


@dataclass(frozen=True)
class Event:
    name: str
    payload: tuple[str, ...]
    publisher: str
    description: str

    def __str__(self) -> str:
        return self.name


_declared: dict[str, Event] = {}
_handlers: dict[str, list[Handler]] = defaultdict(list)


def declare(name: str, payload: tuple[str, ...], *, publisher: str, description: str) -> Event:
    event = Event(name, payload, publisher, description)
    _declared[name] = event
    return event


def declared() -> list[Event]:
    return list(_declared.values())


def _resolve(event: Event | str) -> Event:
    name = event.name if isinstance(event, Event) else event
    try:
        return _declared[name]
    except KeyError:
        raise UnknownEvent(f"event {name!r} is not declared in retention_crm/events.py") from None


# --- customers -------------------------------------------------------------------------------
CUSTOMER_CREATED = declare(
    "customer.created", ("customer_id",), publisher="customers", description="A customer was added."
)
CUSTOMER_UPDATED = declare(
    "customer.updated",
    ("customer_id",),
    publisher="customers",
    description="A customer's profile changed (published only when a field really changed).",
)
CUSTOMER_ARCHIVED = declare(
    "customer.archived", ("customer_id",), publisher="customers", description="A customer was archived."
)
CUSTOMER_REASSIGNED = declare(
    "customer.reassigned",
    ("customer_id", "manager_id"),
    publisher="customers",
    description="A customer moved to another account manager (None: unassigned); history in AccountAssignment.",
)
ORDER_PLACED = declare(
    "order.placed", ("order_id", "customer_id"), publisher="customers", description="An order was recorded."
)
ORDER_CHANGED = declare(
    "order.changed",
    ("order_id", "customer_id"),
    publisher="customers",
    description="An order was changed (a refund recorded against it, a status change).",
)
INTERACTION_LOGGED = declare(
    "interaction.logged",
    ("interaction_id", "customer_id", "kind"),
    publisher="customers",
    description="A call, meeting, email, note or complaint was logged.",
)
INTERACTION_RESOLVED = declare(
    "interaction.resolved",
    ("interaction_id", "customer_id"),
    publisher="customers",
    description="A complaint, support contact or review was resolved.",
)
INTERACTION_STATUS_CHANGED = declare(
    "interaction.status_changed",
    ("interaction_id", "customer_id", "status"),
    publisher="customers",
    description=(
        "A case (complaint, support contact, review) changed status: open, in_progress or resolved "
        "(a resolution publishes interaction.resolved too)."
    ),
)
CUSTOMERS_IMPORTED = declare(
    "customers.imported",
    ("job_id",),
    publisher="customers (import runner)",
    description="An import job wrote customers: customers.selectors.import_job_customers(job_id) are those it "
    "created or changed (docs/architecture.md).",
)
ORDERS_IMPORTED = declare(
    "orders.imported",
    ("job_id",),
    publisher="customers (import runner)",
    description="An import job wrote orders: customers.selectors.import_job_orders(job_id) are those it created "
    "or changed (docs/architecture.md).",
)
DEMO_SEEDED = declare("demo.seeded", (), publisher="customers (seed_demo)", description="The demo data was loaded.")

# --- metrics ---------------------------------------------------------------------------------
METRICS_RECOMPUTED = declare(
    "metrics.recomputed",
    ("run_id",),
    publisher="metrics",
    description="A full recompute succeeded and its scores are in place.",
)
METRICS_CUSTOMER_REFRESHED = declare(
    "metrics.customer_refreshed",
    ("customer_id",),
    publisher="metrics",
    description="One customer's scores were refreshed (after one of their orders changed).",
)

# --- segmentation ----------------------------------------------------------------------------
SEGMENT_REFRESHED = declare(
    "segment.refreshed",
    ("segment_id", "entered_count", "exited_count", "refreshed_at"),
    publisher="segmentation",
    description="A segment's members were refreshed; entries and exits are SegmentEvent rows at refreshed_at.",
)

# --- contact_plans ---------------------------------------------------------------------------
FOLLOWUP_SCHEDULED = declare(
    "followup.scheduled",
    ("followup_id", "customer_id"),
    publisher="contact_plans",
    description="A follow-up was planned.",
)
FOLLOWUP_COMPLETED = declare(
    "followup.completed", ("followup_id", "customer_id"), publisher="contact_plans", description="A follow-up was done."
)
FOLLOWUP_CANCELLED = declare(
    "followup.cancelled",
    ("followup_id", "customer_id"),
    publisher="contact_plans",
    description="A follow-up was cancelled.",
)

# --- contact_plans: messaging (contact_plans/messaging; docs/messaging.md) -----------------
MESSAGE_SENT = declare(
    "message.sent",
    ("message_id", "customer_id"),
    publisher="contact_plans (messaging)",
    description="The mail server or SMS provider accepted a message of the outbox.",
)
MESSAGE_FAILED = declare(
    "message.failed",
    ("message_id", "customer_id", "reason"),
    publisher="contact_plans (messaging)",
    description="A message will not be sent: refused, too long, or its retries ran out (reason: Message.Reason).",
)
MESSAGE_SUPPRESSED = declare(
    "message.suppressed",
    ("message_id", "customer_id", "reason"),
    publisher="contact_plans (messaging)",
    description="A message was withheld on purpose: no consent, unsubscribed, bounced, frequency cap... "
    "(reason: Message.Reason).",
)
CUSTOMER_UNSUBSCRIBED = declare(
    "customer.unsubscribed",
    ("customer_id", "channel", "topic"),
    publisher="contact_plans (messaging)",
    description='A customer declined a channel (topic "") or one topic: a link, the preference centre, STOP, the API.',
)

# --- surveys -----------------------------------------------------------------------------------
SURVEY_ANSWERED = declare(
    "survey.answered",
    ("response_id", "customer_id", "answered_at"),
    publisher="surveys",
    description="A customer answered a survey or changed their answer (response_id: the response's UUID; "
    "answered_at: when, ISO 8601, since the event follows within a minute). Employees' answers publish nothing.",
)


def subscribe(event: Event | str) -> Callable[[Handler], Handler]:
    """Register a handler of a declared event (a decorator); registering twice keeps one."""
    name = _resolve(event).name

    def register(handler: Handler) -> Handler:
        if handler not in _handlers[name]:
            _handlers[name].append(handler)
        return handler

    return register


def subscribers(event: Event | str) -> list[Handler]:
    return list(_handlers[_resolve(event).name])


def publish(event: Event | str, **payload: object) -> None:
    """Call every subscriber of ``event`` once the current transaction commits."""
    declared_event = _resolve(event)
    if set(payload) != set(declared_event.payload):
        raise TypeError(
            f"event {declared_event.name!r} carries {sorted(declared_event.payload)}, not {sorted(payload)}"
        )
    transaction.on_commit(lambda: _dispatch(declared_event.name, payload))


def _dispatch(name: str, payload: dict) -> None:
    for handler in list(_handlers[name]):
        try:
            handler(**payload)
        except Exception:
            # Ids only in the log line: payloads carry ids, never personal data.
            logger.exception("events.handler_failed event=%s handler=%s", name, handler.__qualname__)


def markdown_table() -> str:
    """The table of every declared event, as docs/architecture.md shows it (a test keeps them equal)."""
    lines = ["| event | payload | published by | when |", "|---|---|---|---|"]
    for event in declared():
        payload = ", ".join(f"`{name}`" for name in event.payload) or "none"
        lines.append(f"| `{event.name}` | {payload} | {event.publisher} | {event.description} |")
    return "\n".join(lines)
