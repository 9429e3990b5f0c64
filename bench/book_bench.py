"""Book performance benchmark: the page and the API as an administrator, for every kind of period.

Run by hand, not in CI, on the database made by bench/metrics_bench.py (a million customers, about
ten million orders, recomputed):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_metrics .venv/bin/python bench/book_bench.py \
        [--requests 10] [--custom-requests 3] [--custom-days 100 ...] [--no-refresh] [--verify]

It writes nothing but the stored sums (and range jobs, which it deletes):

1. the refresh that follows every recompute (metrics.services.book.book_sums_refresh: the sums of
   every book for the 25 periods the picker offers, from one load of the day totals), timed; left
   out with --no-refresh (the sums of the last refresh are used);
2. GET /book-performance/?period=<key> (the page, as a browser gets it, minus the middleware) for
   the last complete month, quarter (the default) and year, and GET /api/v1/book-performance/ with
   start and end for the same three periods: p50 and p95 of --requests requests each. Goal: under
   1 s (p95);
3. custom ranges the picker does not offer (--custom-days days before the last complete month's
   end; 100 by default), --custom-requests times each: the API's first answer (202 with the job),
   then the job computed here as a worker computes it (metrics.services.book.book_range_compute;
   the task is not sent to a broker); then the API for the same range, answered from the job's
   kept sums (--requests requests);
4. with --verify, the three periods asked for as ranges, each computed by a job, compared with the
   stored sums: equal to the last bit (the job adds the nightly run's doubles in the same order), or
   the largest relative difference.
The viewer is an administrator who is not saved (a superuser object with its role cached): no
session or user row is written, and the view runs as for any administrator.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")

WARMUP_REQUESTS = 1
GOAL_MS = 1000.0


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def administrator():
    """A superuser that is never saved: the role checks answer from the object, with no query."""
    from django.contrib.auth import get_user_model

    from customers import roles

    user = get_user_model()(username="bench-admin", first_name="Bench", is_superuser=True, is_staff=True)
    user._role_names = {roles.ADMINISTRATOR}  # what customers.roles caches after its one query
    return user


def timed_requests(call, requests: int) -> dict:
    for _i in range(WARMUP_REQUESTS):
        call()
    timings = []
    for _i in range(requests):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return summary(timings)


def page_call(user, key: str):
    from django.test import RequestFactory

    from contact_plans.book_views import book_page

    def call():
        request = RequestFactory().get("/book-performance/", {"period": key})
        request.user = user
        response = book_page(request)
        assert response.status_code == 200, response.status_code
        return response

    return call


def api_call(user, start, end, status: int = 200):
    from rest_framework.test import APIRequestFactory, force_authenticate

    from contact_plans.api import BookPerformanceApi

    view = BookPerformanceApi.as_view()

    def call():
        request = APIRequestFactory().get(
            "/api/v1/book-performance/", {"start": start.isoformat(), "end": end.isoformat()}
        )
        force_authenticate(request, user=user)
        response = view(request)
        response.render()
        assert response.status_code == status, (response.status_code, response.data)
        return response

    return call


def largest_relative_difference(stored: tuple, computed: tuple) -> float:
    """The largest |stored - computed| / |computed| over the base's and every book's sums (inf when
    the books differ)."""
    import numpy as np
    import pandas as pd

    def table(sums: tuple) -> pd.DataFrame:
        base, books = sums
        return pd.concat([base.astype(float).to_frame().T, books.astype(float).sort_index()])

    if list(stored[1].sort_index().index) != list(computed[1].sort_index().index):
        return float("inf")
    old, new = table(stored).to_numpy(), table(computed).to_numpy()
    return float(np.max(np.abs(old - new) / np.maximum(np.abs(new), 1e-300)))


def summary(timings: list[float]) -> dict:
    return {
        "requests": len(timings),
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(_percentile(timings, 0.95), 1),
    }


def forget_range(period) -> None:
    """Drop the kept jobs of ``period``, so that the next request starts one."""
    from metrics.models import BookRange

    BookRange.objects.filter(start=period.start, end=period.end).delete()


def line(label: str, result: dict, goal: bool = True) -> str:
    verdict = ("met" if result["p95_ms"] < GOAL_MS else "NOT met") if goal else "a worker's time"
    return f"{label:<52} p50 {result['p50_ms']:>9.1f} ms  p95 {result['p95_ms']:>9.1f} ms  (goal p95 < 1 s: {verdict})"


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10, help="timed requests per stored period (default 10)")
    parser.add_argument("--custom-requests", type=int, default=3, help="timed requests of each custom range")
    parser.add_argument("--custom-days", type=int, nargs="+", default=[100], help="lengths of the custom ranges")
    parser.add_argument("--no-refresh", action="store_true", help="use the sums of the last refresh")
    parser.add_argument("--verify", action="store_true", help="compare the stored sums with sums computed now")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from customers.models import AccountAssignment, Customer, CustomerDay
    from metrics import conf, selectors
    from metrics.analytics import book
    from metrics.models import BookSums
    from metrics.services import book as book_services
    from metrics.services.book import book_range_compute, book_range_request, book_sums_refresh

    # The bench is the worker: a job the API starts is computed here, timed, not sent to a broker.
    book_services._queue = lambda job_id: None

    print(
        f"Database: {connection.vendor} {connection.settings_dict.get('NAME')}; customers {Customer.objects.count():,}, "
        f"customer days {CustomerDay.objects.count():,}, assignments {AccountAssignment.objects.count():,}"
    )
    results: dict = {}
    if not args.no_refresh:
        started = time.perf_counter()
        stored = book_sums_refresh()
        results["refresh_s"] = round(time.perf_counter() - started, 1)
        print(
            f"1. Refresh of the stored sums: {stored} periods, {BookSums.objects.count()} rows, {results['refresh_s']} s"
        )
    today = timezone.localdate()
    choices = book.period_choices(today)
    periods = {"month": choices["months"][0], "quarter": choices["quarters"][0], "year": choices["years"][0]}
    user = administrator()
    print(f"2. As an administrator, {args.requests} requests each (after {WARMUP_REQUESTS} untimed):")
    for kind, period in periods.items():
        results[f"page_{kind}"] = timed_requests(page_call(user, period.key), args.requests)
        print(line(f"   page, {kind} {period.key}", results[f"page_{kind}"]))
        results[f"api_{kind}"] = timed_requests(api_call(user, period.start, period.end), args.requests)
        print(line(f"   API, {kind} {period.key}", results[f"api_{kind}"]))
    custom_end = choices["months"][0].end
    window_days = int(conf.get("ACTIVITY_WINDOW_DAYS"))
    for days in args.custom_days:
        custom = book.period_custom(custom_end - timedelta(days=days), custom_end)
        answers, computes = [], []
        for _i in range(args.custom_requests):
            forget_range(custom)
            started = time.perf_counter()
            job_id = api_call(user, custom.start, custom.end, status=202)().data["id"]
            answers.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            assert book_range_compute(job_id=job_id), "the job failed: see the log"
            computes.append((time.perf_counter() - started) * 1000)
        results[f"custom_{days}_202"] = summary(answers)
        print(line(f"3. custom range {custom.key}: the API's 202", results[f"custom_{days}_202"]))
        results[f"custom_{days}_job"] = summary(computes)
        print(line("   the job, computed as a worker does", results[f"custom_{days}_job"], goal=False))
        results[f"custom_{days}_api"] = timed_requests(api_call(user, custom.start, custom.end), args.requests)
        print(line("   API, the same range once computed", results[f"custom_{days}_api"]))
        forget_range(custom)
    if args.verify:
        for kind, period in periods.items():
            # The period asked for as a range (the API never makes a job for a stored period).
            forget_range(period)
            job = book_range_request(period=period)
            assert book_range_compute(job_id=job.pk), "the job failed: see the log"
            job.refresh_from_db()
            base, books, _at = selectors.book_range_sums(job)
            forget_range(period)
            stored_base, stored_books, _at = selectors.book_sums_stored(period, window_days=window_days)
            difference = largest_relative_difference((stored_base, stored_books), (base, books))
            exact = difference == 0.0 and list(stored_books.sort_index().index) == list(books.sort_index().index)
            print(
                f"4. {kind} {period.key}: the stored sums and a range job's are "
                f"{'EXACTLY EQUAL' if exact else 'NOT equal'} (largest relative difference {difference:.1e})"
            )
            results[f"verify_{kind}"] = exact
    return results


if __name__ == "__main__":
    main()
