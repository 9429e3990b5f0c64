"""Contact plans benchmark, run by hand (not in CI): enrol a segment of N customers in a plan and
queue its first messages, against a hand-written INSERT ... SELECT of the same rows.

On an EMPTY database of its own (migrated and seeded here with COPY):

    createdb -h 127.0.0.1 -U postgres plansbench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/plansbench .venv/bin/python bench/plans_bench.py --seed 100000

or, on a database that already holds the customers (bench/metrics_bench.py's million), leave out
--seed: the segment is then the first N customers with marketing consent (--size, default 100,000).

It times, each on a fresh plan of one email step (the ready-made "check-in" template, rendered per
customer in their language):

1. ``enrol``: contact_plans.plans.services.segment_enrol: ONE INSERT ... SELECT of the enrolments,
   the 10 % control group drawn in the same statement;
2. ``queue``: the runner over every due enrolment, in the chunks the workers share
   (runner.due_enrolment_chunks + runner.plan_steps_run, chunks of runner.CHUNK_SIZE): per chunk the
   enrolments locked, the messages written by the outbox's bulk path (messaging.bulk: the outbox's
   reasons in one query, each message rendered for its customer in their language, its text part
   from the template's derived text template, COPY straight into the outbox), the step runs (COPY)
   and the enrolments' advance one statement each; timed in one process, or with ``--workers W`` in W forked processes sharing the chunks as a worker's processes share the chunk tasks (wall clock);
3. ``hand``: the same rows written by hand: one INSERT ... SELECT of the enrolments and one of the
   messages (a fixed text, a source key and a Message-ID made in SQL), which is the floor: it
   renders nothing, checks no consent or cap, writes no step run.

The goal of the issue is (enrol + queue) / hand <= 3. ``--queue-chunks K`` queues only the first K
chunks and extrapolates the per-message time to every contacted customer. The open enrolments of
earlier runs' plans are ended first (the runner would otherwise take them as this run's).
"""

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")

# Customers per COPY: one buffer of ~10 MB of text.
COPY_BATCH = 100_000


def seed(customers: int) -> None:
    """N customers with marketing consent, languages spread over the four, via COPY."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now().isoformat()
    languages = ("en", "id", "ms", "ca")
    columns = (
        "external_id, name, email, phone, company, country, language, time_zone, acquisition_source, "
        "marketing_consent, consent_at, consent_source, notes, created_at, updated_at"
    )
    for start in range(0, customers, COPY_BATCH):
        buffer = io.StringIO()
        for i in range(start, min(customers, start + COPY_BATCH)):
            buffer.write(
                f"PB-{i}\tBench Customer {i}\tpb{i}@example.com\t\t\tGB\t{languages[i % 4]}\tUTC\t\t"
                f"t\t{now}\tweb_form\t\t{now}\t{now}\n"
            )
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY customers_customer ({columns}) FROM STDIN", buffer)


def segment_of(size: int):
    """A rule segment holding the first ``size`` consenting customers (memberships by INSERT ... SELECT)."""
    from django.db import connection
    from django.utils import timezone

    from segmentation.models import Segment

    segment, _ = Segment.objects.get_or_create(
        name=f"Plans bench {size}", defaults={"definition": {"op": "and", "rules": []}}
    )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM segmentation_segmentmembership WHERE segment_id = %s", [segment.pk])
        cursor.execute(
            """INSERT INTO segmentation_segmentmembership (segment_id, customer_id, entered_at)
               SELECT %s, id, %s FROM customers_customer
               WHERE marketing_consent AND archived_at IS NULL ORDER BY id LIMIT %s""",
            [segment.pk, timezone.now(), size],
        )
    return segment


def end_earlier_runs() -> int:
    """End the open enrolments of earlier runs' plans ("Bench ..."): the runner takes every due
    enrolment, so an earlier run's unqueued rest (``--queue-chunks``) would be timed as this run's.
    One UPDATE; their messages stay in the outbox. Returns how many enrolments it ended."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE contact_plans_enrolment e
               SET state = 'ended', end_reason = 'completed', ended_at = now(), next_position = NULL,
                   next_due_at = NULL
               FROM contact_plans_contactplan p
               WHERE p.id = e.plan_id AND p.name LIKE 'Bench %%' AND e.state <> 'ended'"""
        )
        return cursor.rowcount


def fresh_plan(name: str, *, control: int = 10):
    from contact_plans.models import MessageTemplate
    from contact_plans.plans.services import plan_save
    from contact_plans.plans.validation import StepData

    return plan_save(
        data={"name": name, "trigger": "manual", "purpose": "promotional", "control_percent": control},
        steps=[StepData(kind="email", template=MessageTemplate.objects.get(key="check-in"))],
    )


def _run_chunks(chunks: list[list[int]]) -> int:
    """One worker process's share of the chunks (a forked child: its own database connection)."""
    from contact_plans.plans import runner

    for ids in chunks:
        runner.plan_steps_run(enrolment_ids=ids)
    return len(chunks)


