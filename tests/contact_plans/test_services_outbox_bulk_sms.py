"""SMS through the outbox's bulk path (contact_plans/messaging/bulk.py): for a chunk covering every
case, the rows written are those the one-message path (``send_template`` -> ``message_enqueue``)
writes, field for field, and the dispatcher then treats both alike (the frequency cap, quiet hours in
the customer's zone); a chunk written twice adds nothing; the plans' runner sends SMS steps this way."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contact_plans.messaging import bulk, dispatch
from contact_plans.messaging.bulk import BulkItem, messages_write_bulk
from contact_plans.messaging.sending import send_template
from contact_plans.models import AddressStatus, ContactPreference, EnrolmentStep, Message
from contact_plans.plans import runner, services
from contact_plans.plans.validation import StepData
from retention_crm import events
from tests.customers.factories import CustomerFactory

from .factories import MessageFactory, MessageTemplateFactory, consenting_customer
from .plan_helpers import build_plan

pytestmark = pytest.mark.django_db

SMS_TEXTS = {
    "en": {"text": "Hi {{ customer.first_name }}, 10% off this week."},
    "id": {"text": "Halo {{ customer.first_name }}, diskon 10% minggu ini."},
    "ms": {"text": "Hai {{ customer.first_name }}, diskaun 10% minggu ini."},
    "ca": {"text": "Hola {{ customer.first_name }}, un 10% de descompte aquesta setmana."},
}
# What a message is, apart from its identity and times (id, source key, Message-ID, created/due).
FIELDS = (
    "channel",
    "purpose",
    "topic",
    "recipient",
    "subject",
    "html",
    "text",
    "mime",
    "language",
    "template_id",
    "state",
    "reason",
    "error",
    "attempts",
    "resent_count",
    "provider_id",
)


def sms_template(purpose="promotional"):
    return MessageTemplateFactory(channel="sms", purpose=purpose, topic="offers", contents=SMS_TEXTS)


def every_case():
    """A customer for each thing the outbox decides about an SMS, by name."""
    now = timezone.now()
    cases = {
        "no_phone": consenting_customer(phone=""),
        "blank_phone": consenting_customer(phone="   "),
        "unreadable_phone": consenting_customer(phone="12", country="GB"),
        "invalid_phone": consenting_customer(phone="07700 900123", country="GB"),  # the demo's fictional range
        "no_consent": CustomerFactory(marketing_consent=False, phone="07911 100001", country="GB"),
        "sms_unsubscribed": consenting_customer(phone="07911 100002", country="United Kingdom"),
        "topic_declined": consenting_customer(phone="07911 100003", country="GB"),
        "email_unsubscribed": consenting_customer(phone="07911 100004", country="GB"),
        "stopped": consenting_customer(phone="+44 7911 100005"),
        "capped": consenting_customer(phone="07911 100006", country="GB"),
        "in_quiet_hours": consenting_customer(phone="07911 100007", country="GB", time_zone="Etc/GMT-6"),
        "too_long": consenting_customer(name="Ż" * 190 + " Nowak", phone="07911 100008", country="GB"),
        "en": consenting_customer(name="Ann Lee", phone="07911 123456", country="GB"),
        "id": consenting_customer(name="Budi Santoso", phone="0812-3456-7890", country="Indonesia", language="id"),
        "ms": consenting_customer(name="Siti Aminah", phone="012-345 6789", country="MY", language="ms"),
        "ca": consenting_customer(name="Marc Puig", phone="612 34 56 78", country="ES", language="ca"),
    }
    ContactPreference.objects.create(customer=cases["sms_unsubscribed"], channel="sms", topic="", subscribed=False)
    ContactPreference.objects.create(customer=cases["topic_declined"], channel="sms", topic="offers", subscribed=False)
    ContactPreference.objects.create(customer=cases["email_unsubscribed"], channel="email", topic="", subscribed=False)
    AddressStatus.objects.create(channel="sms", address="+447911100005", status="stopped")
    for days in (1, 2, 3):  # the cap's worth (3) of promotional messages this week
        MessageFactory(customer=cases["capped"], purpose="promotional", state="sent",
                       sent_at=now - timedelta(days=days))  # fmt: skip
    return cases


def rows(prefix):
    return {
        m["customer_id"]: m
        for m in Message.objects.filter(source_key__startswith=f"{prefix}:").values("customer_id", *FIELDS)
    }


@pytest.mark.parametrize("purpose", ["promotional", "transactional"])
def test_a_chunk_of_every_case_writes_exactly_the_rows_the_one_message_path_writes(purpose, settings, monkeypatch):
    # Quiet hours that are night at UTC+6 and day at UTC now.
    settings.MESSAGING_QUIET_START = (timezone.now().hour + 5) % 24
    settings.MESSAGING_QUIET_END = (timezone.now().hour + 7) % 24
    cases = every_case()
    template = sms_template(purpose)
    published = []
    monkeypatch.setattr(events, "publish", lambda event, **kw: published.append((event.name, kw["customer_id"],
                                                                               kw["reason"])))  # fmt: skip

    for customer in cases.values():
        send_template(template=template, customer=customer, source_key=f"one:{customer.pk}")
    one_events = sorted(published)
    published.clear()
    items = [BulkItem(customer=c, source_key=f"bulk:{c.pk}") for c in cases.values()]
    outcomes = messages_write_bulk(template=template, items=items)
    again = messages_write_bulk(template=template, items=items)  # a chunk run twice

    one, bulk_rows = rows("one"), rows("bulk")
    assert bulk_rows == one
    assert sorted(published) == one_events and one_events  # message.suppressed / .failed, as on the one path
    assert Message.objects.filter(source_key__startswith="bulk:").count() == len(cases)
    assert {k: o.message_id for k, o in again.items()} == {k: o.message_id for k, o in outcomes.items()}
    assert all(o.created for o in outcomes.values()) and not any(o.created for o in again.values())
    # What they are, so that "equal" is not "equally wrong".
    got = {name: (bulk_rows[c.pk]["state"], bulk_rows[c.pk]["reason"]) for name, c in cases.items()}
    promotional = purpose == "promotional"
    assert got == {
        "no_phone": ("suppressed", "no_address"),
        "blank_phone": ("suppressed", "no_address"),
        "unreadable_phone": ("suppressed", "invalid_phone"),
        "invalid_phone": ("suppressed", "invalid_phone"),
        "no_consent": ("suppressed", "no_consent") if promotional else ("queued", ""),
        "sms_unsubscribed": ("suppressed", "unsubscribed") if promotional else ("queued", ""),
        "topic_declined": ("suppressed", "unsubscribed") if promotional else ("queued", ""),
        "email_unsubscribed": ("queued", ""),
        "stopped": ("suppressed", "stopped"),
        "capped": ("queued", ""),
        "in_quiet_hours": ("queued", ""),
        "too_long": ("failed", "too_long"),
        "en": ("queued", ""), "id": ("queued", ""), "ms": ("queued", ""), "ca": ("queued", ""),
    }  # fmt: skip
    assert bulk_rows[cases["stopped"].pk]["recipient"] == "+447911100005"
    assert bulk_rows[cases["id"].pk]["recipient"] == "+6281234567890"
    stop = {"en": "Reply STOP to opt out", "id": "Balas STOP untuk berhenti",
            "ms": "Balas STOP untuk berhenti melanggan", "ca": "Respon STOP per donar-te de baixa"}  # fmt: skip
    for language, line in stop.items():
        text = bulk_rows[cases[language].pk]["text"]
        assert bulk_rows[cases[language].pk]["language"] == language
        assert text.endswith(f"\n{line}") if promotional else "STOP" not in text
    assert bulk_rows[cases["ca"].pk]["text"].startswith("Hola Marc, un 10% de descompte")
    assert bulk_rows[cases["no_phone"].pk]["text"].startswith("Hi ")  # rendered, as the one path renders it

    # The send-time rules treat the two paths' messages alike.
    monkeypatch.undo()
    dispatch.messages_send_batch(message_ids=list(Message.objects.filter(channel="sms").values_list("pk", flat=True)))
    sent = {
        (key.split(":")[0], customer_id): (state, reason, due_at if state == "queued" else None)
        for key, customer_id, state, reason, due_at in Message.objects.filter(channel="sms").values_list(
            "source_key", "customer_id", "state", "reason", "due_at"
        )
    }
    for name, customer in cases.items():
        assert sent[("bulk", customer.pk)][:2] == sent[("one", customer.pk)][:2], name
    capped, quiet = sent[("bulk", cases["capped"].pk)], sent[("bulk", cases["in_quiet_hours"].pk)]
    assert capped[:2] == (("suppressed", "frequency_cap") if promotional else ("sent", ""))
    assert quiet[0] == "queued" and quiet[2] == sent[("one", cases["in_quiet_hours"].pk)][2] > timezone.now()
    assert sent[("bulk", cases["en"].pk)][0] == "sent"


def test_an_sms_chunk_costs_a_fixed_number_of_queries_whatever_its_size():
    template = sms_template()

    def queries(n, prefix):
        customers = [consenting_customer(phone=f"07911 2{prefix}{i:04d}", country="GB") for i in range(n)]
        fresh = type(template).objects.get(pk=template.pk)
        with CaptureQueriesContext(connection) as ctx:
            messages_write_bulk(template=fresh, items=[BulkItem(customer=c, source_key=f"{prefix}:{c.pk}")
                                                       for c in customers])  # fmt: skip
        return len(ctx)

    assert queries(2, "1") == queries(20, "2")
    assert Message.objects.filter(state="queued").count() == 22


def test_an_sms_template_that_cannot_be_rendered_for_a_customer_writes_nothing_for_them():
    broken = MessageTemplateFactory(channel="sms", contents={"en": {"text": "{{ customer.first_name|nope }}"}})
    customer = consenting_customer(phone="")  # suppressed or not, the one path raises before enqueueing

    outcomes = messages_write_bulk(template=broken, items=[BulkItem(customer=customer, source_key="t:1")])

    assert outcomes["t:1"].message_id is None and outcomes["t:1"].error
    assert not Message.objects.exists()


def test_an_sms_step_is_written_through_the_bulk_path_with_the_outboxs_rules_and_once(monkeypatch):
    def one_by_one(*args, **kwargs):
        raise AssertionError("an SMS step took the one-message path")

    monkeypatch.setattr(bulk, "_one_by_one", one_by_one)
    sms = MessageTemplateFactory(channel="sms", purpose="promotional",
                                 contents={"en": {"text": "Hi {{ customer.first_name }}, we miss you"}})  # fmt: skip
    plan = build_plan(steps=[StepData(kind="sms", template=sms)], trigger="manual")
    fine = consenting_customer(name="Ann Lee", phone="07911 123456", country="GB")
    bad = consenting_customer(phone="12", country="GB")
    enrolments = [services.enrolment_create(plan=plan, customer=c) for c in (fine, bad)]

    ran = runner.plan_steps_run(enrolment_ids=[e.pk for e in enrolments])
    again = runner.plan_steps_run(enrolment_ids=[e.pk for e in enrolments])
    outcomes = messages_write_bulk(
        template=sms, items=[BulkItem(customer=fine, source_key=Message.objects.get(customer=fine).source_key)]
    )

    assert (ran, again) == (2, 0)
    got = {m.customer_id: (m.state, m.reason, m.recipient) for m in Message.objects.all()}
    assert got == {fine.pk: ("queued", "", "+447911123456"), bad.pk: ("suppressed", "invalid_phone", "")}
    assert Message.objects.get(customer=fine).text == "Hi Ann, we miss you\nReply STOP to opt out"
    assert [o.created for o in outcomes.values()] == [False]
    runs = EnrolmentStep.objects.all()
    assert {r.outcome for r in runs} == {"message"} and {r.message_id for r in runs} == set(
        Message.objects.values_list("pk", flat=True)
    )
