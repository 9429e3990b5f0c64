"""My book benchmark: /my-book/ of an account manager with a 5,000-customer book, against a floor,
on a machine that may be busy.

Run by hand, not in CI, on the metrics benchmark's base (bench/metrics_bench.py, then
bench/lists_bench.py --seed-lists):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_metrics .venv/bin/python bench/my_book_bench.py \\
        [--manager am00 --book 5000] [--requests 60] [--explain] [--serial] [--seed-signals]

``--seed-signals`` first adds what lists_bench.py's seed leaves without rows, so that every
worklist signal finds some (only once, marked by the plan "Bench plan"): a contact plan's open
tasks for 1% of the base (due from 10 days ago to 20 days ahead) and named NPS answers for 3%
(the last 120 days, a third of them detractors').

A shared machine's load multiplies every wall-clock time, so one figure alone says little. Through
Django's test Client (the whole middleware stack, logged in as the manager, the connection kept
between requests as a server keeps it, CONN_MAX_AGE), it times in one run, alternately:

- the page, GET /my-book/ (the manager's own book, first page, ranked);
- the floor, GET /healthz (the same stack and server, a view that does nothing), so that
  page / floor compares across machines and loads;

and for each request the CPU time it used: this process's (time.process_time) plus the
PostgreSQL backend's serving it (utime + stime of /proc/<backend pid>/stat, the same machine).
The CPU time is what a quiet machine would take, less the waits; the wall time on a busy machine is
that plus the time spent queueing for a core. PostgreSQL's parallel workers are processes of their
own, whose CPU time is not the backend's: with --serial the session plans no parallel query, so
that the CPU time counts all the work (one core doing it all: an upper bound for a quiet machine). It prints p50 and p95 of each, the ratio, the load
average before and after, the page's query count, and with --explain, EXPLAIN ANALYZE of each of
the page's queries (the slowest first).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")

WARMUP_REQUESTS = 3
GOAL_MS = 150.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def backend_cpu_seconds(pid: int) -> float:
    """utime + stime of a PostgreSQL backend (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


SIGNALS_PLAN = "Bench plan"


def seed_signals() -> None:
    """Plan tasks and survey answers over the base (see the module docstring); only once."""
    from django.db import connection, transaction
    from django.utils import timezone

    from contact_plans.models import ContactPlan
    from surveys import services as survey_services

    if ContactPlan.objects.filter(name=SIGNALS_PLAN).exists():
        return
    with transaction.atomic(), connection.cursor() as cursor:
        plan = ContactPlan.objects.create(name=SIGNALS_PLAN, triggers_checked_at=timezone.now())
        survey = survey_services.survey_create_from_template(kind="nps")
        cursor.execute(
            """
            INSERT INTO contact_plans_followup
                (customer_id, assigned_to_id, due_at, note, state, key, created_at, kind, outcome, plan_id)
            SELECT id, account_manager_id, now() + ((id / 100) %% 30 - 10) * interval '1 day', '', 'open', '',
                   now(), 'call', '', %s
            FROM customers_customer WHERE id %% 100 = 7 AND account_manager_id IS NOT NULL
            """,
            [plan.pk],
        )
        tasks = cursor.rowcount
        cursor.execute(
            """
            INSERT INTO surveys_response
                (id, survey_id, anonymous, customer_id, language, score, answers, comment, is_detractor, source,
                 answered_on, answered_at, timeline_logged)
            SELECT gen_random_uuid(), %s, false, id, 'en', s, '{}', '', s <= 6, 'link',
                   (now() - ((id / 33) %% 120) * interval '1 day')::date,
                   now() - ((id / 33) %% 120) * interval '1 day', true
            FROM (SELECT id, CASE WHEN (id / 33) %% 3 = 0 THEN 3 ELSE 9 END AS s
                  FROM customers_customer WHERE id %% 33 = 5) chosen
            """,
            [survey.pk],
        )
        answers = cursor.rowcount
        cursor.execute("ANALYZE contact_plans_followup, surveys_response")
    print(f"Added {tasks:,} plan tasks and {answers:,} survey answers.")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manager", default="am00")
    parser.add_argument("--book", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=60, help="timed requests of each, alternately")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each query of the page")
    parser.add_argument("--seed-signals", action="store_true", help="add plan tasks and survey answers (once)")
    parser.add_argument(
        "--serial",
        action="store_true",
        help="no parallel query workers, so that the backend's CPU time is all of PostgreSQL's work",
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections, connection, reset_queries
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse
    from segments_bench import ensure_book

    from customers.models import Customer

    # A server keeps its connection between requests (CONN_MAX_AGE): so does this client, and the
    # backend whose CPU time is read stays the same.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    override_settings(ALLOWED_HOSTS=["testserver"]).enable()
    ensure_book(args.manager, args.book)
    if args.seed_signals:
        seed_signals()
    manager = get_user_model().objects.get(username=args.manager)
    book = Customer.objects.filter(account_manager=manager, archived_at__isnull=True).count()
    print(f"{Customer.objects.count():,} customers; {args.manager}'s book: {book:,}; load average {load_average()}")
    client = Client()
    client.force_login(manager)
    urls = {"page": reverse("worklist:home"), "floor": reverse("healthz")}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
        if args.serial:
            cursor.execute("SET max_parallel_workers_per_gather = 0")

    def request(url: str) -> tuple[float, float, float]:
        """Wall time, this process's CPU time and the backend's, in ms."""
        cpu, backend_cpu = time.process_time(), backend_cpu_seconds(backend)
        started = time.perf_counter()
        response = client.get(url)
        wall = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        return wall * 1000, (time.process_time() - cpu) * 1000, (backend_cpu_seconds(backend) - backend_cpu) * 1000

    for _i in range(WARMUP_REQUESTS):
        for url in urls.values():
            request(url)
    loads = [load_average()]
    wall: dict[str, list[float]] = {name: [] for name in urls}
    cpu: dict[str, list[float]] = {name: [] for name in urls}
    django_cpu: dict[str, list[float]] = {name: [] for name in urls}
    for _i in range(args.requests):
        for name, url in urls.items():
            took, in_django, in_postgres = request(url)
            wall[name].append(took)
            cpu[name].append(in_django + in_postgres)
            django_cpu[name].append(in_django)
    loads.append(load_average())

    results = {"load_average": loads, "book": book}
    for name in urls:
        results[name] = {
            "wall_p50_ms": round(statistics.median(wall[name]), 1),
            "wall_p95_ms": round(percentile(wall[name], 0.95), 1),
            "cpu_p50_ms": round(statistics.median(cpu[name]), 1),
            "cpu_p95_ms": round(percentile(cpu[name], 0.95), 1),
            # The backend's CPU time is counted in clock ticks (10 ms): its share is the difference.
            "django_cpu_p50_ms": round(statistics.median(django_cpu[name]), 1),
        }
        r = results[name]
        print(
            f"{name:<6} {urls[name]:<10} wall p50 {r['wall_p50_ms']:>7.1f} ms  p95 {r['wall_p95_ms']:>7.1f} ms   "
            f"CPU (Django + PostgreSQL) p50 {r['cpu_p50_ms']:>6.1f} ms  p95 {r['cpu_p95_ms']:>6.1f} ms "
            f"(Django alone p50 {r['django_cpu_p50_ms']:.1f} ms)"
        )
    ratio = results["page"]["wall_p50_ms"] / results["floor"]["wall_p50_ms"]
    print(f"page / floor, p50: {ratio:.1f}; load average before / after: {loads[0]} / {loads[1]}")
    verdict = "met" if results["page"]["cpu_p95_ms"] < GOAL_MS else "NOT met"
    print(f"CPU time of the page, p95: {results['page']['cpu_p95_ms']} ms (goal p95 < {GOAL_MS:.0f} ms: {verdict})")

    with override_settings(DEBUG=True):
        reset_queries()
        client.get(urls["page"])
        queries = list(connection.queries)
    results["queries"] = len(queries)
    total = sum(float(query["time"]) for query in queries) * 1000
    print(f"{len(queries)} queries, {total:.1f} ms in the database (as timed by Django)")
    if args.explain:
        for query in sorted(queries, key=lambda q: -float(q["time"])):
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            print(f"\n--- {float(query['time']) * 1000:.1f} ms: {sql[:300]}\n{plan}")
    return results


if __name__ == "__main__":
    main()
