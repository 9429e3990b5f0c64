"""The event dispatcher: declared names only, declared payloads only, handlers after commit."""

import pytest
from django.db import transaction

from retention_crm import events

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def received():
    calls = []

    def handler(**payload):
        calls.append(payload)

    events.subscribe(events.ORDER_PLACED)(handler)
    yield calls
    events._handlers[events.ORDER_PLACED.name].remove(handler)


def test_publish_refuses_an_undeclared_name():
    with pytest.raises(events.UnknownEvent, match="order.shipped"):
        events.publish("order.shipped", order_id=1)


def test_subscribe_refuses_an_undeclared_name():
    with pytest.raises(events.UnknownEvent):
        events.subscribe("orders.placed")


def test_publish_refuses_a_payload_other_than_declared():
    with pytest.raises(TypeError, match="customer_id"):
        events.publish(events.ORDER_PLACED, order_id=1)


def test_a_declared_name_resolves_to_its_event(received):
    with transaction.atomic():
        events.publish("order.placed", order_id=1, customer_id=2)

    assert received == [{"order_id": 1, "customer_id": 2}]


def test_handlers_run_after_commit_and_not_after_rollback(received):
    with transaction.atomic():
        events.publish(events.ORDER_PLACED, order_id=1, customer_id=2)
        assert received == []

    try:
        with transaction.atomic():
            events.publish(events.ORDER_PLACED, order_id=3, customer_id=4)
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass

    assert received == [{"order_id": 1, "customer_id": 2}]


def test_a_failing_handler_does_not_stop_the_others(received):
    def broken(**payload):
        raise ValueError("boom")

    events._handlers[events.ORDER_PLACED.name].insert(0, broken)
    try:
        with transaction.atomic():
            events.publish(events.ORDER_PLACED, order_id=1, customer_id=2)
    finally:
        events._handlers[events.ORDER_PLACED.name].remove(broken)

    assert received == [{"order_id": 1, "customer_id": 2}]


def test_every_declared_event_has_a_payload_tuple_and_a_publisher():
    for event in events.declared():
        assert isinstance(event.payload, tuple)
        assert event.publisher and event.description
