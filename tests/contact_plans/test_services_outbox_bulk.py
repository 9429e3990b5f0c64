"""The outbox's bulk path (contact_plans/messaging/bulk.py), shared by campaigns and the contact plans'
step runner: the outbox's rules decided in SQL, per-language and personalised rendering, tracked
links, idempotence on the source key; and the plan runner writing a chunk's messages with it."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contact_plans.messaging import links
from contact_plans.messaging.bulk import BulkItem, messages_write_bulk
from contact_plans.messaging.unsubscribe import token_make
from contact_plans.models import AddressStatus, ContactPreference, EnrolmentStep, Message
from contact_plans.plans import runner, services
from contact_plans.plans.validation import StepData
from tests.customers.factories import CustomerFactory

from .campaign_helpers import newsletter_template
from .factories import MessageTemplateFactory, consenting_customer
from .plan_helpers import build_plan

pytestmark = pytest.mark.django_db

PERSONAL = {
    "en": {"subject": "Hi {{ customer.first_name }}", "html": "<p>Hello {{ customer.name }}</p>"},
    "id": {"subject": "Halo {{ customer.first_name }}", "html": "<p>Apa kabar {{ customer.name }}</p>"},
}


def token_of(customer) -> str:
    """The signed part that names the customer (the timestamp after it changes every second)."""
    return token_make(customer.pk).split(":")[0] + ":"


def items_for(*customers, prefix="t"):
    return [BulkItem(customer=c, source_key=f"{prefix}:{c.pk}") for c in customers]


def test_a_chunk_written_twice_adds_nothing_and_answers_the_same_messages():
    customers = [consenting_customer() for _ in range(3)]
    template = newsletter_template()

    first = messages_write_bulk(template=template, items=items_for(*customers))
    again = messages_write_bulk(template=template, items=items_for(*customers))

    assert Message.objects.count() == 3
    assert all(o.created and o.state == "queued" for o in first.values())
    assert {k: o.message_id for k, o in again.items()} == {k: o.message_id for k, o in first.items()}
    assert not any(o.created for o in again.values())


def test_a_promotional_template_is_refused_to_customers_without_consent_with_the_outboxs_reasons():
    no_consent = CustomerFactory(marketing_consent=False)
    bounced, declined, general_no, fine = (consenting_customer() for _ in range(4))
    no_email = consenting_customer(email="")
    AddressStatus.objects.create(channel="email", address=bounced.email.lower(), status="complained")
    ContactPreference.objects.create(customer=declined, channel="email", topic="news", subscribed=False)
    ContactPreference.objects.create(customer=general_no, channel="email", topic="", subscribed=False)

    outcomes = messages_write_bulk(
        template=newsletter_template(), items=items_for(no_consent, bounced, declined, general_no, no_email, fine)
    )

    assert {int(key.split(":")[1]): (o.state, o.reason) for key, o in outcomes.items()} == {
        no_consent.pk: ("suppressed", "no_consent"),
        bounced.pk: ("suppressed", "complained"),
        declined.pk: ("suppressed", "unsubscribed"),
        general_no.pk: ("suppressed", "unsubscribed"),
        no_email.pk: ("suppressed", "no_address"),
        fine.pk: ("queued", ""),
    }
    suppressed = Message.objects.filter(state="suppressed")
    assert suppressed.count() == 5 and not suppressed.exclude(html="").exists()


def test_a_transactional_template_needs_no_consent_but_respects_a_bounced_address():
    no_consent, bounced = CustomerFactory(marketing_consent=False), CustomerFactory(email="Gone@Example.com")
    AddressStatus.objects.create(channel="email", address="gone@example.com", status="bounced")
    template = MessageTemplateFactory(purpose="transactional")

    outcomes = messages_write_bulk(template=template, items=items_for(no_consent, bounced))

    assert outcomes[f"t:{no_consent.pk}"].state == "queued"
    assert (outcomes[f"t:{bounced.pk}"].state, outcomes[f"t:{bounced.pk}"].reason) == ("suppressed", "bounced")
    assert Message.objects.get(customer=no_consent).recipient == no_consent.email.lower()


def test_a_newsletter_is_rendered_once_per_language_with_each_customers_own_unsubscribe_link():
    ann, bea, cat = consenting_customer(), consenting_customer(), consenting_customer(language="ca")

    messages_write_bulk(template=newsletter_template(), items=items_for(ann, bea, cat))

    by_customer = {m.customer_id: m for m in Message.objects.all()}
    assert by_customer[cat.pk].subject == "Les nostres notícies" and by_customer[cat.pk].language == "ca"
    assert by_customer[ann.pk].subject == "Our news" and by_customer[ann.pk].language == "en"
    for customer in (ann, bea, cat):
        message = by_customer[customer.pk]
        assert f"/m/u/{token_of(customer)}" in message.html and f"/m/u/{token_of(customer)}" in message.text
    assert f"/m/u/{token_of(bea)}" not in by_customer[ann.pk].html


def test_a_personalised_template_is_rendered_per_customer_in_their_language_or_the_fallback():
    ann = consenting_customer(name="Ann Lee")
    budi = consenting_customer(name="Budi Santoso", language="id")
    marc = consenting_customer(name="Marc <b>Puig</b>", language="ca")  # no Catalan text: English
    template = MessageTemplateFactory(contents=PERSONAL)

    messages_write_bulk(template=template, items=items_for(ann, budi, marc))

    got = {m.customer_id: (m.language, m.subject, m.html) for m in Message.objects.all()}
    assert got[ann.pk] == ("en", "Hi Ann", "<p>Hello Ann Lee</p>")
    assert got[budi.pk] == ("id", "Halo Budi", "<p>Apa kabar Budi Santoso</p>")
    assert got[marc.pk] == ("en", "Hi Marc", "<p>Hello Marc &lt;b&gt;Puig&lt;/b&gt;</p>")


def test_links_are_tracked_per_message_except_the_unsubscribe_ones_and_not_when_switched_off(settings):
    ann, bea = consenting_customer(), consenting_customer()

    messages_write_bulk(template=newsletter_template(), items=items_for(ann, bea))
    messages_write_bulk(template=newsletter_template(), items=items_for(ann, prefix="off"), track_links=False)

    tracked = Message.objects.get(source_key=f"t:{ann.pk}")
    token = tracked.html.split("/r/")[1].split("/")[0]
    assert links.link_read(token) == (tracked.message_id, "https://shop.example/news?a=1&b=2")
    assert "https://shop.example/news" not in tracked.html and "/r/" in tracked.text
    assert f"/m/u/{token_of(ann)}" in tracked.html  # the unsubscribe link stays as it is
    other = Message.objects.get(source_key=f"t:{bea.pk}")
    assert other.message_id != tracked.message_id and other.html.split("/r/")[1] != tracked.html.split("/r/")[1]
    untracked = Message.objects.get(source_key=f"off:{ann.pk}")
    assert "https://shop.example/news?a=1&amp;b=2" in untracked.html and "/r/" not in untracked.html


def test_a_template_that_cannot_be_rendered_for_a_customer_writes_nothing_for_them():
    broken = MessageTemplateFactory(contents={"en": {"subject": "Hi", "html": "<p>{{ customer.first_name|nope }}</p>"}})
    customer = CustomerFactory()

    outcomes = messages_write_bulk(template=broken, items=items_for(customer))

    assert outcomes[f"t:{customer.pk}"].message_id is None and outcomes[f"t:{customer.pk}"].error
    assert not Message.objects.exists()


def test_a_chunk_costs_a_fixed_number_of_queries_whatever_its_size():
    template = newsletter_template()

    def queries(n, prefix):
        customers = [consenting_customer() for _ in range(n)]
        template.refresh_from_db()
        with CaptureQueriesContext(connection) as ctx:
            messages_write_bulk(template=template, items=items_for(*customers, prefix=prefix))
        return len(ctx)

    assert queries(2, "a") == queries(20, "b")


def _columns(message: Message) -> dict:
    """A message's columns but those that differ between two messages of one customer by nature."""
    row = {f.attname: getattr(message, f.attname) for f in Message._meta.concrete_fields}
    for name in ("id", "source_key", "message_id", "created_at", "updated_at"):
        row.pop(name)
    row["mime"] = bytes(row["mime"])
    return row


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY straight into the outbox is PostgreSQL's path")
def test_the_direct_copy_writes_what_the_staged_insert_writes_even_for_awkward_texts(monkeypatch):
    from contact_plans.messaging import bulk

    awkward = consenting_customer(name="O\\Brien\\N\tTab\r\nLine \\N <&> é", language="id")
    quiet = consenting_customer(name="No Address", email="")  # suppressed: no text, a reason
    template = MessageTemplateFactory(contents=PERSONAL)

    due = timezone.now() + timedelta(hours=1)

    def items(prefix):
        return [BulkItem(customer=c, source_key=f"{prefix}:{c.pk}", due_at=due) for c in (awkward, quiet)]

    messages_write_bulk(template=template, items=items("direct"))
    monkeypatch.setattr(bulk, "_copied", lambda template, rows: None)  # as on a conflict: staged
    messages_write_bulk(template=template, items=items("staged"))

    for customer in (awkward, quiet):
        direct = Message.objects.get(source_key=f"direct:{customer.pk}")
        staged = Message.objects.get(source_key=f"staged:{customer.pk}")
        assert _columns(direct) == _columns(staged)
        assert direct.created_at == direct.updated_at and direct.mime is not None
    direct = Message.objects.get(source_key=f"direct:{awkward.pk}")
    assert direct.subject == "Halo O\\Brien\\N"
    assert direct.html == "<p>Apa kabar O\\Brien\\N\tTab\r\nLine \\N &lt;&amp;&gt; é</p>"
    assert Message.objects.get(source_key=f"direct:{quiet.pk}").reason == "no_address"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY straight into the outbox is PostgreSQL's path")
