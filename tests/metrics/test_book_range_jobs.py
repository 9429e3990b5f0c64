"""Book performance for a custom range through the API (issue 12): the nightly run's periods are
served from its stored sums (200); any other range is computed by a worker (metrics.BookRange):
the API answers 202 at once with the job, the job carries its progress and then the report, and
every request for the range until the next refresh of the stored sums is answered from its kept
sums, with exactly the figures the nightly run computes for the same period."""

import time
from datetime import date, datetime, timedelta

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from metrics import selectors
from metrics.analytics import book
from metrics.models import BookRange, BookSums
from metrics.services import book as book_services
from metrics.services.book import book_range_compute, book_range_reap, book_sums_refresh
from tests.conftest import api_client_for
from tests.customers.factories import OrderFactory, order_add_line

from .book_dataset import Q1_2024, at, book_dataset

pytestmark = pytest.mark.django_db

BOOK = "/api/v1/book-performance/"
TODAY = date(2024, 5, 10)
# A range the picker does not offer: mid-January to early March 2024.
RANGE = {"start": "2024-01-15", "end": "2024-03-10"}
Q1 = {"start": "2024-01-01", "end": "2024-04-01"}


@pytest.fixture
def dataset(alice, bob):
    return book_dataset(alice, bob)


def ask(user, query, capture):
    """GET the report of ``query`` as ``user``, running what it queues (the worker's task, eager in
    tests) after its commit, as a worker would."""
    with capture(execute=True):
        return api_client_for(user).get(BOOK, query)