def bench_ours(segment, size: int, *, queue_chunks: int = 0, workers: int = 1) -> dict:
    from django.db import connections
    from django.utils import timezone

    from contact_plans.models import Message
    from contact_plans.plans import runner, services

    plan = fresh_plan(f"Bench ours {time.time():.0f}")
    started = time.perf_counter()
    counts = services.segment_enrol(plan=plan, segment=segment)
    enrolled_at = time.perf_counter()
    chunks = 0
    if workers > 1:
        # As the worker's processes share the chunk tasks (make run starts a worker of two): the
        # chunks are listed (the runner's keyset query), then run by `workers` forked processes.
        import multiprocessing

        listed = list(runner.due_enrolment_chunks(now=timezone.now()))
        connections.close_all()
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            chunks = sum(pool.map(_run_chunks, [listed[i::workers] for i in range(workers)]))
    else:
        for ids in runner.due_enrolment_chunks(now=timezone.now()):
            runner.plan_steps_run(enrolment_ids=ids)
            chunks += 1
            if queue_chunks and chunks >= queue_chunks:
                break
    done = time.perf_counter()
    messages = Message.objects.filter(source_key__startswith=f"plan:{plan.pk}:").count()
    contacted = counts["enrolled"] - counts["control"]
    per_message = (done - enrolled_at) / max(messages, 1)
    return {
        "contacted": contacted,
        "queue_all_s": per_message * contacted,
        "enrolled": counts["enrolled"],
        "control": counts["control"],
        "messages": messages,
        "chunks": chunks,
        "enrol_s": enrolled_at - started,
        "queue_s": done - enrolled_at,
        "total_s": (enrolled_at - started) + per_message * contacted,
    }


def bench_hand(segment) -> dict:
    """The same rows by hand: enrolments (10 % control) and one queued message per contacted one."""
    from django.db import connection, transaction
    from django.utils import timezone

    plan = fresh_plan(f"Bench hand {time.time():.0f}")
    step = plan.steps.get()
    now = timezone.now()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO contact_plans_enrolment
                   (plan_id, customer_id, state, is_control, source, enrolled_at, next_position, next_due_at,
                    ended_at, end_reason, created_by_id)
               SELECT %s, c.id, CASE WHEN c.ctl THEN 'control' ELSE 'ended' END, c.ctl, 'segment', %s,
                      NULL, CASE WHEN c.ctl THEN %s END, CASE WHEN c.ctl THEN NULL ELSE %s END,
                      CASE WHEN c.ctl THEN '' ELSE 'completed' END, NULL
               FROM (SELECT m.customer_id AS id, random() < 0.1 AS ctl
                     FROM segmentation_segmentmembership m WHERE m.segment_id = %s AND m.exited_at IS NULL) c""",
            [plan.pk, now, now, now, segment.pk],
        )
        cursor.execute(
            """INSERT INTO contact_plans_message
                   (customer_id, channel, purpose, topic, recipient, subject, html, text, mime, language,
                    template_id, source_key, due_at, state, reason, error, attempts, resent_count, provider_id,
                    message_id, created_at, updated_at)
               SELECT e.customer_id, 'email', 'promotional', 'check-ins', c.email, 'How is everything going?',
                      '<p>Hi</p>', 'Hi', ''::bytea, c.language, %s,
                      'plan:' || e.plan_id || ':step:' || %s || ':enrolment:' || e.id, %s, 'queued', '', '', 0, 0,
                      '', '<' || md5(random()::text || e.id) || '@example.com>', %s, %s
               FROM contact_plans_enrolment e JOIN customers_customer c ON c.id = e.customer_id
               WHERE e.plan_id = %s AND NOT e.is_control""",
            [step.template_id, step.pk, now, now, now, plan.pk],
        )
    return {"hand_s": time.perf_counter() - started}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="create this many customers first (empty database)")
    parser.add_argument("--size", type=int, default=100_000, help="customers in the segment (default 100,000)")
    parser.add_argument(
        "--queue-chunks",
        type=int,
        default=0,
        help="queue only this many chunks (runner.CHUNK_SIZE) and extrapolate to every contacted customer (default: all)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="queue with this many processes sharing the chunks, as a worker's processes do (default 1; "
        "the wall-clock time is measured)",
    )
    args = parser.parse_args()
    if args.workers > 1 and args.queue_chunks:
        parser.error("--workers and --queue-chunks do not go together: with workers the whole queue is measured")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from contact_plans.messaging.ready_made import ready_made_install
    from contact_plans.models import MessageTemplate, MessageTemplateContent
    from customers.models import Customer

    if args.seed:
        call_command("migrate", verbosity=0)
        if Customer.objects.exists():
            sys.exit("--seed needs an empty database; this one has customers. Leave out --seed to use them.")
        print(f"Seeding {args.seed:,} customers with COPY…")
        seed(args.seed)
    ready_made_install(MessageTemplate, MessageTemplateContent)
    print(
        f"Database: {connection.vendor} {connection.settings_dict.get('NAME')}; customers {Customer.objects.count():,}"
    )
    ended = end_earlier_runs()
    if ended:
        print(f"Ended {ended:,} open enrolments of earlier runs")
    segment = segment_of(args.size)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    hand = bench_hand(segment)
    print(f"hand-written INSERT ... SELECT (enrolments + messages): {hand['hand_s']:.2f} s")
    ours = bench_ours(segment, args.size, queue_chunks=args.queue_chunks, workers=args.workers)
    print(
        f"ours: enrolled {ours['enrolled']:,} ({ours['control']:,} control) in {ours['enrol_s']:.2f} s; "
        f"{ours['messages']:,} messages queued in {ours['chunks']} chunks, {ours['queue_s']:.1f} s "
        f"({ours['queue_s'] / max(ours['messages'], 1) * 1000:.2f} ms each); all {ours['contacted']:,} "
        f"contacted: {ours['queue_all_s']:.0f} s in {args.workers} process{'es' if args.workers > 1 else ''} "
        f"(wall clock); total {ours['total_s']:.0f} s"
    )
    print(
        f"ratio enrol only: {ours['enrol_s'] / hand['hand_s']:.2f}x; enrol + queue: {ours['total_s'] / hand['hand_s']:.1f}x"
    )
    return {**ours, **hand}


if __name__ == "__main__":
    main()
