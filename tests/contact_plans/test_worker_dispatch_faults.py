"""The fault test of issue 14: a real Celery worker (its own process, on Redis) sends 1,000 due
messages to a real SMTP server, and is killed with SIGKILL three times while it hands a message
over. Every message arrives; the distinct Message-IDs received are exactly the 1,000; a message
received twice is one a killed worker was handing over, at most one per kill, and is recorded as
resent. Short leases (3 s) keep it under a minute."""

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from contact_plans.messaging import dispatch
from contact_plans.messaging.channels.email import email_prepare
from contact_plans.messaging.outbox import message_id_new
from contact_plans.models import Message
from customers.models import Customer
from retention_crm.celery import app as celery_app
from tests.contact_plans.mailserver import MailServer

ROOT = Path(__file__).resolve().parents[2]
TOTAL, KILL_AT, LEASE = 1000, (150, 450, 750), 3

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    db = connection.settings_dict
    auth = urllib.parse.quote(db["USER"] or "") + (":" + urllib.parse.quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


# A worker process that has imported Django and the app (seconds on a loaded machine) and waits
# for a line on its stdin before it starts the Celery worker: the restart after a kill is then the
# worker's own start, not the imports, so the test stays short.
STANDBY = """
import os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")
django.setup()
from retention_crm.celery import app
import contact_plans.tasks  # noqa
sys.stdin.readline()
app.worker_main(["worker", "--pool=solo", "--loglevel=WARNING", "--without-gossip", "--without-mingle",
                 "--without-heartbeat"])
"""


class Workers:
    """One running worker at a time, and a standby to take over as soon as it is killed."""

    def __init__(self, env: dict):
        self.env = env
        self.process: subprocess.Popen | None = None
        self.standby: subprocess.Popen | None = None
        self.started = 0
        self.lock = threading.Lock()

    def _spawn(self) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", STANDBY], cwd=ROOT, env=self.env, stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip

    def ensure_running(self) -> None:
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                self.process, self.standby = self.standby or self._spawn(), None
                self.process.stdin.write("go\n")
                self.process.stdin.flush()
                self.started += 1
            if self.standby is None and self.started <= len(KILL_AT):
                self.standby = self._spawn()

    def warm(self) -> None:
        with self.lock:
            self.standby = self.standby or self._spawn()

    def kill(self) -> None:
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def stop(self) -> None:
        with self.lock:
            for process in (self.process, self.standby):
                if process is not None and process.poll() is None:
                    process.terminate()
                    try:
                        process.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        process.kill()


@pytest.fixture
def mail_server():
    server = MailServer().start()
    yield server
    server.stop()


def _due_messages(count: int) -> None:
    customers = Customer.objects.bulk_create(
        Customer(external_id=f"F{i:05d}", name=f"Fault {i}", email=f"f{i}@example.com") for i in range(count)
    )
    now = timezone.now()
    messages = [
        Message(
            customer=customer, channel="email", purpose="transactional", recipient=customer.email,
            subject="Thank you", text=f"Thank you {i}", source_key=f"fault:{i}", due_at=now,
            message_id=message_id_new(),
        )
        for i, customer in enumerate(customers)
    ]  # fmt: skip
    for message in messages:  # the bytes message_enqueue prepares: the worker's SMTP path sends them
        message.mime = email_prepare(
            to=message.recipient, subject=message.subject, html="", text=message.text, message_id=message.message_id
        )
    Message.objects.bulk_create(messages)


def test_killed_workers_lose_nothing_and_resend_only_the_message_in_doubt(mail_server, settings, tmp_path):
    broker = celery_app.conf.broker_url
    if not broker.startswith("redis://"):
        pytest.skip("needs Redis as the broker (CELERY_BROKER_URL)")
    import redis

    redis.Redis.from_url(broker).flushdb()
    settings.MESSAGING_LEASE_SECONDS = LEASE
    settings.MESSAGING_BATCH_SIZE = 50
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker,
        "VAR_DIR": str(tmp_path),
        "DJANGO_ENV": "development",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(mail_server.port),
        "MESSAGING_LEASE_SECONDS": str(LEASE),
        "MESSAGING_BATCH_SIZE": "50",
        "MESSAGING_QUIET_START": "0",
        "MESSAGING_QUIET_END": "0",
    }
    workers = Workers(env)
    kills = []

    def behaviour(number, received):
        # Killed while the message is with the server and before the worker hears "250": the
        # message is received, and its worker never records it. That is the message in doubt.
        if number in KILL_AT:
            workers.kill()
            kills.append((number, round(time.monotonic() - started, 1)))
        return "250 OK"

    mail_server.behaviour = behaviour
    workers.warm()  # its imports overlap the writing of the messages
    _due_messages(TOTAL)
    started = time.monotonic()
    first_received = None
    try:
        while time.monotonic() - started < 90:
            workers.ensure_running()
            dispatch.messages_dispatch()  # what the beat does every few seconds
            if first_received is None and mail_server.count():
                first_received = round(time.monotonic() - started, 1)
            if Message.objects.filter(state="sent").count() == TOTAL:
                break
            time.sleep(0.5)
    finally:
        workers.stop()
    elapsed = time.monotonic() - started

    ids = mail_server.message_ids()
    expected = set(Message.objects.values_list("message_id", flat=True))
    duplicated = {message_id: n for message_id, n in ids.items() if n > 1}
    resent = dict(Message.objects.filter(resent_count__gt=0).values_list("message_id", "resent_count"))
    assert len(kills) == len(KILL_AT) and workers.started >= len(KILL_AT) + 1
    assert Message.objects.filter(state="sent").count() == TOTAL
    assert set(ids) == expected and len(ids) == TOTAL
    assert sum(n - 1 for n in duplicated.values()) <= len(kills)
    assert all(resent.get(message_id, 0) >= n - 1 for message_id, n in duplicated.items())
    assert sum(resent.values()) <= len(kills)
    print(
        f"\nfault test: {TOTAL} messages, kills (message, s) {kills}, first received at {first_received} s, "
        f"{len(duplicated)} resent copies, {elapsed:.1f} s"
    )