def test_a_custom_range_answers_202_with_the_job_then_200_from_its_kept_sums(
    dataset, marta, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = api_client_for(marta).get(BOOK, RANGE)

    assert first.status_code == 202
    job = first.json()
    assert job["status"] == "queued" and job["progress_percent"] == 0 and job["report"] is None
    assert job["period"] == RANGE and job["window_days"] == 90 and job["failure"] == ""
    assert first["Location"] == job["links"]["status"] and first["Location"].endswith(f"/book-ranges/{job['id']}/")
    assert len(queued) == 1  # the worker's task, after commit

    with django_capture_on_commit_callbacks(execute=False):
        again = api_client_for(marta).get(BOOK, RANGE)
    assert again.status_code == 202 and again.json()["id"] == job["id"]  # one job per range

    queued[0]()  # the worker runs the task
    polled = api_client_for(marta).get(first["Location"])
    served = api_client_for(marta).get(BOOK, RANGE)

    assert polled.status_code == 200
    body = polled.json()
    assert body["status"] == "succeeded" and body["progress_percent"] == 100
    assert (body["steps_done"], body["steps_total"]) == (6, 6)
    assert served.status_code == 200 and served.json() == body["report"]
    base, _books = selectors.book_period_sums(book.period_custom(date(2024, 1, 15), date(2024, 3, 10)), window_days=90)
    expected = book.figures_from_sums(None, base).as_dict()
    assert served.json()["base"] == {name: expected[name] for name in served.json()["base"]}
    assert [row["manager"] for row in served.json()["books"]] == ["Alice", "Bob"]
    assert BookRange.objects.count() == 1


def test_the_figures_of_a_range_are_exactly_the_nightly_runs_for_the_same_period(
    dataset, marta, django_capture_on_commit_callbacks
):
    """Q1 2024 asked as a range before the nightly run stored it, then stored by the run: the same
    numbers to the last binary digit, counts and amounts, for the base and every book."""
    computed = ask(marta, Q1, django_capture_on_commit_callbacks)
    job = BookRange.objects.get()
    book_sums_refresh(today=TODAY)
    stored = api_client_for(marta).get(BOOK, Q1)

    assert computed.status_code == 202 and stored.status_code == 200
    stored_base, stored_books, _at = selectors.book_sums_stored(Q1_2024, window_days=90)
    assert job.sums["base"] == {name: stored_base[name] for name in book.SUM_COLUMNS}
    assert dict(job.sums["books"]) == {
        int(manager_id): {name: row[name] for name in book.SUM_COLUMNS} for manager_id, row in stored_books.iterrows()
    }
    # The hand-worked figures (book_dataset), through the API.
    alice = next(row for row in stored.json()["books"] if row["manager"] == "Alice")
    assert (alice["customers"], alice["active_at_start"], alice["retained"]) == (3, 3, 2)
    assert alice["net_revenue_retention"] == pytest.approx(200 / 380)
    assert not BookRange.objects.exists()  # the refresh dropped the range kept for the sums it replaced


def test_a_period_of_the_picker_is_served_from_the_stored_sums_without_a_job(dataset, marta):
    book_sums_refresh(today=TODAY)

    response = api_client_for(marta).get(BOOK, Q1)

    assert response.status_code == 200
    assert response.json()["base"]["revenue"] == 650.0
    assert response.json()["computed_at"] == BookSums.objects.first().computed_at.isoformat().replace("+00:00", "Z")
    assert not BookRange.objects.exists()


def test_each_persona_sees_its_books_of_the_job_and_a_stranger_nothing(
    dataset, alice, bob, charlie, marta, ada, django_capture_on_commit_callbacks
):
    ask(marta, RANGE, django_capture_on_commit_callbacks)
    job = BookRange.objects.get()
    url = f"/api/v1/metrics/book-ranges/{job.pk}/"

    alices = api_client_for(alice).get(url).json()["report"]
    admins = api_client_for(ada).get(BOOK, RANGE).json()

    assert [row["manager_id"] for row in alices["books"]] == [alice.pk]
    assert [row["manager_id"] for row in api_client_for(bob).get(BOOK, RANGE).json()["books"]] == [bob.pk]
    assert {row["manager"] for row in admins["books"]} == {"Alice", "Bob"}
    assert alices["base"] == admins["base"]  # the whole base is every reader's benchmark
    assert api_client_for(charlie).get(url).status_code == 404
    assert api_client_for(charlie).get(BOOK, RANGE).status_code == 404
    assert api_client_for(marta).get(f"/api/v1/metrics/book-ranges/{job.pk + 1000}/").status_code == 404
    assert BookRange.objects.count() == 1


def test_a_failed_job_says_why_keeps_nothing_and_asking_again_retries(
    dataset, marta, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(selectors, "book_assignments", broken)
    first = ask(marta, RANGE, django_capture_on_commit_callbacks)
    failed = BookRange.objects.get()
    polled = api_client_for(marta).get(first["Location"]).json()
    monkeypatch.undo()
    retry = ask(marta, RANGE, django_capture_on_commit_callbacks)

    assert (failed.status, failed.failure, failed.sums) == ("failed", "error", None)
    assert failed.steps_done == 4  # customers, days, first purchases and upsell days were read
    assert polled["status"] == "failed" and polled["report"] is None and "failed" in polled["failure"]
    assert retry.status_code == 202 and retry.json()["id"] != failed.pk
    assert api_client_for(marta).get(BOOK, RANGE).status_code == 200


def test_the_task_is_idempotent(dataset, marta, django_capture_on_commit_callbacks):
    ask(marta, RANGE, django_capture_on_commit_callbacks)
    job = BookRange.objects.get()

    assert book_range_compute(job_id=job.pk) is False  # a second delivery: nothing to do
    job.refresh_from_db()
    assert job.status == "succeeded" and job.sums is not None


def test_a_job_whose_worker_died_is_reaped_and_asked_for_again(dataset, marta, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        api_client_for(marta).get(BOOK, RANGE)
    job = BookRange.objects.get()
    long_ago = timezone.now() - timedelta(minutes=settings.JOB_HEARTBEAT_TIMEOUT_MINUTES + 1)
    BookRange.objects.filter(pk=job.pk).update(status="running", started_at=long_ago, heartbeat_at=long_ago)

    again = ask(marta, RANGE, django_capture_on_commit_callbacks)

    job.refresh_from_db()
    assert (job.status, job.failure) == ("failed", "worker_lost") and job.finished_at is not None
    assert again.status_code == 202 and again.json()["id"] != job.pk
    assert BookRange.objects.get(pk=again.json()["id"]).status == "succeeded"
    # Late, the lost worker finishes: its job stays failed, nothing is overwritten.
    assert book_range_compute(job_id=job.pk) is False
    assert book_range_reap() == 0


def test_a_job_whose_task_never_came_is_reaped(dataset, marta, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        api_client_for(marta).get(BOOK, RANGE)
    BookRange.objects.update(created_at=timezone.now() - timedelta(minutes=book_services.QUEUED_TIMEOUT_MINUTES + 1))

    assert book_range_reap() == 1
    assert BookRange.objects.get().failure == "worker_lost"


def test_a_range_is_computed_again_after_the_stored_sums_are_refreshed(
    dataset, marta, django_capture_on_commit_callbacks
):
    before = ask(marta, RANGE, django_capture_on_commit_callbacks)
    before = api_client_for(marta).get(before["Location"]).json()["report"]
    order_add_line(OrderFactory(customer=dataset["c6"], ordered_at=at("2024-02-20")), unit_price=500)
    kept = api_client_for(marta).get(BOOK, RANGE).json()

    book_sums_refresh(today=TODAY)
    asked = ask(marta, RANGE, django_capture_on_commit_callbacks)
    after = api_client_for(marta).get(BOOK, RANGE).json()

    assert kept == before  # kept until the refresh, as the stored periods are
    assert asked.status_code == 202
    assert after["base"]["revenue"] == before["base"]["revenue"] + 500
    assert BookRange.objects.get().sums_of == BookSums.objects.first().computed_at


def test_too_many_ranges_at_once_answer_429_but_a_range_being_computed_is_still_followed(
    dataset, marta, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        for offset in range(book_services.MAX_PENDING):
            first = api_client_for(marta).get(BOOK, {"start": "2024-01-01", "end": f"2024-02-{offset + 1:02d}"})
            assert first.status_code == 202
        refused = api_client_for(marta).get(BOOK, RANGE)
        followed = api_client_for(marta).get(BOOK, {"start": "2024-01-01", "end": "2024-02-01"})

    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    assert "Too many ranges" in refused.json()["error"]["message"]
    assert followed.status_code == 202 and followed.json()["id"] == first.json()["id"] - book_services.MAX_PENDING + 1
    assert BookRange.objects.count() == book_services.MAX_PENDING


# One live job per range is a unique constraint with NULLs not distinct (sums_of is null before the
# first refresh): PostgreSQL 15's, which SQLite cannot state (settings silence models.W047 there).
@pytest.mark.postgres
def test_two_requests_racing_for_one_range_share_the_job_the_first_created(dataset, monkeypatch):
    """The second request looked before the first had created the job: its insert fails on the
    partial unique index, and it returns the first one's job."""
    period = book.period_custom(date(2024, 1, 15), date(2024, 3, 10))
    first = book_services.book_range_request(period=period)
    real, calls = selectors.book_range_live, []

    def not_yet_seen(*args, **kwargs):
        calls.append(1)
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(selectors, "book_range_live", not_yet_seen)
    second = book_services.book_range_request(period=period)

    assert second.pk == first.pk and len(calls) == 2
    assert BookRange.objects.count() == 1


# One live job per range is a unique constraint with NULLs not distinct (sums_of is null before the
# first refresh): PostgreSQL 15's, which SQLite cannot state (settings silence models.W047 there).
@pytest.mark.postgres
def test_one_live_job_per_range_is_a_constraint(dataset):
    fields = {"start": date(2024, 1, 15), "end": date(2024, 3, 10), "window_days": 90, "sums_of": None}
    BookRange.objects.create(**fields)
    BookRange.objects.create(**fields, status="failed", failure="error", finished_at=timezone.now())

    with pytest.raises(IntegrityError), transaction.atomic():
        BookRange.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        BookRange.objects.create(**fields | {"start": date(2024, 3, 10)})  # an empty range
    with pytest.raises(IntegrityError), transaction.atomic():
        BookRange.objects.create(**fields | {"window_days": 30}, status="succeeded")  # done without sums


def test_exact_sums_add_the_same_doubles_in_the_same_order_as_the_nightly_run(dataset, alice):
    """Amounts whose float sums depend on the order of the additions (0.1 + 0.2 + 0.3 is not
    0.3 + 0.2 + 0.1): a range computed now gives the stored sums to the last bit."""
    for day, cents in (("2024-02-11", 10), ("2024-02-12", 20), ("2024-02-13", 30), ("2024-02-14", 70)):
        order_add_line(OrderFactory(customer=dataset["c1"], ordered_at=at(day)), unit_price=cents / 100)
    book_sums_refresh(today=TODAY)
    stored_base, stored_books, _at = selectors.book_sums_stored(Q1_2024, window_days=90)

    base, books = selectors.book_period_sums(Q1_2024, window_days=90)

    assert {name: base[name] for name in book.SUM_COLUMNS} == {name: stored_base[name] for name in book.SUM_COLUMNS}
    assert books.loc[alice.pk].to_dict() == stored_books.loc[alice.pk].to_dict()


@pytest.mark.parametrize(
    ("name", "choices"),
    [
        ("book_range_status_valid", BookRange.Status.values),
        ("book_range_failure_valid", ["", *BookRange.Failure.values]),
    ],
)
def test_each_choice_constraint_allows_exactly_the_choices(name, choices):
    constraint = next(c for c in BookRange._meta.constraints if c.name == name)
    (_lookup, values), *_ = constraint.condition.children
    assert set(values) == set(choices)


def test_book_period_sums_reports_each_step(dataset):
    steps = []

    selectors.book_period_sums(
        book.period_custom(date(2024, 1, 15), date(2024, 3, 10)), window_days=90, progress=steps.append
    )

    assert steps == [1, 2, 3, 4, 5, 6] and selectors.BOOK_PERIOD_STEPS == 6


def test_bad_ranges_are_refused_naming_the_field(marta):
    client = api_client_for(marta)
    cases = [
        ({"start": "2024-01-01"}, "end"),
        ({"start": "2024-04-01", "end": "2024-01-01"}, "end"),
        ({"start": "2020-01-01", "end": "2024-01-01"}, "end"),
        ({"start": "x", "end": "2024-01-01"}, "start"),
    ]

    for query, field in cases:
        response = client.get(BOOK, query)
        assert response.status_code == 400 and list(response.json()["error"]["fields"]) == [field], query
    assert not BookRange.objects.exists()


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_computes_the_range_and_the_job_shows_its_progress(alice, bob, marta, celery_worker):
    book_dataset(alice, bob)
    client = api_client_for(marta)

    response = client.get(BOOK, RANGE)
    assert response.status_code == 202
    deadline, seen = datetime.now() + timedelta(seconds=60), set()
    while datetime.now() < deadline:
        job = client.get(response["Location"]).json()
        seen.add(job["status"])
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.1)

    assert job["status"] == "succeeded", job
    assert job["report"]["base"]["revenue"] == client.get(BOOK, RANGE).json()["base"]["revenue"]
    assert client.get(BOOK, RANGE).status_code == 200
