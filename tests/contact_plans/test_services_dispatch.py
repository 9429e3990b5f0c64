"""Sending the outbox through a real SMTP server on 127.0.0.1: claims, leases, answers, retries."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contact_plans.messaging import dispatch, outbox
from contact_plans.messaging.channels import PermanentFailure
from contact_plans.messaging.channels.email import email_prepare
from contact_plans.models import AddressStatus, Message
from customers.models import Customer
from tests.contact_plans.factories import MessageFactory, consenting_customer
from tests.contact_plans.mailserver import MailServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail_server(settings):
    server = MailServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 1
    settings.PUBLIC_BASE_URL = "https://crm.example.com"
    # Quiet hours that never apply, unless a test sets them.
    settings.MESSAGING_QUIET_START = settings.MESSAGING_QUIET_END = 0
    yield server
    server.stop()


def _ids(*messages):
    return [m.pk for m in messages]


def _prepared(messages):
    """The bytes message_enqueue prepares for an email (the factory's rows have none): with them the
    worker takes its SMTP path, MAIL and RCPT overlapping the hand-over's statement."""
    for message in messages:
        message.mime = email_prepare(
            to=message.recipient, subject=message.subject, html=message.html, text=message.text,
            message_id=message.message_id,
        )  # fmt: skip
        message.save(update_fields=["mime"])
    return messages


def test_a_batch_is_sent_over_one_connection_and_marked_sent(mail_server):
    messages = MessageFactory.create_batch(3)

    outcome = dispatch.messages_send_batch(message_ids=_ids(*messages))

    assert outcome["sent"] == 3
    assert mail_server.connections == 1
    assert sorted(mail_server.message_ids()) == sorted(m.message_id for m in messages)
    for message in Message.objects.all():
        assert (message.state, message.attempts, message.resent_count) == ("sent", 1, 0)
        assert message.sent_at is not None and message.lease_until is None and message.handed_at is None


def test_a_promotional_email_carries_one_click_unsubscribe_headers(mail_server):
    message = MessageFactory(customer=consenting_customer(), purpose="promotional")

    dispatch.messages_send_batch(message_ids=[message.pk])

    received = mail_server.received[0].message
    assert received["List-Unsubscribe"].strip().startswith("<https://crm.example.com/m/u/")
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received["Message-ID"] == message.message_id


def test_a_transactional_email_has_no_unsubscribe_header(mail_server):
    message = MessageFactory()

    dispatch.messages_send_batch(message_ids=[message.pk])

    assert mail_server.received[0].message["List-Unsubscribe"] is None


def test_a_refused_recipient_fails_with_the_servers_answer_and_the_batch_goes_on(mail_server):
    refused, accepted = MessageFactory(), MessageFactory()
    mail_server.refuse_recipients[refused.recipient] = "550 5.1.1 No such user"

    dispatch.messages_send_batch(message_ids=_ids(refused, accepted))

    refused.refresh_from_db()
    assert (refused.state, refused.reason) == ("failed", "rejected")
    assert "550" in refused.error and "No such user" in refused.error
    assert Message.objects.get(pk=accepted.pk).state == "sent"


def test_a_temporary_refusal_is_retried_later_with_backoff_then_fails(mail_server, settings):
    settings.MESSAGING_MAX_ATTEMPTS = 2
    message = MessageFactory()
    mail_server.behaviour = lambda number, received: "451 4.3.0 Try again later"

    dispatch.messages_send_batch(message_ids=[message.pk])

    message.refresh_from_db()
    assert (message.state, message.attempts) == ("queued", 1)
    assert message.due_at > timezone.now() + timedelta(seconds=settings.MESSAGING_RETRY_BASE_SECONDS - 5)
    assert "451" in message.error

    Message.objects.filter(pk=message.pk).update(due_at=timezone.now())
    dispatch.messages_send_batch(message_ids=[message.pk])

    message.refresh_from_db()
    assert (message.state, message.reason, message.attempts) == ("failed", "retries_exhausted", 2)


def test_a_connection_closed_mid_batch_retries_that_message_and_requeues_the_rest(mail_server):
    messages = MessageFactory.create_batch(4)
    mail_server.behaviour = lambda number, received: "drop" if number == 2 else "250 OK"

    outcome = dispatch.messages_send_batch(message_ids=_ids(*messages))

    states = [Message.objects.get(pk=m.pk) for m in messages]
    assert [m.state for m in states] == ["sent", "queued", "queued", "queued"]
    assert [m.attempts for m in states] == [1, 1, 0, 0]
    assert states[1].due_at > timezone.now()
    assert states[2].due_at <= timezone.now()
    assert outcome["lost"] == 1


def test_a_server_that_stalls_past_the_timeout_is_a_temporary_failure(mail_server):
    mail_server.stall_seconds = 3
    message, other = MessageFactory(), MessageFactory()
    mail_server.behaviour = lambda number, received: "stall"

    dispatch.messages_send_batch(message_ids=_ids(message, other))

    message.refresh_from_db()
    assert (message.state, message.attempts) == ("queued", 1)
    assert "time" in message.error
    assert Message.objects.get(pk=other.pk).attempts == 0


def test_no_server_at_all_leaves_the_messages_queued(settings, mail_server):
    settings.EMAIL_PORT = 1  # nothing listens there
    message = MessageFactory()

    dispatch.messages_send_batch(message_ids=[message.pk])

    message.refresh_from_db()
    assert message.state == "queued" and message.error


def test_a_claimed_message_is_not_claimed_again_while_its_lease_runs(mail_server):
    message = MessageFactory()

    first, _lease = dispatch.messages_claim(message_ids=[message.pk])
    second, _lease = dispatch.messages_claim(message_ids=[message.pk])

    assert (first, second) == ([message.pk], [])


def test_a_message_in_doubt_is_resent_with_the_same_message_id_after_its_lease(mail_server):
    # A worker handed it to the server and was killed before it recorded the answer.
    message = MessageFactory(
        state="sending", lease_until=timezone.now() - timedelta(seconds=1), handed_at=timezone.now(), attempts=1
    )

    dispatch.messages_send_batch(message_ids=[message.pk])

    message.refresh_from_db()
    assert (message.state, message.resent_count, message.attempts) == ("sent", 1, 2)
    assert mail_server.received[0].message_id == message.message_id


def test_a_claimed_but_untried_message_after_a_lease_is_not_a_resend(mail_server):
    message = MessageFactory(state="sending", lease_until=timezone.now() - timedelta(seconds=1))

    dispatch.messages_send_batch(message_ids=[message.pk])

    message.refresh_from_db()
    assert (message.state, message.resent_count) == ("sent", 0)


def test_consent_withdrawn_after_enqueue_suppresses_at_send_time(mail_server):
    customer = consenting_customer()
    message = MessageFactory(customer=customer, purpose="promotional")
    customer.__class__.objects.filter(pk=customer.pk).update(
        marketing_consent=False, consent_at=None, consent_source=""
    )

    dispatch.messages_send_batch(message_ids=[message.pk])

    message.refresh_from_db()
    assert (message.state, message.reason) == ("suppressed", "no_consent")
    assert mail_server.count() == 0


def test_the_frequency_cap_counts_every_promotional_message_of_seven_days(mail_server, settings):
    settings.MESSAGING_FREQUENCY_CAP = 2
    customer = consenting_customer()
    MessageFactory(customer=customer, purpose="promotional", state="sent", sent_at=timezone.now() - timedelta(days=6))
    MessageFactory(customer=customer, purpose="promotional", state="sent", sent_at=timezone.now() - timedelta(days=8))
    receipt = MessageFactory(customer=customer, purpose="transactional")
    offers = MessageFactory.create_batch(2, customer=customer, purpose="promotional")

    dispatch.messages_send_batch(message_ids=_ids(receipt, *offers))

    assert [Message.objects.get(pk=m.pk).state for m in (receipt, *offers)] == ["sent", "sent", "suppressed"]
    assert Message.objects.get(pk=offers[1].pk).reason == "frequency_cap"


def test_a_promotional_message_due_in_quiet_hours_waits_for_the_morning(mail_server, settings):
    hour = timezone.now().hour
    settings.MESSAGING_QUIET_START, settings.MESSAGING_QUIET_END = hour, (hour + 2) % 24
    customer = consenting_customer(time_zone="UTC")
    offer = MessageFactory(customer=customer, purpose="promotional")
    receipt = MessageFactory(customer=customer, purpose="transactional")

    dispatch.messages_send_batch(message_ids=_ids(offer, receipt))

    offer.refresh_from_db()
    assert offer.state == "queued" and offer.attempts == 0
    assert (offer.due_at.hour, offer.due_at.minute) == ((hour + 2) % 24, 0)
    assert Message.objects.get(pk=receipt.pk).state == "sent"


def test_the_dispatcher_hands_out_due_messages_once_per_lease(mail_server, settings):
    settings.MESSAGING_BATCH_SIZE = 2
    due = MessageFactory.create_batch(3)
    MessageFactory(due_at=timezone.now() + timedelta(hours=1))

    first = dispatch.messages_dispatch()
    second = dispatch.messages_dispatch()

    assert (first, second) == (3, 0)  # the tasks ran eagerly, and sent them
    assert {m.state for m in Message.objects.filter(pk__in=_ids(*due))} == {"sent"}


def test_test_send_reaches_the_server_and_writes_no_message(mail_server):
    outbox.test_send(to_email="marta@example.com", subject="Preview", html="<p>Hi</p>", text="Hi")

    assert mail_server.received[0].to == ["marta@example.com"]
    assert mail_server.received[0].message["Subject"] == "Preview"
    assert not Message.objects.exists()


def test_test_send_to_a_refused_address_raises_with_the_servers_answer(mail_server):
    mail_server.refuse_recipients["nobody@example.com"] = "550 5.1.1 No such user"

    with pytest.raises(PermanentFailure, match="550"):
        outbox.test_send(to_email="nobody@example.com", subject="Preview", html="", text="Hi")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_the_same_batch_send_each_message_once(mail_server):
    messages = MessageFactory.create_batch(60)
    ids = _ids(*messages)
    start = threading.Barrier(2)

    def worker():
        start.wait()
        try:
            dispatch.messages_send_batch(message_ids=ids)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Message.objects.filter(state="sent").count() == 60
    assert sorted(mail_server.message_ids().values()) == [1] * 60


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_cannot_both_pass_the_frequency_cap_for_one_customer(mail_server, settings):
    settings.MESSAGING_FREQUENCY_CAP = 1
    customer = consenting_customer()
    first, second = MessageFactory.create_batch(2, customer=customer, purpose="promotional")
    start = threading.Barrier(2)

    def worker(message_id):
        start.wait()
        try:
            dispatch.messages_send_batch(message_ids=[message_id])
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(m.pk,)) for m in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    states = sorted(Message.objects.values_list("state", "reason"))
    assert states == [("sent", ""), ("suppressed", "frequency_cap")]
    assert mail_server.count() == 1


