"""The imports API: upload (202), follow, report. Who may import, and what a bad upload says.

Inside a test transaction the job is queued on commit, which never comes, so a job stays
"queued" unless a test runs the on-commit callbacks (the last test, through the real runner).
"""

import csv
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import ImportJob
from tests.conftest import api_client_for

from .factories import ImportJobFactory, ImportRowErrorFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/imports/"
CSV = b"external_id,name,email\nC-1,Ana,ana@example.com\nC-2,Budi,budi@example.com\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path


def upload(content: bytes = CSV, name: str = "customers.csv", **fields) -> dict:
    return {"file": SimpleUploadedFile(name, content, content_type="text/csv"), "format": "customers", **fields}


def post(user, data):
    return api_client_for(user).post(LIST, data, format="multipart")


@pytest.fixture
def alices_job(alice):
    return ImportJobFactory(created_by=alice, original_name="a.csv")


def test_account_manager_uploads_a_csv_and_gets_202_with_the_queued_job(alice):
    response = post(alice, upload())

    assert response.status_code == 202
    body = response.json()
    job = ImportJob.objects.get(pk=body["id"])
    assert (body["status"], body["format"], body["progress_percent"]) == ("queued", "customers", 0)
    assert body["counts"] == {
        "rows_read": 0,
        "rows_skipped": 0,
        "error_count": 0,
        "created_count": 0,
        "updated_count": 0,
        "unchanged_count": 0,
    }
    assert body["links"]["status"].endswith(f"/api/v1/imports/{job.pk}/")
    assert body["links"]["report"].endswith(f"/api/v1/imports/{job.pk}/report/")
    assert response["Location"] == body["links"]["status"]
    assert (job.created_by, job.original_name, job.total_bytes) == (alice, "customers.csv", len(CSV))
    assert Path(job.path).read_bytes() == CSV


def test_administrator_may_import(ada):
    assert post(ada, upload()).status_code == 202


@pytest.mark.parametrize("persona", ["marta", "charlie"])
def test_marketers_and_users_without_a_role_cannot_import(request, persona):
    user = request.getfixturevalue(persona)

    response = post(user, upload())

    assert response.status_code == 403
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"format": "customers"}, "file"),
        (upload(format="spreadsheet"), "format"),
        (upload(content=b""), "file"),
    ],
)
def test_bad_upload_is_a_field_error(alice, data, field):
    response = post(alice, data)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert ImportJob.objects.count() == 0


def test_file_over_the_limit_is_refused_with_the_limit_in_the_message(settings, alice):
    settings.IMPORT_MAX_UPLOAD_BYTES = 10

    response = post(alice, upload())

    assert response.status_code == 400
    assert "MB" in response.json()["error"]["fields"]["file"][0]


def test_owner_follows_their_job_and_a_colleague_gets_404(alice, bob, alices_job):
    mine = api_client_for(alice).get(f"{LIST}{alices_job.pk}/")
    theirs = api_client_for(bob).get(f"{LIST}{alices_job.pk}/")

    assert mine.status_code == 200
    assert mine.json()["status"] == "queued"
    assert theirs.status_code == 404


def test_administrator_sees_every_job_and_account_managers_only_their_own(ada, alice, bob, alices_job):
    assert {row["id"] for row in api_client_for(ada).get(LIST).json()["results"]} == {str(alices_job.pk)}
    assert api_client_for(bob).get(LIST).json()["results"] == []


def test_report_is_a_csv_of_the_bad_rows(alice, alices_job):
    ImportRowErrorFactory(job=alices_job, line=3, column="email", reason="Not an email address")

    response = api_client_for(alice).get(f"{LIST}{alices_job.pk}/report/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["line", "column", "reason"], ["3", "email", "Not an email address"]]


def test_report_answers_a_client_that_asks_for_csv(alice, alices_job):
    response = api_client_for(alice).get(f"{LIST}{alices_job.pk}/report/", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200


def test_errors_are_paginated_json_in_line_order(alice, alices_job):
    for line in (7, 2, 5):
        ImportRowErrorFactory(job=alices_job, line=line, reason="Bad date")
    client = api_client_for(alice)

    first = client.get(f"{LIST}{alices_job.pk}/errors/", {"page_size": 2}).json()
    second = client.get(first["next"]).json()

    assert [row["line"] for row in first["results"]] == [2, 5]
    assert [row["line"] for row in second["results"]] == [7]
    assert first["results"][0] == {"line": 2, "column": "", "reason": "Bad date"}


def test_report_and_errors_of_someone_elses_job_are_404(bob, marta, alices_job):
    assert api_client_for(bob).get(f"{LIST}{alices_job.pk}/report/").status_code == 404
    assert api_client_for(bob).get(f"{LIST}{alices_job.pk}/errors/").status_code == 404
    assert api_client_for(marta).get(f"{LIST}{alices_job.pk}/").status_code == 403


def test_uploaded_file_is_imported_and_its_bad_rows_reported(alice, django_capture_on_commit_callbacks):
    content = b"external_id,name,email\nC-1,Ana,ana@example.com\nC-2,Budi,not-an-email\n"
    client = api_client_for(alice)

    # Celery runs eagerly in tests; executing the on-commit callback runs the import here and now.
    with django_capture_on_commit_callbacks(execute=True):
        job_id = post(alice, upload(content=content)).json()["id"]
    status = client.get(f"{LIST}{job_id}/").json()
    errors = client.get(f"{LIST}{job_id}/errors/").json()["results"]

    assert (status["status"], status["progress_percent"]) == ("succeeded", 100)
    assert (status["counts"]["rows_read"], status["counts"]["created_count"]) == (2, 1)
    assert [(row["line"], row["column"]) for row in errors] == [(3, "email")]
    assert client.get("/api/v1/customers/by-external-id/C-1/").status_code == 200


@pytest.mark.parametrize(
    ("content", "status", "outcome"),
    [
        (b"external_id,name\nC-1,Ana\n", "succeeded", "finished"),
        (b"external_id,name,email\nC-1,Ana,ana@example.com\nC-2,Budi,nope\n", "succeeded", "finished_with_errors"),
        (b"external_id,name,email\nC-1,Ana,nope\nC-2,Budi,nope\n", "succeeded", "nothing_imported"),
        (b"\x00\x01binary", "failed", "refused"),
    ],
    ids=["finished", "with-errors", "nothing-imported", "refused"],
)
def test_outcome_says_what_happened_next_to_the_status(
    alice, django_capture_on_commit_callbacks, content, status, outcome
):
    with django_capture_on_commit_callbacks(execute=True):
        job_id = post(alice, upload(content=content)).json()["id"]

    body = api_client_for(alice).get(f"{LIST}{job_id}/").json()

    assert (body["status"], body["outcome"]) == (status, outcome)


def test_a_queued_jobs_outcome_is_queued(alice, alices_job):
    assert api_client_for(alice).get(f"{LIST}{alices_job.pk}/").json()["outcome"] == "queued"