def test_a_key_written_by_another_worker_meanwhile_falls_back_and_keeps_their_message(monkeypatch):
    from contact_plans.messaging import bulk
    from tests.contact_plans.factories import MessageFactory

    ann, bea = consenting_customer(), consenting_customer()
    template = newsletter_template()
    theirs = {}
    copied = bulk._copied

    def another_worker_first(template, rows):
        # After _write looked for the keys, before its COPY: the other worker's message under ann's key.
        theirs["message"] = MessageFactory(customer=ann, source_key=f"t:{ann.pk}")
        return copied(template, rows)

    monkeypatch.setattr(bulk, "_copied", another_worker_first)

    outcomes = messages_write_bulk(template=template, items=items_for(ann, bea))

    assert outcomes[f"t:{ann.pk}"].message_id == theirs["message"].pk and not outcomes[f"t:{ann.pk}"].created
    assert outcomes[f"t:{bea.pk}"].created and outcomes[f"t:{bea.pk}"].state == "queued"
    assert Message.objects.filter(source_key=f"t:{ann.pk}").count() == 1
    assert Message.objects.get(source_key=f"t:{bea.pk}").pk == outcomes[f"t:{bea.pk}"].message_id
    assert Message.objects.count() == 2


# --- The plan runner through it ------------------------------------------------------------------


