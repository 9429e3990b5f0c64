"""Dispatch benchmark: 10,000 due emails through the real Celery worker to a local SMTP server,
against a bare loop that sends the same 10,000 prepared messages with smtplib over one connection.

Run by hand, not in CI, with PostgreSQL and Redis (the database is migrated, its bench rows are
deleted at the end):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_dispatch \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/7 .venv/bin/python bench/dispatch_bench.py \\
        [--messages 10000] [--concurrency 2] [--rounds 1]

1. an aiosmtpd server (its own process, the Sink handler: it accepts and forgets) on 127.0.0.1;
2. bare: the messages built once (Django's EmailMultiAlternatives, as the outbox builds them),
   then ``smtplib.SMTP.sendmail`` for each over one connection: the rate of the server and the
   SMTP conversation alone;
3. outbox: the same number of Message rows, due now, each with its bytes prepared as
   ``message_enqueue`` prepares them (``email_prepare``, before the clock starts; the tables
   vacuumed and analysed, as autovacuum would have done); a worker (``celery worker``, prefork,
   --concurrency processes) is started and each process warmed up with one message (the worker's
   start is not timed); then one dispatch (what the beat does) and the time until every row is
   ``sent``: the claim, the rules checked again, one statement (and its commit) per message, the
   prepared bytes sent over the SMTP connection each worker process keeps across its batches.

``--rounds N`` runs bare and outbox in turn N times against the same worker, so that the pairs
share the machine's load of the moment (each pair's ratio is printed). ``--profile PATH`` runs
the worker as one process (``--pool=solo``, the tasks in the worker's own process) under cProfile
and writes its profile to PATH when the worker stops (``python -m pstats PATH``). ``--cpu`` runs
no worker: this process sends the messages itself in batches of ``MESSAGING_BATCH_SIZE``
(``messages_send_batch``, after the beat's ``dispatched_at`` write), and prints the CPU each process
spent a message: its own Python, its database connection's backend, the batch's second
connection's backend and the SMTP server, from ``/proc/<pid>/schedstat`` (time on a CPU, so
it does not depend on how long each waited for one on a busy machine; Linux, and the database
on this machine).

The bare loop is one process; the outbox is ``--concurrency`` worker processes, the database and
the beat's dispatch, all on the same machine as the SMTP server: the figures say which were used.
Prints both rates and their ratio (goal: the outbox at least half the bare rate), and the
message rows' updates during the outbox's run: how many a message cost, and the share of HOT
ones (a new version on the row's own page, no index entry written).
"""

import argparse
import os
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")

GOAL_RATIO = 0.5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the SMTP server did not start")


def bare(port: int, count: int) -> float:
    from django.core.mail import EmailMultiAlternatives

    prepared = []
    for i in range(count):
        email = EmailMultiAlternatives(
            f"Thank you {i}", f"Thank you for your order {i}.", "crm@example.com", [f"bench{i}@example.com"],
            headers={"Message-ID": f"<bench-{i}@example.com>"},
        )  # fmt: skip
        email.attach_alternative(f"<p>Thank you for your order {i}.</p>", "text/html")
        prepared.append((email.from_email, email.to, email.message().as_bytes(linesep="\r\n")))  # as on the wire
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for sender, recipients, raw in prepared:
            smtp.sendmail(sender, recipients, raw)
    return count / (time.perf_counter() - started)


def _messages(count: int, prefix: str) -> list[int]:
    from django.utils import timezone

    from contact_plans.messaging.channels.email import email_prepare
    from contact_plans.messaging.outbox import message_id_new
    from contact_plans.models import Message
    from customers.models import Customer

    customers = Customer.objects.bulk_create(
        Customer(external_id=f"{prefix}{i:06d}", name=f"Bench {i}", email=f"{prefix.lower()}{i}@example.com")
        for i in range(count)
    )
    now = timezone.now()
    messages = []
    for i, c in enumerate(customers):
        message = Message(
            customer=c, channel="email", purpose="transactional", recipient=c.email, subject=f"Thank you {i}",
            text=f"Thank you for your order {i}.", html=f"<p>Thank you for your order {i}.</p>",
            source_key=f"bench:{prefix}:{i}", due_at=now, message_id=message_id_new(),
        )  # fmt: skip
        message.mime = email_prepare(
            to=message.recipient, subject=message.subject, html=message.html, text=message.text,
            message_id=message.message_id,
        )  # fmt: skip
        messages.append(message)
    rows = Message.objects.bulk_create(messages, batch_size=2000)
    _vacuum()
    return [m.pk for m in rows]


