"""Survey benchmark: answer submissions (the one-click page's POST) against a trivial view, on the
same gunicorn. Run by hand, on a database of its own (it empties the tables it uses):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_surveys REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/survey_bench.py \
        [--invitations 20000] [--connections 32] [--workers 2] [--threads 8] [--seconds 20] [--rounds 3] \
        [--client wrk|python] [--port 8190]

(``REDIS_URL``: the cache of the rate limit and the broker of the closed-loop task, as in
production; without it both are database tables and files, which measures those instead.)

1. Data (not timed): ``--invitations`` customers, an active NPS survey from the ready-made template,
   one invitation each (``INSERT ... SELECT generate_series``); the customers have no account manager,
   so an answer writes the response and marks it for the closed loop (no follow-up task), as most
   answers do. 20,000 answer requests are prepared before anything is timed: a random invitation and
   score, the page's token and cookie (made here with the site's secret, as the page hands them
   out), a comment on one answer in four; a second answer to an invitation updates its response.
2. gunicorn with ``--workers`` workers of ``--threads`` threads each (8, gthread, as `make run`
   serves; 1: sync workers), ``--worker-tmp-dir /dev/shm`` as `make run` serves, on this database, logging as
   production does (INFO, to a file); the answer rate limit lifted with
   ``SURVEYS_ANSWERS_PER_MINUTE``, since every request comes from 127.0.0.1. One GET of the answer
   page per worker thread first, as a visitor's, so that every process has the survey's questions.
3. ``--rounds`` times, in turn: the answers for ``--seconds``, then ``/healthz`` (the trivial view,
   through the same middleware) for as long, each from ``--connections`` connections, a new TCP
   connection per request (``Connection: close``: one visitor, one POST) for both. The client is
   ``wrk`` (C, a Lua script cycling through the prepared requests) when installed
   (``apt-get install wrk``), else (or with ``--client python``) 32 Python threads in this process,
   whose own CPU takes a good part of the two cores from the server (the figures before 6 December
   2026, 19:00 were measured with it).

Prints, per run, the throughput, p50/p95/p99, errors, the load average, and **the CPU each request
cost** on every side: the gunicorn processes (user and system), this database's PostgreSQL
backends, the Redis server (shared with whatever else uses it), and the client; then each round's
ratio answers / trivial view. Goal: answers at least half the trivial view's throughput, p99 under
100 ms. Then each gunicorn worker's group commit (how many answers it wrote in how many
statements, by batch size: surveys/group_commit.py), and checks the database: one response per answered invitation, none counted twice; and
runs what the beat runs every minute, the closed loop of the pending answers, timing it.

The page token of each POST names the survey, as the page's does, so that a worker that has the
survey's questions writes the answer in one statement.
"""

import argparse
import json
import os
import random
import shutil
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
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


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


def _serve(workers: int, threads: int, port: int, var_dir: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "SURVEYS_ANSWERS_PER_MINUTE": "100000000",
        "VAR_DIR": var_dir,
    }
    tmp_dir = ["--worker-tmp-dir", "/dev/shm"] if Path("/dev/shm").is_dir() else []
    with open(Path(var_dir) / "gunicorn.log", "ab") as log:
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "retention_crm.wsgi", "-w", str(workers), "--threads", str(threads),
             "-b", f"127.0.0.1:{port}", *tmp_dir, "--access-logfile", "-", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
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


# --- What each request costs in CPU, on every side -------------------------------------------------