def test_the_runner_writes_a_chunks_first_messages_in_one_go_and_advances_each_enrolment():
    template = MessageTemplateFactory(purpose="promotional", contents=PERSONAL)
    plan = build_plan(
        steps=[StepData(kind="email", template=template), StepData(kind="email", template=template, delay_days=3)],
        trigger="manual",
    )
    consenting = [consenting_customer(name=f"Cust {i}", language="id" if i % 2 else "en") for i in range(6)]
    enrolments = [services.enrolment_create(plan=plan, customer=c) for c in consenting]
    step = plan.steps.get(position=1)

    ran = runner.plan_steps_run(enrolment_ids=[e.pk for e in enrolments])
    again = runner.plan_steps_run(enrolment_ids=[e.pk for e in enrolments])  # a task delivered twice

    assert (ran, again) == (6, 0)
    messages = Message.objects.order_by("customer_id")
    assert [m.source_key for m in messages] == [
        f"plan:{plan.pk}:step:{step.pk}:enrolment:{e.pk}" for e in sorted(enrolments, key=lambda e: e.customer_id)
    ]
    assert {m.subject for m in messages} == {"Hi Cust", "Halo Cust"} and {m.state for m in messages} == {"queued"}
    runs = EnrolmentStep.objects.filter(step=step)
    assert runs.count() == 6 and {r.outcome for r in runs} == {"message"}
    assert {r.message_id for r in runs} == set(messages.values_list("pk", flat=True))
    for enrolment in enrolments:
        enrolment.refresh_from_db()
        assert (enrolment.state, enrolment.next_position) == ("active", 2)


def test_a_step_run_already_recorded_is_kept_and_the_rest_of_the_chunk_is_written():
    template = MessageTemplateFactory(purpose="promotional", contents=PERSONAL)
    plan = build_plan(steps=[StepData(kind="email", template=template)], trigger="manual")
    enrolments = [services.enrolment_create(plan=plan, customer=consenting_customer()) for _ in range(3)]
    step = plan.steps.get()
    # As after the plan's steps were edited back and forth: the first enrolment ran this step before.
    earlier = EnrolmentStep.objects.create(
        enrolment=enrolments[0], step=step, outcome="skipped_conditions", at=timezone.now() - timedelta(days=9)
    )

    ran = runner.plan_steps_run(enrolment_ids=[e.pk for e in enrolments])

    assert ran == 3
    runs = {r.enrolment_id: r for r in EnrolmentStep.objects.filter(step=step)}
    assert len(runs) == 3 and runs[enrolments[0].pk].pk == earlier.pk
    assert runs[enrolments[0].pk].outcome == "skipped_conditions"
    assert {runs[e.pk].outcome for e in enrolments[1:]} == {"message"}
    assert all(runs[e.pk].message_id for e in enrolments[1:])
    for enrolment in enrolments:
        enrolment.refresh_from_db()
        assert enrolment.state == "ended"


