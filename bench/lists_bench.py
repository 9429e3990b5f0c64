"""Lists benchmark: every list of the API and the UI at a million customers, per persona, and a
short concurrent run. Run by hand, not in CI, on the metrics benchmark's base (a million customers,
ten million orders, recomputed):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_metrics .venv/bin/python bench/lists_bench.py \
        [--manager am00 --book 5000] [--requests 20] [--seed-lists] [--only orders] [--out FILE.json] \
        [--concurrent-seconds 30 --connections 16 --workers 3 | --no-concurrent]

It times, through Django's test Client (the whole middleware stack, logged in), as an administrator,
an account manager (``--manager``, given a book of ``--book`` customers taken evenly across the
base with bench/segments_bench.py's ``ensure_book``) and a marketer:

1. every list endpoint of the API's schema, in its default order, in every ``?ordering=`` it allows
   both ways, with every filter it offers (each choice of a choice filter, both values of a boolean,
   a value taken from a listed row for the others, a 30-day window for a range), with a search that
   matches and one that matches nothing, and its second page (the ``next`` link);
2. every list page: the customers (each sort, each filter, a search), the segments and a segment's
   members (the largest segment and the smallest, and their second pages), the imports, the model
   health page, the account manager's "My book", and the metrics dashboard in every scope the
   persona may choose (the workspace, each country, each book) and with each segment filter;

``--requests`` requests each after two warm-up ones (the first fill Django's and PostgreSQL's
caches, which a list used all day always finds warm); it prints p50 and p95 in ms. Then

3. a concurrent run: gunicorn with ``--workers`` sync workers serves the customers API, then the
   orders API, to ``--connections`` client threads for ``--concurrent-seconds`` each; every request
   is a first page in one of the orders the endpoint allows or the page after it, for one of the
   three personas in turn (token authentication); it prints throughput, p50/p95/p99 and errors. The
   per-user API rate limit is raised for the run (API_THROTTLE_USER): three users sending hundreds
   of requests a second is a load test, not a client.

``--seed-lists`` first fills what the metrics benchmark leaves empty, so that those lists are timed
on rows rather than on nothing: 1,000,000 interactions, 20,000 follow-ups, an import with 100,000
bad rows, and a refresh of every segment (about a minute). It only adds rows, and only when they
are missing. Book performance is not a list and is not timed here.
"""

import argparse
import html
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import timedelta
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")
# As in production: no query log kept in memory, no debug pages.
os.environ.setdefault("DJANGO_DEBUG", "false")

# Requests before timing a list: Django's URL, template and translation caches, PostgreSQL's buffers.
WARMUP_REQUESTS = 2
GOAL_MS = 150
DASHBOARD_GOAL_MS = 300
NO_MATCH = "zqxj-no-such-customer"
INTERACTIONS = 1_000_000
FOLLOWUPS = 20_000
ROW_ERRORS = 100_000


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


# --- Personas and data ------------------------------------------------------------------------------


