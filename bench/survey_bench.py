"""Survey benchmark: answer submissions (the one-click page's POST) against a trivial view, on the
same gunicorn. Run by hand, on a database of its own (it empties the tables it uses):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_surveys REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/survey_bench.py \
        [--invitations 20000] [--connections 32] [--workers 2] [--threads 4] [--seconds 30] [--port 8190]

(``REDIS_URL``: the cache of the rate limit and the broker of the closed-loop task, as in
production; without it both are database tables and files, which measures those instead.)

1. Data (not timed): ``--invitations`` customers, an active NPS survey from the ready-made template,
   one invitation each (``INSERT ... SELECT generate_series``); the customers have no account manager,
   so an answer writes the response and the timeline (no follow-up task), as most answers do.
2. gunicorn with ``--workers`` workers of ``--threads`` threads each on this database, as `make run`
   serves the product (``--threads 1``: sync workers); the answer rate limit lifted with
   ``SURVEYS_ANSWERS_PER_MINUTE``, since every request comes from 127.0.0.1.
3. ``--connections`` client threads POST answers for ``--seconds``: a random invitation and score,
   the page's token and cookie (made here with the site's secret, as the page would hand them
   out), a comment on one answer in four; a second answer to an invitation updates its response.
4. The same threads GET ``/healthz`` (the trivial view) for as long.

Prints both throughputs, p50/p95/p99 and the ratio. Goal: answers at least half the trivial
view's throughput, p99 under 100 ms. Then checks the database: one response per answered
invitation, none counted twice; and runs what the beat runs every minute, the closed loop of the
pending answers (their timeline entries), timing it.

The page token of each POST names the survey, as the page's does, so that a worker that has the
survey's questions writes the answer in one statement; each worker's first answer goes the long way.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")


def setup_data(*, invitations: int) -> int:
    from django.db import connection

    from surveys import services

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE surveys_response, surveys_invitation, surveys_question, surveys_survey, customers_interaction, "
            "customers_customer, contact_plans_message CASCADE"
        )
        cursor.execute(
            "INSERT INTO customers_customer (id, external_id, name, email, phone, company, country, language, "
            "time_zone, acquisition_source, marketing_consent, consent_source, notes, created_at, updated_at) "
            "SELECT g, 'B' || g, 'Customer ' || g, '', '', '', 'GB', (ARRAY['en','id','ms','ca'])[1 + g %% 4], "
            "'UTC', '', false, '', '', now(), now() FROM generate_series(1, %s) g",
            [invitations],
        )
    survey = services.survey_create_from_template(kind="nps")
    services.survey_activate(survey=survey)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO surveys_invitation (survey_id, customer_id, wave, language, created_at, sent_at, answered, "
            "delivered) SELECT %s, id, 'bench', language, now(), now(), false, true FROM customers_customer",
            [survey.pk],
        )
        cursor.execute("ANALYZE")
    return survey.pk


def _serve(workers: int, threads: int, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "SURVEYS_ANSWERS_PER_MINUTE": "100000000",
        "VAR_DIR": tempfile.mkdtemp(prefix="survey-bench-"),
    }
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "retention_crm.wsgi", "-w", str(workers), "--threads", str(threads),
         "-b", f"127.0.0.1:{port}",
         "--access-logfile", "-", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            connection = HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


def _answer_request(invitation_id: int, score: int, better_id: int, rng, *, survey_id: int) -> tuple[str, bytes, dict]:
    from surveys import public_views, tokens

    token = tokens.answer_token(invitation_id, score)
    nonce = f"{rng.getrandbits(128):032x}"
    page_token = public_views.page_token_make(nonce=nonce, token=token, survey_id=survey_id)
    fields = {"score": str(score), "page_token": page_token}
    if rng.random() < 0.25:
        fields[f"q{better_id}"] = "Delivery was slow" if score <= 6 else "Lovely staff"
    body = urllib.parse.urlencode(fields).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"{public_views.PAGE_COOKIE}={nonce}",
        "Origin": "null",  # what a browser sends under Referrer-Policy: no-referrer
    }
    return f"/a/{token}/", body, headers


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(kind: str, *, port: int, seconds: float, connections: int, requests: list) -> dict:
    timings: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.time() + seconds

    def worker(number: int) -> None:
        rng = random.Random(number)
        while time.time() < stop:
            method, url, body, headers = (
                requests[rng.randrange(len(requests))] if requests else ("GET", "/healthz", None, {})
            )
            started = time.perf_counter()
            try:
                connection = HTTPConnection("127.0.0.1", port, timeout=60)
                connection.request(method, url, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
                connection.close()
            except OSError as exc:
                status = f"0 {exc}"
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                timings.append(elapsed)
                if status != 200:
                    errors.append(str(status))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.time() - started
    return {
        "kind": kind,
        "requests": len(timings),
        "seconds": round(elapsed, 1),
        "per_second": round(len(timings) / elapsed, 1),
        "p50": round(statistics.median(timings), 1),
        "p95": round(_percentile(timings, 0.95), 1),
        "p99": round(_percentile(timings, 0.99), 1),
        "errors": len(errors),
        "first_errors": errors[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invitations", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (make run serves with 4)")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--port", type=int, default=8190)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from surveys.models import Invitation, Response, Survey

    print(f"data: {args.invitations:,} invitations...", flush=True)
    survey_id = setup_data(invitations=args.invitations)
    survey = Survey.objects.get(pk=survey_id)
    better = survey.questions.get(position=2)
    ids = list(Invitation.objects.filter(survey=survey).values_list("id", flat=True))
    rng = random.Random(1)
    # Prepared before the run, so the clients spend their time on the wire, not on signing.
    prepared = []
    for _ in range(min(len(ids), 20_000)):
        url, body, headers = _answer_request(rng.choice(ids), rng.randint(0, 10), better.pk, rng, survey_id=survey.pk)
        prepared.append(("POST", url, body, headers))
    connection.close()

    server = _serve(args.workers, args.threads, args.port)
    try:
        run("warm-up", port=args.port, seconds=2, connections=4, requests=[])
        answers = run("answers", port=args.port, seconds=args.seconds, connections=args.connections, requests=prepared)
        trivial = run("healthz", port=args.port, seconds=args.seconds, connections=args.connections, requests=[])
    finally:
        server.terminate()
        server.wait(timeout=30)
    for result in (answers, trivial):
        print(
            f"{result['kind']}: {args.connections} connections, {args.workers} gunicorn workers x {args.threads} threads, {result['seconds']} s: "
            f"{result['requests']:,} requests, {result['per_second']}/s, p50 {result['p50']} ms, "
            f"p95 {result['p95']} ms, p99 {result['p99']} ms, {result['errors']} errors {result['first_errors']}",
            flush=True,
        )
    ratio = answers["per_second"] / trivial["per_second"] if trivial["per_second"] else 0
    print(f"ratio answers / trivial view: {ratio:.2f} (goal >= 0.5); answers p99 {answers['p99']} ms (goal < 100)")
    responses = Response.objects.filter(survey=survey).count()
    answered = Invitation.objects.filter(survey=survey, answered=True).count()
    print(f"responses {responses:,}, answered invitations {answered:,} (must be equal: nothing counted twice)")
    # What the beat does next (every minute): the closed loop of the answers just recorded.
    from surveys.answers import survey_answers_process

    pending = Response.objects.filter(survey=survey, loop_pending=True).count()
    started = time.perf_counter()
    processed = survey_answers_process(seconds=600)
    elapsed = time.perf_counter() - started
    left = Response.objects.filter(survey=survey, loop_pending=True).count()
    print(
        f"closed loop (the beat's task, in this process): {pending:,} pending, {processed:,} taken in "
        f"{elapsed:.1f} s ({processed / elapsed if elapsed else 0:.0f}/s), {left} left"
    )


if __name__ == "__main__":
    main()