def test_the_runner_checks_conditions_before_writing_and_records_the_outboxs_refusal():
    template = MessageTemplateFactory(purpose="promotional", contents=PERSONAL)
    plan = build_plan(steps=[StepData(kind="email", template=template, unless_purchased=True)], trigger="manual")
    bought, withdrew, fine = consenting_customer(), consenting_customer(), consenting_customer()
    enrolments = {c.pk: services.enrolment_create(plan=plan, customer=c) for c in (bought, withdrew, fine)}
    from .plan_helpers import purchase

    purchase(bought, days_ago=0)
    for enrolment in enrolments.values():  # bought after enrolling
        type(enrolment).objects.filter(pk=enrolment.pk).update(enrolled_at=timezone.now() - timedelta(hours=1))
    type(withdrew).objects.filter(pk=withdrew.pk).update(marketing_consent=False)

    runner.plan_steps_run(enrolment_ids=[e.pk for e in enrolments.values()])

    outcome = {r.enrolment.customer_id: r.outcome for r in EnrolmentStep.objects.select_related("enrolment")}
    assert outcome == {bought.pk: "skipped_conditions", withdrew.pk: "message", fine.pk: "message"}
    states = dict(Message.objects.values_list("customer_id", "reason"))
    assert states == {withdrew.pk: "no_consent", fine.pk: ""}


def test_placeholders_read_in_bulk_give_what_a_single_send_gives_in_each_language():
    from contact_plans.messaging.rendering import render_message

    from .worklist_helpers import metrics_for

    contents = {
        language: {
            "subject": "{{ customer.first_name }} {{ metrics.purchases }}",
            "html": "<p>{{ metrics.clv }} · {{ metrics.value_level }} · {{ metrics.last_purchase }}</p>"
            "{% for p in recommended_products %}<i>{{ p.name }}</i>{% endfor %}",
        }
        for language in ("en", "ca")
    }
    template = MessageTemplateFactory(contents=contents)
    ann, marc, new = consenting_customer(), consenting_customer(language="ca"), consenting_customer(language="ca")
    metrics_for(ann, value="high", net_revenue="1234.50", purchases=7)
    metrics_for(marc, value="medium", net_revenue="1234.50", purchases=2)

    messages_write_bulk(template=template, items=items_for(ann, marc, new))

    for customer in (ann, marc, new):
        single = render_message(template, customer)
        message = Message.objects.get(customer=customer)
        assert (message.subject, message.html) == (single.subject, single.html)
    assert "1.234,50" in Message.objects.get(customer=marc).html  # money in the message's language
    assert "1,234.50" in Message.objects.get(customer=ann).html


def test_a_personalised_chunk_reads_its_placeholders_in_a_fixed_number_of_queries():
    from .worklist_helpers import metrics_for

    template = MessageTemplateFactory(
        contents={"en": {"subject": "Hi {{ customer.first_name }}", "html": "<p>{{ metrics.purchases }}</p>"}}
    )

    def queries(n, prefix):
        customers = [consenting_customer() for _ in range(n)]
        for customer in customers:
            metrics_for(customer)
        fresh = type(template).objects.get(pk=template.pk)
        with CaptureQueriesContext(connection) as ctx:
            messages_write_bulk(template=fresh, items=items_for(*customers, prefix=prefix))
        return len(ctx)

    assert queries(2, "a") == queries(12, "b")


def test_the_runner_turns_the_cycle_collector_back_on_after_a_chunk_even_a_failing_one(monkeypatch):
    import gc

    monkeypatch.setattr(runner, "_steps_by_plan", lambda plan_ids: 1 / 0)
    plan = build_plan()
    customer = consenting_customer()
    services.enrolment_create(plan=plan, customer=customer)

    with pytest.raises(ZeroDivisionError):
        runner.plan_steps_run(
            enrolment_ids=list(plan.enrolments.values_list("pk", flat=True)), now=timezone.now() + timedelta(days=30)
        )

    assert gc.isenabled()