def ensure_personas(manager: str, book: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from segments_bench import ensure_book

    from customers import roles

    users = {}
    for key, username, group in (
        ("admin", "bench_admin", roles.ADMINISTRATOR),
        ("marketer", "bench_marketer", roles.MARKETER),
    ):
        user, _created = get_user_model().objects.get_or_create(username=username, defaults={"first_name": username})
        user.groups.add(Group.objects.get_or_create(name=group)[0])
        users[key] = user
    ensure_book(manager, book)
    users["manager"] = get_user_model().objects.get(username=manager)
    return users


def seed_lists(admin) -> None:
    """Rows for the lists the metrics benchmark leaves empty (only what is missing; never deletes)."""
    from django.db import connection

    from customers.models import ImportJob, ImportRowError, Interaction
    from segmentation.models import SegmentMembership

    with connection.cursor() as cursor:
        missing = INTERACTIONS - Interaction.objects.count()
        if missing > 0:
            print(f"Adding {missing:,} interactions…", flush=True)
            # Spread over the base and three years, kinds, directions and channels drawn apart (a hash
            # of the row number, so that no book is all of one kind); one in twenty a complaint, two
            # in three of those resolved.
            cursor.execute(
                """
                INSERT INTO customers_interaction
                    (customer_id, kind, direction, channel, subject, body, occurred_at, created_at, resolved_at,
                     status, priority, due_at, resolution, review_source, outcome)
                SELECT c.id,
                       CASE WHEN h %% 20 = 0 THEN 'complaint'
                            ELSE (ARRAY['call','email','note','meeting'])[1 + (h / 20) %% 4] END,
                       (ARRAY['outbound','outbound','outbound','inbound','internal'])[1 + (h / 80) %% 5],
                       (ARRAY['phone','email','in_person','video','chat','sms','social','web','other'])[1 + (h / 400) %% 9],
                       'Bench interaction ' || g, '',
                       now() - (h %% 1095) * interval '1 day' - (h %% 86400) * interval '1 second',
                       now(), CASE WHEN h %% 20 = 0 AND (h / 3600) %% 3 <> 0 THEN now() END,
                       -- A complaint is a case: a status that follows resolved_at, a priority, a due time.
                       CASE WHEN h %% 20 <> 0 THEN '' WHEN (h / 3600) %% 3 <> 0 THEN 'resolved' ELSE 'open' END,
                       CASE WHEN h %% 20 = 0 THEN 'normal' ELSE '' END,
                       CASE WHEN h %% 20 = 0
                            THEN now() - (h %% 1095) * interval '1 day' - (h %% 86400) * interval '1 second'
                                 + interval '3 days' END,
                       '', '', ''
                FROM (SELECT g, abs(hashtext(g::text)) AS h FROM generate_series(1, %s) g) numbers
                JOIN customers_customer c ON c.id = (SELECT min(id) FROM customers_customer) + (g::bigint * 7919) %% 1000000
                """,
                [missing],
            )
        cursor.execute("SELECT count(*) FROM contact_plans_followup")
        missing = FOLLOWUPS - cursor.fetchone()[0]
        if missing > 0:
            print(f"Adding {missing:,} follow-ups…", flush=True)
            cursor.execute(
                """
                INSERT INTO contact_plans_followup
                    (customer_id, assigned_to_id, due_at, note, state, key, created_at, kind, outcome)
                SELECT c.id, c.account_manager_id, now() + (g %% 90) * interval '1 day', '', 'open', '', now(),
                       'call', ''
                FROM generate_series(1, %s) g
                JOIN customers_customer c ON c.id = (SELECT min(id) FROM customers_customer) + (g::bigint * 104729) %% 1000000
                WHERE c.account_manager_id IS NOT NULL
                """,
                [missing],
            )
    if not ImportRowError.objects.exists():
        print(f"Adding an import with {ROW_ERRORS:,} bad rows…", flush=True)
        job = ImportJob.objects.create(
            format="customers", status="failed", original_name="bench-bad-rows.csv", path="", created_by=admin
        )
        ImportRowError.objects.bulk_create(
            (
                ImportRowError(job=job, line=line, column="email", reason="Not an email address.")
                for line in range(2, ROW_ERRORS + 2)
            ),
            batch_size=10_000,
        )
    if not SegmentMembership.objects.exists():
        from segmentation.services import segments_refresh_all

        print("Refreshing every segment…", flush=True)
        segments_refresh_all()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_interaction, contact_plans_followup, customers_importrowerror")
        cursor.execute("ANALYZE segmentation_segmentmembership, segmentation_segmentevent")


# --- Cases -------------------------------------------------------------------------------------------


def _schema_lists() -> list[str]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    paths = []
    for path, operations in schema["paths"].items():
        content = operations.get("get", {}).get("responses", {}).get("200", {}).get("content", {})
        body = content.get("application/json", {}).get("schema", {})
        if "$ref" in body:
            body = components[body["$ref"].rsplit("/", 1)[1]]
        if "results" in body.get("properties", {}):
            paths.append(path)
    return paths


def _path_objects(path: str) -> list[tuple[str, str]]:
    """(label, url) for a path: itself, or with {id} filled by the largest and the smallest parent."""
    from django.db.models import Count
    from django.urls import resolve

    from customers.models import ImportJob
    from segmentation.models import Segment

    if "{" not in path:
        return [("", path)]
    serializer = getattr(resolve(re.sub(r"\{[^}]+\}", "1", path)).func.cls, "serializer_class", None)
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    if model is None:
        # A list under a record whose view names no model (a customer's recommendations): its
        # parent is a customer.
        from customers.models import Customer

        model = Customer
    if model is Segment:
        segments = Segment.objects.filter(member_count__gt=0).order_by("-member_count")
        chosen = [s for s in (segments.first(), segments.last()) if s is not None]
        return [(f"{s.member_count:,} members", path.replace("{id}", str(s.pk))) for s in chosen]
    if model is ImportJob:
        jobs = ImportJob.objects.annotate(n=Count("row_errors")).filter(n__gt=0).order_by("-n")[:1]
        return [(f"{job.n:,} bad rows", path.replace("{id}", str(job.pk))) for job in jobs]
    first = model.objects.order_by("pk").first()
    return [("", re.sub(r"\{[^}]+\}", str(first.pk), path))] if first else []


def _value_at(instance, field_name: str):
    for part in field_name.split("__"):
        if instance is None:
            return None
        instance = getattr(instance, part)
        if hasattr(instance, "all"):  # many-to-many: its first
            instance = instance.all().first()
    return instance


def _filter_params(filterset_class, sample) -> list[tuple[str, dict]]:
    import django_filters

    cases = []
    for name, flt in filterset_class.base_filters.items():
        choices = flt.extra.get("choices")
        if isinstance(flt, django_filters.BooleanFilter):
            cases += [(f"{name}={value}", {name: value}) for value in ("true", "false")]
        elif choices:
            choices = choices() if callable(choices) else choices
            cases += [(f"{name}={value}", {name: value}) for value, _label in choices if value]
        elif sample is None:
            continue
        elif isinstance(flt, django_filters.DateFromToRangeFilter | django_filters.IsoDateTimeFromToRangeFilter):
            from django.utils import timezone

            end = _value_at(sample, flt.field_name) or timezone.now()
            if isinstance(flt, django_filters.DateFromToRangeFilter) and hasattr(end, "date"):
                end = end.date()
            start = end - timedelta(days=30)
            cases.append((f"{name} 30 days", {f"{name}_after": start.isoformat(), f"{name}_before": end.isoformat()}))
        else:
            value = _value_at(sample, flt.field_name)
            if value not in (None, ""):
                cases.append((f"{name}={value}", {name: value}))
    return cases


def api_cases(client, manager_id: int) -> list[tuple[str, str, dict]]:
    """(label, url, params) for every list endpoint of the schema, as seen by the client's user."""
    from django.urls import resolve
    from django_filters.rest_framework import DjangoFilterBackend
    from rest_framework.filters import OrderingFilter, SearchFilter

    cases = []
    for path in _schema_lists():
        for what, url in _path_objects(path):
            label = f"GET {path}" + (f" ({what})" if what else "")
            match = resolve(url)
            view = match.func
            is_list = getattr(view, "actions", {"get": "list"}).get("get") == "list"
            backends = (
                view.initkwargs.get("filter_backends", getattr(view.cls, "filter_backends", [])) if is_list else []
            )
            first = client.get(url)
            if first.status_code == 400 and "manager" in first.json().get("error", {}).get("fields", {}):
                # The worklist: an administrator names whose.
                url = f"{url}?manager={manager_id}"
                first = client.get(url)
            if first.status_code in (403, 404):
                print(f"  {label:<78} not for this persona ({first.status_code})", flush=True)
                continue
            cases.append((label, url, {}))
            body = first.json() if first.status_code == 200 else {}
            if body.get("next"):
                cases.append((f"{label} page 2", body["next"], {}))
            if any(issubclass(b, OrderingFilter) for b in backends):
                for name in view.cls.ordering_fields or ():
                    cases += [
                        (f"{label} ordering={sign}{name}", url, {"ordering": f"{sign}{name}"}) for sign in ("", "-")
                    ]
            sample = _sample(view.cls, body.get("results") or [])
            if any(issubclass(b, DjangoFilterBackend) for b in backends) and getattr(view.cls, "filterset_class", None):
                for what_filter, params in _filter_params(view.cls.filterset_class, sample):
                    cases.append((f"{label} {what_filter}", url, params))
            if any(issubclass(b, SearchFilter) for b in backends) and getattr(view.cls, "search_fields", None):
                text = (getattr(sample, "name", None) or getattr(sample, "subject", None) or "") if sample else ""
                word = text.split()[0] if text.split() else "customer"
                cases += [
                    (f"{label} search={word}", url, {"search": word}),
                    (f"{label} search=(no match)", url, {"search": NO_MATCH}),
                ]
    return cases


def _sample(view_class, results: list[dict]):
    """The model row behind the first listed result (for filter values the user may see)."""
    if not results or not hasattr(view_class, "serializer_class"):
        return None
    model = view_class.serializer_class.Meta.model
    pk = results[0].get("id", results[0].get("customer_id"))
    return model.objects.filter(pk=pk).first()


def page_cases(user, persona: str) -> list[tuple[str, str, dict]]:
    from django.urls import reverse

    from customers import roles, selectors
    from customers.forms import CustomerFilterForm
    from metrics import selectors as metric_selectors
    from segmentation.models import Segment

    customers = reverse("customers:list")
    cases = [
        (f"/customers/ sort={sort}", customers, {"sort": sort}) for sort, _label in CustomerFilterForm.SORT_CHOICES
    ]
    visible = selectors.customer_visible_to(user).order_by("pk")
    sample = visible.first()
    cases.append(("/customers/ country", customers, {"country": sample.country}))
    cases.append(("/customers/ language=de", customers, {"language": "de"}))
    if persona != "manager":
        cases.append(("/customers/ account_manager", customers, {"account_manager": sample.account_manager_id}))
    cases += [(f"/customers/ archived={value}", customers, {"archived": value}) for value in ("archived", "all")]
    cases.append(("/customers/ search (a name)", customers, {"q": sample.name.split()[0]}))
    cases.append(("/customers/ search (no match)", customers, {"q": NO_MATCH}))
    cases.append(("/customers/ sort=-created_at page 2", customers, {"sort": "-created_at", "cursor": "__next__"}))
    cases.append(("/segments/", reverse("segments:list"), {}))
    segments = Segment.objects.filter(member_count__gt=0).order_by("-member_count")
    for segment in {s.pk: s for s in (segments.first(), segments.last()) if s}.values():
        url = reverse("segments:detail", args=[segment.pk])
        cases.append((f"/segments/<id>/ ({segment.member_count:,} members)", url, {}))
        cases.append((f"/segments/<id>/ ({segment.member_count:,} members) page 2", url, {"cursor": "__next__"}))
    if roles.is_administrator(user) or roles.is_account_manager(user):
        cases.append(("/customers/imports/", reverse("customers:imports"), {}))
    cases.append(("/metrics/model-health/", reverse("metrics:model_health"), {}))
    if persona == "manager":
        cases.append(("/my-book/", reverse("worklist:home"), {}))
    dashboard = reverse("metrics:dashboard")
    scopes = metric_selectors.dashboard_scopes(user=user)
    if metric_selectors.default_scope(user=user) == "":
        cases.append(("/metrics/ workspace", dashboard, {}))
        for field in ("rfm_segment", "value_level", "risk_level"):
            cases.append((f"/metrics/ workspace {field}", dashboard, {field: _first_choice(field)}))
        cases += [(f"/metrics/ country {c}", dashboard, {"country": c}) for c in scopes["countries"]]
    cases += [(f"/metrics/ book of {m['name']}", dashboard, {"manager": m["id"]}) for m in scopes["managers"]]
    return cases


def _first_choice(field: str) -> str:
    from metrics.models import CustomerMetrics

    return next(value for value, _label in CustomerMetrics._meta.get_field(field).choices if value)


def time_case(client, url: str, params: dict, requests: int) -> dict:
    if params.get("cursor") == "__next__":  # the page the first page's "next" link leads to
        first = client.get(url, {k: v for k, v in params.items() if k != "cursor"}).content.decode()
        link = re.search(r'href="([^"]*)" rel="next"', first)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(html.unescape(link.group(1))).query) if link else {}
        params = {**params, "cursor": query.get("cursor", [""])[0]}
    for _i in range(WARMUP_REQUESTS):
        response = client.get(url, params)
    timings = []
    for _i in range(requests):
        started = time.perf_counter()
        response = client.get(url, params)
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "status": response.status_code,
        "p50": round(statistics.median(timings), 1),
        "p95": round(_percentile(timings, 0.95), 1),
    }