def test_each_message_after_the_first_costs_one_statement(mail_server):
    small, large = MessageFactory.create_batch(3), MessageFactory.create_batch(6)

    with CaptureQueriesContext(connection) as three:
        dispatch.messages_send_batch(message_ids=_ids(*small))
    with CaptureQueriesContext(connection) as six:
        dispatch.messages_send_batch(message_ids=_ids(*large))

    # Each message's hand-over carries the previous one's "sent": three more messages, three more
    # statements, whatever the batch's own (claim, content, rules, the last "sent") cost.
    assert len(six) - len(three) == 3
    assert Message.objects.filter(state="sent").count() == 9


@pytest.mark.postgres
def test_a_batch_commits_without_waiting_for_the_disk_and_restores_the_setting(mail_server):
    messages = MessageFactory.create_batch(2)

    with CaptureQueriesContext(connection) as queries:
        dispatch.messages_send_batch(message_ids=_ids(*messages))

    statements = [query["sql"] for query in queries]
    assert statements[0] == "SET synchronous_commit TO OFF"
    assert statements[-1] == "RESET synchronous_commit"
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_lease_was_taken_over_records_what_it_sent_and_hands_over_nothing_more(mail_server):
    first, second = _prepared(MessageFactory.create_batch(2))
    successors_lease = timezone.now() + timedelta(minutes=5)

    def behaviour(number, received):
        # While the first message is with the server, the batch's lease runs out and another
        # worker claims the second message with a lease of its own.
        Message.objects.filter(pk=second.pk).update(lease_until=successors_lease)
        connection.close()  # this thread's connection, not the worker's
        return "250 OK"

    mail_server.behaviour = behaviour

    outcome = dispatch.messages_send_batch(message_ids=_ids(first, second))

    first.refresh_from_db()
    second.refresh_from_db()
    assert (outcome["sent"], outcome["lost_lease"]) == (1, 1)
    assert first.state == "sent"
    assert (second.state, second.lease_until, second.handed_at, second.attempts) == (
        "sending",
        successors_lease,
        None,
        0,
    )
    assert mail_server.message_ids() == {first.message_id: 1}