def _ticks(pid: int) -> tuple[int, int] | None:
    """(user, system) clock ticks of a process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(fields[11]), int(fields[12])


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(child) for child in found]


def _sides(server: subprocess.Popen) -> dict[str, list[int]]:
    """The processes of each side: gunicorn's, this database's backends (persistent connections:
    one per worker thread), the Redis server."""
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        backends = [row[0] for row in cursor.fetchall()]
    sides = {"gunicorn": [server.pid, *_children(server.pid)], "postgres": backends, "redis": []}
    if settings.REDIS_URL:
        import redis

        sides["redis"] = [int(redis.Redis.from_url(settings.REDIS_URL).info("server")["process_id"])]
    return sides


def _snapshot(sides: dict[str, list[int]]) -> dict[str, dict[int, tuple[int, int]]]:
    return {side: {pid: t for pid in pids if (t := _ticks(pid)) is not None} for side, pids in sides.items()}


def _cpu_per_request(before: dict, after: dict, client_ms: float, requests: int) -> dict[str, float]:
    """Milliseconds of CPU per request on each side (a process that came or went during the run is
    counted from when it was seen; the client's is given)."""
    per = {}
    for side in before:
        user = system = 0
        for pid, (u1, s1) in after[side].items():
            u0, s0 = before[side].get(pid, (0, 0))
            user, system = user + u1 - u0, system + s1 - s0
        scale = 1000 / CLOCK_TICKS / max(requests, 1)
        per[side] = round((user + system) * scale, 3)
        if side == "gunicorn":
            per["gunicorn user"], per["gunicorn system"] = round(user * scale, 3), round(system * scale, 3)
    per["client"] = round(client_ms / max(requests, 1), 3)
    per["total"] = round(sum(v for k, v in per.items() if k in {"gunicorn", "postgres", "redis", "client"}), 3)
    return per


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


# --- The clients ------------------------------------------------------------------------------------

_WRK_SCRIPT = r"""
-- The prepared answers (path, body, cookie: a line each, tab-separated), cycled through from a
-- different place by each thread; or the trivial view's GET. A new connection per request.
local requests, counter, position = {}, 0, 0
function setup(thread)
  thread:set("number", counter)
  counter = counter + 1
end
function init(args)
  local file = os.getenv("BENCH_REQUESTS")
  if file == "" then
    requests[1] = wrk.format("GET", "/healthz", {["Connection"] = "close"})
  else
    for line in io.lines(file) do
      local path, body, cookie = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)$")
      requests[#requests + 1] = wrk.format("POST", path, {
        ["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = cookie,
        ["Origin"] = "null", ["Connection"] = "close"}, body)
    end
  end
  position = (number * 7919) % #requests
end
function request()
  position = position % #requests + 1
  return requests[position]
end
function done(summary, latency, requests)
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %f, "errors": %d, "p50": %f, "p95": %f, "p99": %f}\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
      + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def run_wrk(kind: str, *, port: int, seconds: float, connections: int, requests_file: str, work_dir: str) -> dict:
    script = Path(work_dir) / "bench.lua"
    script.write_text(_WRK_SCRIPT)
    threads = min(connections, 2)
    started = os.times()
    finished = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "10s", "-s", str(script),
         f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, env={**os.environ, "BENCH_REQUESTS": requests_file}, check=True,
    )  # fmt: skip
    ended = os.times()
    line = next(line for line in finished.stdout.splitlines() if line.startswith("BENCH "))
    result = json.loads(line[len("BENCH ") :])
    client_ms = (
        (ended.children_user + ended.children_system) - (started.children_user + started.children_system)
    ) * 1000
    return {
        "kind": kind,
        "requests": result["requests"],
        "seconds": round(result["seconds"], 1),
        "per_second": round(result["requests"] / result["seconds"], 1),
        "p50": round(result["p50"], 1),
        "p95": round(result["p95"], 1),
        "p99": round(result["p99"], 1),
        "errors": result["errors"],
        "first_errors": [],
        "client_ms": client_ms,
    }


def run_python(kind: str, *, port: int, seconds: float, connections: int, requests: list) -> dict:
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
    cpu_started = time.process_time()
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
        "client_ms": (time.process_time() - cpu_started) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invitations", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=8, help="threads per worker (make run serves with 8; 1: sync workers)"
    )
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python")
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
    work_dir = tempfile.mkdtemp(prefix="survey-bench-")
    requests_file = Path(work_dir) / "answers.tsv"
    # Prepared before the run, so the clients spend their time on the wire, not on signing.
    prepared = []
    with requests_file.open("w") as out:
        for _ in range(20_000):
            url, body, headers = _answer_request(
                rng.choice(ids), rng.randint(0, 10), better.pk, rng, survey_id=survey.pk
            )
            prepared.append(("POST", url, body, headers))
            out.write(f"{url}\t{body.decode()}\t{headers['Cookie']}\n")
    connection.close()

    server = _serve(args.workers, args.threads, args.port, work_dir)
    label = f"{args.workers} gunicorn workers x {args.threads} threads, {args.connections} connections, {args.client}"
    ratios = []
    try:
        for _ in range(args.workers * args.threads * 2):  # every worker thread opens the page once
            page = HTTPConnection("127.0.0.1", args.port, timeout=30)
            page.request("GET", prepared[0][1])
            page.getresponse().read()
            page.close()
        sides = _sides(server)
        for round_number in range(1, args.rounds + 1):
            results = []
            for kind in ("answers", "healthz"):
                load_before = _load()
                before = _snapshot(sides)
                if args.client == "wrk":
                    result = run_wrk(
                        kind, port=args.port, seconds=args.seconds, connections=args.connections,
                        requests_file=str(requests_file) if kind == "answers" else "", work_dir=work_dir,
                    )  # fmt: skip
                else:
                    result = run_python(
                        kind, port=args.port, seconds=args.seconds, connections=args.connections,
                        requests=prepared if kind == "answers" else [],
                    )  # fmt: skip
                sides = _sides(server)  # a connection reopened (CONN_MAX_AGE) is a new backend
                cpu = _cpu_per_request(before, _snapshot(sides), result["client_ms"], result["requests"])
                results.append(result)
                print(
                    f"round {round_number} {kind}: {label}, {result['seconds']} s: {result['requests']:,} requests, "
                    f"{result['per_second']}/s, p50 {result['p50']} ms, p95 {result['p95']} ms, p99 {result['p99']} ms, "
                    f"{result['errors']} errors {result['first_errors']}; load {load_before} -> {_load()}; "
                    f"CPU ms a request: {cpu}",
                    flush=True,
                )
            answers, trivial = results
            ratio = answers["per_second"] / trivial["per_second"] if trivial["per_second"] else 0
            ratios.append(ratio)
            print(
                f"round {round_number}: ratio answers / trivial view {ratio:.2f} (goal >= 0.5); "
                f"answers p99 {answers['p99']} ms (goal < 100)",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"ratios: {', '.join(f'{r:.2f}' for r in ratios)}; gunicorn's log: {work_dir}/gunicorn.log")
    # Each worker's group commit says at exit how many answers it wrote in how many statements.
    for line in (Path(work_dir) / "gunicorn.log").read_text(errors="replace").splitlines():
        if "surveys.group_commit" in line:
            print("batches of one worker (size:statements):", line.split("surveys.group_commit ", 2)[-1])
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