def run_timings(users: dict, requests: int, only: str) -> list[dict]:
    from django.test import Client
    from django.test.utils import override_settings

    results = []
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        for persona, user in users.items():
            client = Client()
            client.force_login(user)
            cases = api_cases(client, users["manager"].pk) + page_cases(user, persona)
            print(f"\n{persona} ({user.username}): {len(cases)} lists", flush=True)
            for label, url, params in cases:
                if only and only not in label:
                    continue
                timing = time_case(client, url, params, requests)
                goal = DASHBOARD_GOAL_MS if label.startswith("/metrics/ ") else GOAL_MS
                flag = (
                    ""
                    if timing["p95"] < goal and timing["status"] == 200
                    else "   <-- over the goal"
                    if timing["status"] == 200
                    else f"   <-- {timing['status']}"
                )
                print(f"  {label:<78} p50 {timing['p50']:7.1f}  p95 {timing['p95']:7.1f} ms{flag}", flush=True)
                results.append({"persona": persona, "list": label, **timing})
    return results


# --- Concurrent run ------------------------------------------------------------------------------------


def _token(user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=user)[0].key


def _serve(workers: int, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "API_THROTTLE_USER": "1000000/minute",
        "VAR_DIR": tempfile.mkdtemp(prefix="lists-bench-"),
    }
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "retention_crm.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}",
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