def _vacuum() -> None:
    """What autovacuum does on a server that runs it (the shared one of docs/benchmarks.md has it
    off): the dead rows of earlier runs cleared and the planner's statistics of the new rows read,
    before the clock starts. Without it each run is slower than the one before it."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("contact_plans_message", "customers_customer"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")  # our own table names


def _wait_sent(ids: list[int], timeout: float) -> None:
    from contact_plans.models import Message

    # The bench's rows are one range of ids: a range scan, not a 10,000-id IN list that would cost
    # the database (and the workers sharing its CPU) more than the count itself.
    rows = Message.objects.filter(pk__gte=min(ids), pk__lte=max(ids))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if rows.filter(state="sent").count() == len(ids):
            return
        time.sleep(0.1)
    raise RuntimeError("the worker did not send every message in time")


_PROFILED_WORKER = """
import cProfile, os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")
django.setup()
from retention_crm.celery import app
import contact_plans.tasks  # noqa: F401
profile = cProfile.Profile()
profile.enable()
try:
    app.worker_main(["worker", "--pool=solo", *sys.argv[2:]])
finally:
    profile.disable()
    profile.dump_stats(sys.argv[1])
"""


class Worker:
    """The real worker (``celery worker``, prefork, ``concurrency`` processes), started once and
    each of its processes warmed up with one message (its start is not timed)."""

    def __init__(self, port: int, concurrency: int, profile: str = ""):
        env = {
            **os.environ,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(port),
            "MESSAGING_QUIET_START": "0",
            "MESSAGING_QUIET_END": "0",
        }
        options = ["--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if profile:  # one process running the tasks itself, under cProfile until the worker stops
            concurrency = 1
            command = [sys.executable, "-c", _PROFILED_WORKER, profile, *options]
        else:
            command = [str(Path(sys.executable).with_name("celery")), "-A", "retention_crm", "worker", *options,
                       f"--concurrency={concurrency}"]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, env=env)
        from contact_plans.tasks import messages_send_batch_task

        warmup = _messages(concurrency, "W")
        for message_id in warmup:  # one task each: every idle process takes one
            messages_send_batch_task.delay([message_id])
        _wait_sent(warmup, timeout=120)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def _updates() -> tuple[int, int]:
    """The message table's row updates so far, and how many of them were HOT (no index entry)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # the counters as they are now, not as first read
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'contact_plans_message'"
        )
        return cursor.fetchone()


def outbox(count: int, round_number: int) -> tuple[float, str]:
    """``count`` due emails through the worker: from the beat's dispatch to the last one sent; and
    what their rows' updates cost (per message, and the share that wrote no index entry)."""
    from contact_plans.messaging.dispatch import messages_dispatch

    ids = _messages(count, f"B{round_number}")
    updates, hot = _updates()
    started = time.perf_counter()
    messages_dispatch()
    _wait_sent(ids, timeout=1200)
    rate = count / (time.perf_counter() - started)
    time.sleep(1)  # the workers' sessions report their counters within a second
    updates_after, hot_after = _updates()
    done = updates_after - updates
    return rate, f"{done / count:.1f} updates a message, {(hot_after - hot) / max(done, 1):.0%} of them HOT"


def _cpu_ms(pid: int) -> float:
    with open(f"/proc/{pid}/schedstat") as stat:  # nanoseconds on a CPU, waits for one not counted
        return int(stat.read().split()[0]) / 1e6