def test_a_prepared_email_reaches_the_server_byte_for_byte(mail_server):
    message = outbox.message_enqueue(
        customer=consenting_customer(), channel="email", purpose="promotional", source_key="offer:1",
        subject="Spring offers", html="<p>Hello</p>", text="Hello",
    )  # fmt: skip
    prepared = bytes(Message.objects.get(pk=message.pk).mime)

    dispatch.messages_send_batch(message_ids=[message.pk])

    assert Message.objects.get(pk=message.pk).state == "sent"
    assert mail_server.received[0].raw.rstrip(b"\r\n") == prepared.rstrip(b"\r\n")
    assert mail_server.received[0].message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_worker_keeps_its_connection_across_batches_and_reconnects_after_a_drop(mail_server):
    first, second, third = MessageFactory.create_batch(3)
    dispatch.messages_send_batch(message_ids=[first.pk])
    dispatch.messages_send_batch(message_ids=[second.pk])
    assert mail_server.connections == 1

    mail_server.restart_connections()
    dispatch.messages_send_batch(message_ids=[third.pk])

    assert Message.objects.filter(state="sent").count() == 3
    assert mail_server.connections == 2


def test_the_rules_suppress_a_batchs_forbidden_messages_in_one_statement(mail_server):
    blocked = MessageFactory()
    AddressStatus.objects.create(channel="email", address=blocked.recipient, status="bounced")
    customer = consenting_customer()
    withdrawn = MessageFactory(customer=customer, purpose="promotional")
    Customer.objects.filter(pk=customer.pk).update(marketing_consent=False)
    allowed = MessageFactory()

    with CaptureQueriesContext(connection) as queries:
        outcome = dispatch.messages_send_batch(message_ids=_ids(blocked, withdrawn, allowed))

    assert (outcome["suppressed"], outcome["sent"]) == (2, 1)
    states = {m.pk: (m.state, m.reason) for m in Message.objects.all()}
    assert states[blocked.pk] == ("suppressed", "bounced")
    assert states[withdrawn.pk] == ("suppressed", "no_consent")
    assert states[allowed.pk] == ("sent", "")
    marking = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "'suppressed'" in q["sql"]]
    assert len(marking) == 1
    assert mail_server.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_each_message_is_committed_as_handed_over_and_the_one_before_as_sent_before_the_server_has_it(mail_server):
    messages = _prepared(MessageFactory.create_batch(4))
    order = {m.message_id: position for position, m in enumerate(messages)}
    seen_by_the_server = []
    locked = threading.Event()

    def hold_the_third_row():
        # Another session holds the third message's row for a second: its hand-over statement waits
        # for the lock, so the worker must wait for it before DATA (a worker that did not would
        # deliver the message before its hand-over is committed, and the check below would see it).
        with transaction.atomic():
            Message.objects.select_for_update().get(pk=messages[2].pk)
            locked.set()
            time.sleep(1)
        connection.close()

    def behaviour(number, received):
        # What another session reads at the instant the server holds the message: the state
        # written on the worker's second connection, overlapped with MAIL and RCPT, is committed.
        rows = {m.message_id: (m.state, m.handed_at is not None) for m in Message.objects.all()}
        connection.close()  # this thread's connection, not the worker's
        seen_by_the_server.append((order[received.message_id], rows[received.message_id], rows))
        if number == 2:
            threading.Thread(target=hold_the_third_row).start()
            locked.wait(5)
        return "250 OK"

    mail_server.behaviour = behaviour
    with CaptureQueriesContext(connection) as queries:
        outcome = dispatch.messages_send_batch(message_ids=_ids(*messages))

    assert outcome["sent"] == 4
    for position, (this_one, _, rows) in enumerate(seen_by_the_server):
        assert this_one == position
        assert rows[messages[position].message_id] == ("sending", True)
        assert all(rows[m.message_id] == ("sent", False) for m in messages[:position])
    assert all(m.state == "sent" and m.handed_at is None for m in Message.objects.all())
    # The hand-overs and the "sent" went on the second connection, none on the worker's own.
    assert not [q for q in queries if "handed_at = CASE" in q["sql"]]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_without_a_second_connection_the_batch_writes_on_the_workers_own(mail_server, monkeypatch):
    import psycopg2

    def refused():
        raise psycopg2.OperationalError("FATAL: sorry, too many clients already")

    monkeypatch.setattr(dispatch, "_Overlapped", refused)
    messages = _prepared(MessageFactory.create_batch(3))

    with CaptureQueriesContext(connection) as queries:
        outcome = dispatch.messages_send_batch(message_ids=_ids(*messages))

    assert outcome["sent"] == 3
    assert sorted(mail_server.message_ids().values()) == [1, 1, 1]
    # Three hand-overs (each with the previous "sent") and the last "sent" on its own.
    assert len([q for q in queries if "handed_at = CASE" in q["sql"]]) == 4
    assert all(m.state == "sent" and m.attempts == 1 for m in Message.objects.all())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_refused_recipient_on_the_overlapped_path_fails_once_and_the_batch_goes_on(mail_server):
    refused, accepted = _prepared(MessageFactory.create_batch(2))
    mail_server.refuse_recipients[refused.recipient] = "550 No such user"

    outcome = dispatch.messages_send_batch(message_ids=_ids(refused, accepted))

    assert (outcome["failed"], outcome["sent"]) == (1, 1)
    refused.refresh_from_db()
    assert (refused.state, refused.reason, refused.attempts, refused.handed_at) == ("failed", "rejected", 1, None)
    assert "550" in refused.error
    assert mail_server.message_ids() == {accepted.message_id: 1}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_connection_lost_mid_batch_loses_nothing_and_sends_only_the_one_in_doubt_again(mail_server):
    import psycopg2

    messages = _prepared(MessageFactory.create_batch(3))

    def behaviour(number, received):
        if number == 1:  # while the server holds the first message, the database drops the connection
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND query LIKE 'EXECUTE messaging_step%%' AND pid <> pg_backend_pid()"
                )
                assert cursor.fetchall() == [(True,)]
            connection.close()
        return "250 OK"

    mail_server.behaviour = behaviour
    with pytest.raises(psycopg2.Error):
        dispatch.messages_send_batch(message_ids=_ids(*messages))

    # The first was accepted, its "sent" never written: in doubt. The second never reached DATA.
    assert mail_server.message_ids() == {messages[0].message_id: 1}
    rows = {m.pk: m for m in Message.objects.all()}
    assert rows[messages[0].pk].state == "sending" and rows[messages[0].pk].handed_at is not None
    assert all(rows[m.pk].state == "sending" and rows[m.pk].handed_at is None for m in messages[1:])

    # The lease runs out; the next batch sends the rest once and the one in doubt again, counted.
    Message.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    mail_server.behaviour = lambda number, received: "250 OK"
    outcome = dispatch.messages_send_batch(message_ids=_ids(*messages))

    assert outcome["sent"] == 3
    assert mail_server.message_ids() == {
        messages[0].message_id: 2,
        messages[1].message_id: 1,
        messages[2].message_id: 1,
    }
    assert sorted(Message.objects.values_list("resent_count", flat=True)) == [0, 0, 1]
    assert set(Message.objects.values_list("state", flat=True)) == {"sent"}