def _get(port: int, url: str, token: str) -> tuple[int, bytes]:
    connection = HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", url, headers={"Authorization": f"Token {token}", "Accept": "application/json"})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def concurrent_run(
    path: str, orderings: list[str], tokens: list[str], *, port: int, seconds: float, connections: int
) -> dict:
    """``connections`` threads asking for first pages (each ordering) and the pages after them."""
    variants = [path + (f"?ordering={o}" if o else "") for o in ["", *orderings]]
    timings: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.time() + seconds

    def worker(number: int) -> None:
        rng = random.Random(number)
        next_url = None
        while time.time() < stop:
            token = tokens[rng.randrange(len(tokens))]
            url = next_url or rng.choice(variants)
            started = time.perf_counter()
            try:
                status, body = _get(port, url, token)
            except OSError as exc:
                status, body = 0, str(exc).encode()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                timings.append(elapsed)
                if status != 200:
                    errors.append(f"{status} {url}")
            next_url = None
            if status == 200 and next_url is None and rng.random() < 0.5:
                link = json.loads(body).get("next")
                next_url = urllib.parse.urlsplit(link)._replace(scheme="", netloc="").geturl() if link else None

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.time() - started
    return {
        "path": path,
        "requests": len(timings),
        "seconds": round(elapsed, 1),
        "per_second": round(len(timings) / elapsed, 1),
        "p50": round(statistics.median(timings), 1),
        "p95": round(_percentile(timings, 0.95), 1),
        "p99": round(_percentile(timings, 0.99), 1),
        "errors": len(errors),
        "first_errors": errors[:5],
    }