def cpu(port: int, count: int) -> str:
    """``count`` messages sent by this process (``messages_send_batch``, batch after batch, as a
    worker process runs them): the CPU that each process spent a message."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from contact_plans.messaging import dispatch
    from contact_plans.models import Message

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    second = []  # the CPU of each batch's second connection, read just before it closes
    opened, closed = dispatch._Overlapped.__init__, dispatch._Overlapped.close

    def measured_open(self):
        opened(self)
        self.cpu_at_start = _cpu_ms(self.connection.get_backend_pid())

    def measured_close(self):
        second.append(_cpu_ms(self.connection.get_backend_pid()) - self.cpu_at_start)
        closed(self)

    dispatch._Overlapped.__init__, dispatch._Overlapped.close = measured_open, measured_close
    server_pid = int(os.environ["BENCH_SMTP_PID"])
    dispatch.messages_send_batch(message_ids=_messages(2, "W"))  # connections opened, code warmed up
    ids = _messages(count, "B0")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    start = (time.process_time() * 1000, _cpu_ms(backend), _cpu_ms(server_pid))
    size = settings.MESSAGING_BATCH_SIZE
    for i in range(0, count, size):
        Message.objects.filter(id__in=ids[i : i + size]).update(dispatched_at=timezone.now())  # the beat's write
        dispatch.messages_send_batch(message_ids=ids[i : i + size])
    end = (time.process_time() * 1000, _cpu_ms(backend), _cpu_ms(server_pid))
    dispatch._Overlapped.__init__, dispatch._Overlapped.close = opened, closed
    if Message.objects.filter(id__in=ids, state="sent").count() != count:
        raise RuntimeError("not every message was sent")
    worker, own, smtp = (end[k] - start[k] for k in range(3))
    figures = {"worker": worker, "database, own connection": own, "database, second connection": sum(second)}
    figures["SMTP server"] = smtp
    parts = ", ".join(f"{name} {ms / count:.3f}" for name, ms in figures.items())
    return f"CPU ms a message: {parts}; all {sum(figures.values()) / count:.3f}"


def _cleanup() -> None:
    from customers.models import Customer

    Customer.objects.filter(external_id__regex=r"^(W|B[0-9]*)[0-9]{6}$").delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=1, help="bare then outbox, this many times in turn (one worker for all)"
    )
    parser.add_argument("--profile", default="", help="run one worker process under cProfile, its profile to this path")
    parser.add_argument("--cpu", action="store_true", help="no worker: this process sends, the CPU of each process")
    args = parser.parse_args()
    os.environ.setdefault("MESSAGING_QUIET_START", "0")
    os.environ.setdefault("MESSAGING_QUIET_END", "0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    _cleanup()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"]
    )
    try:
        _wait_for_port(port)
        if args.cpu:
            os.environ["BENCH_SMTP_PID"] = str(server.pid)
            for round_number in range(1, args.rounds + 1):
                load = os.getloadavg()
                figures = cpu(port, args.messages)
                print(f"[{round_number}] {figures}; load average {load[0]:.1f}, {os.getloadavg()[0]:.1f}", flush=True)
                _cleanup()
            return
        worker = Worker(port, args.concurrency, profile=args.profile)
        try:
            for round_number in range(1, args.rounds + 1):
                load = os.getloadavg()
                bare_rate = bare(port, args.messages)
                print(f"[{round_number}] bare smtplib, one connection: {bare_rate:,.0f} messages/s")
                outbox_rate, updates = outbox(args.messages, round_number)
                print(
                    f"[{round_number}] outbox through the worker (concurrency {1 if args.profile else args.concurrency}"
                    f"{', under cProfile' if args.profile else ''}): {outbox_rate:,.0f} messages/s ({updates})"
                )
                ratio = outbox_rate / bare_rate
                verdict = "meets" if ratio >= GOAL_RATIO else "misses"
                print(
                    f"[{round_number}] ratio {ratio:.2f} ({verdict} the goal of {GOAL_RATIO}); "
                    f"load average at start {load[0]:.1f}, at the end {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
        finally:
            worker.stop()
    finally:
        server.terminate()
        server.wait(timeout=30)
        _cleanup()


if __name__ == "__main__":
    main()
