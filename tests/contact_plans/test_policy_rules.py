"""The send-time suppression rules are one table (policy.SUPPRESSION_RULES) read three ways: at
enqueue (``suppression_reason``), by the worker just before each message (``BatchRules``) and as
SQL over a claimed batch (``suppression_sql``, in ``dispatch._suppress_batch``). Every combination
of the facts they read (the address's status, the purpose, consent, the preference centre) gives
the same reason on the three paths, and the reasons are the ones docs/messaging.md promises."""

import itertools

import pytest

from contact_plans.messaging import dispatch, policy
from contact_plans.models import AddressStatus, ContactPreference, Message
from tests.contact_plans.factories import MessageFactory, consenting_customer
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ADDRESS = [None, "bounced", "complained", "stopped", "bounced-on-the-other-channel"]
PREFERENCE = [None, "channel", "this-topic", "other-topic", "other-channel"]
COMBINATIONS = list(
    itertools.product(["email", "sms"], ADDRESS, PREFERENCE, ["transactional", "promotional"], [True, False])
)


def _message(channel, address, preference, purpose, consent):
    customer = consenting_customer() if consent else CustomerFactory(marketing_consent=False)
    other = "sms" if channel == "email" else "email"
    recipient = customer.email if channel == "email" else f"+4420794601{customer.pk % 100:02d}"
    message = MessageFactory(customer=customer, channel=channel, recipient=recipient, purpose=purpose, topic="offers")
    if address == "bounced-on-the-other-channel":
        AddressStatus.objects.create(channel=other, address=recipient, status="bounced")
    elif address:
        AddressStatus.objects.create(channel=channel, address=recipient, status=address)
    if preference:
        ContactPreference.objects.create(
            customer=customer,
            channel=other if preference == "other-channel" else channel,
            topic={"this-topic": "offers", "other-topic": "news"}.get(preference, ""),
            subscribed=False,
        )
    return message


def _reasons(message):
    customer = message.customer
    at_enqueue = policy.suppression_reason(
        customer=customer,
        channel=message.channel,
        purpose=message.purpose,
        topic=message.topic,
        recipient=message.recipient,
    )
    before_sending = policy.BatchRules([message]).reason(message, customer)
    claimed, lease_until = dispatch.messages_claim(message_ids=[message.pk])
    assert claimed == [message.pk]
    dispatch._suppress_batch(claimed, lease_until)
    row = Message.objects.get(pk=message.pk)
    in_sql = row.reason if row.state == "suppressed" else ""
    assert row.state in ("suppressed", "sending")
    return at_enqueue, before_sending, in_sql


@pytest.mark.parametrize(("channel", "address", "preference", "purpose", "consent"), COMBINATIONS)
def test_the_three_paths_of_the_rules_never_disagree(channel, address, preference, purpose, consent):
    message = _message(channel, address, preference, purpose, consent)

    at_enqueue, before_sending, in_sql = _reasons(message)

    assert at_enqueue == before_sending == in_sql


@pytest.mark.parametrize(
    ("address", "preference", "purpose", "consent", "reason"),
    [
        (None, None, "promotional", True, ""),
        ("bounced", None, "transactional", True, "bounced"),
        ("complained", "channel", "promotional", False, "complained"),
        ("stopped", None, "transactional", False, "stopped"),
        (None, "channel", "promotional", False, "no_consent"),
        (None, "channel", "promotional", True, "unsubscribed"),
        (None, "this-topic", "promotional", True, "unsubscribed"),
        (None, "other-topic", "promotional", True, ""),
        (None, "channel", "transactional", False, ""),
        ("bounced-on-the-other-channel", None, "transactional", True, ""),
    ],
)
def test_each_rule_gives_its_reason_in_its_order(address, preference, purpose, consent, reason):
    message = _message("email", address, preference, purpose, consent)

    assert _reasons(message) == (reason, reason, reason)


def test_every_address_status_has_its_rule_and_every_rule_a_reason():
    reasons = [rule.reason for rule in policy.SUPPRESSION_RULES]
    assert len(set(reasons)) == len(reasons)
    assert set(reasons) <= set(Message.Reason.values)
    blocking = {rule.fact.status for rule in policy.SUPPRESSION_RULES if isinstance(rule.fact, policy._AddressIs)}
    assert blocking == set(AddressStatus.Status.values)
    assert set(reasons) == {"bounced", "complained", "stopped", "no_consent", "unsubscribed"}