def run_concurrent(users: dict, *, seconds: float, connections: int, workers: int, port: int) -> list[dict]:
    from customers.api.customers import CustomerViewSet
    from customers.api.orders import OrderViewSet

    tokens = [_token(user) for user in users.values()]
    server = _serve(workers, port)
    results = []
    try:
        for path, view in (("/api/v1/customers/", CustomerViewSet), ("/api/v1/orders/", OrderViewSet)):
            orderings = [f"{sign}{name}" for name in view.ordering_fields for sign in ("", "-")]
            _get(port, path, tokens[0])  # every worker's first request loads the code
            result = concurrent_run(path, orderings, tokens, port=port, seconds=seconds, connections=connections)
            print(
                f"\n{path}: {connections} connections, {workers} gunicorn workers, {result['seconds']} s: "
                f"{result['requests']:,} requests, {result['per_second']}/s, p50 {result['p50']} ms, "
                f"p95 {result['p95']} ms, p99 {result['p99']} ms, {result['errors']} errors {result['first_errors']}",
                flush=True,
            )
            results.append(result)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results


# --- main ------------------------------------------------------------------------------------------------


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manager", default="am00", help="the account manager persona (created if missing)")
    parser.add_argument("--book", type=int, default=5000, help="customers in the manager's book (taken evenly)")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per list")
    parser.add_argument("--seed-lists", action="store_true", help="add interactions, follow-ups, bad rows, segments")
    parser.add_argument("--only", default="", help="time only the lists whose label contains this text")
    parser.add_argument("--no-timings", action="store_true", help="only the concurrent run")
    parser.add_argument("--no-concurrent", action="store_true", help="leave out the concurrent run")
    parser.add_argument("--concurrent-seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--out", default="", help="write the figures to this JSON file")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from customers.models import Customer, Order

    print(
        f"Database {connection.settings_dict['NAME']}: {Customer.objects.count():,} customers, "
        f"~{Order.objects.count():,} orders",
        flush=True,
    )
    users = ensure_personas(args.manager, args.book)
    if args.seed_lists:
        seed_lists(users["admin"])
    results = {"timings": [], "concurrent": []}
    if not args.no_timings:
        results["timings"] = run_timings(users, args.requests, args.only)
        over = [
            r
            for r in results["timings"]
            if r["p95"] >= (DASHBOARD_GOAL_MS if r["list"].startswith("/metrics/ ") else GOAL_MS)
        ]
        print(f"\n{len(results['timings'])} lists timed; {len(over)} over the goal.")
    if not args.no_concurrent:
        results["concurrent"] = run_concurrent(
            users, seconds=args.concurrent_seconds, connections=args.connections, workers=args.workers, port=args.port
        )
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
