"""The import pages: upload, the job page with its progress and report, and who sees which jobs.

Personas: Alice owns the customers under test (tests/customers/conftest.py), Bob is a colleague
(another account manager), Charlie has no role, Marta is a marketer, Ada an administrator.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import ImportJob
from tests.clients import client_for

from .factories import ImportJobFactory, ImportRowErrorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_root(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path
    return tmp_path


def csv_upload(content: bytes = b"external_id,name\nC1,Ana\n", name: str = "customers.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.mark.parametrize("persona", ["alice", "ada"])
def test_administrators_and_account_managers_see_the_import_page(request, persona):
    user = request.getfixturevalue(persona)

    response = client_for(user).get(reverse("customers:imports"))

    assert response.status_code == 200
    assert "referred_by (external id)" in response.content.decode()  # the format's columns are described


@pytest.mark.parametrize("persona", ["marta", "charlie"])
def test_who_may_not_import_gets_404(request, persona, media_root):
    user = request.getfixturevalue(persona)

    shown = client_for(user).get(reverse("customers:imports"))
    sent = client_for(user).post(reverse("customers:imports"), {"format": "customers", "file": csv_upload()})

    assert (shown.status_code, sent.status_code) == (404, 404)
    assert not ImportJob.objects.exists()


def test_uploading_a_file_queues_a_job_and_opens_its_page(alice, media_root):
    response = client_for(alice).post(reverse("customers:imports"), {"format": "customers", "file": csv_upload()})

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:import_detail", args=[job.pk])
    assert (job.created_by, job.format, job.original_name) == (alice, "customers", "customers.csv")


def test_uploading_a_too_big_file_shows_a_clear_error(settings, alice, media_root):
    settings.IMPORT_MAX_UPLOAD_BYTES = 10

    response = client_for(alice).post(reverse("customers:imports"), {"format": "customers", "file": csv_upload()})

    assert response.status_code == 200
    assert "the limit for an upload is" in response.context["form"].errors["file"][0]
    assert "the limit for an upload is" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_uploading_without_a_file_names_the_missing_field(alice, media_root):
    response = client_for(alice).post(reverse("customers:imports"), {"format": "customers"})

    assert response.status_code == 200
    assert "file" in response.context["form"].errors


def test_a_running_job_page_polls_its_progress_every_second(alice):
    job = ImportJobFactory(
        created_by=alice,
        finished=True,
        status=ImportJob.Status.RUNNING,
        finished_at=None,
        total_bytes=100,
        processed_bytes=50,
    )

    response = client_for(alice).get(reverse("customers:import_detail", args=[job.pk]))

    page = response.content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert reverse("customers:import_progress", args=[job.pk]) in page
    assert 'aria-valuenow="45"' in page


def test_a_finished_job_stops_polling_and_shows_its_report(alice):
    job = ImportJobFactory(created_by=alice, finished=True)
    ImportRowErrorFactory(job=job, line=3, column="email", reason="email is not a valid email address")

    response = client_for(alice).get(reverse("customers:import_progress", args=[job.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "hx-trigger" not in page
    assert "email is not a valid email address" in page
    assert reverse("customers:import_report", args=[job.pk]) in page


def test_a_refused_job_shows_why(alice):
    job = ImportJobFactory(
        created_by=alice, finished=True, status=ImportJob.Status.FAILED, message="The file is not UTF-8 text."
    )

    response = client_for(alice).get(reverse("customers:import_detail", args=[job.pk]))

    assert "The file is not UTF-8 text." in response.content.decode()


def test_the_report_downloads_as_csv(alice):
    job = ImportJobFactory(created_by=alice, finished=True)
    ImportRowErrorFactory(job=job, line=3, column="email", reason="bad email")

    response = client_for(alice).get(reverse("customers:import_report", args=[job.pk]))

    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert response.content.decode().splitlines() == ["line,column,reason", "3,email,bad email"]


@pytest.mark.parametrize("name", ["customers:import_detail", "customers:import_progress", "customers:import_report"])
def test_another_users_import_is_404_for_a_colleague_but_visible_to_an_administrator(name, alice, bob, ada):
    job = ImportJobFactory(created_by=alice, finished=True)
    url = reverse(name, args=[job.pk])

    assert client_for(bob).get(url).status_code == 404
    assert client_for(ada).get(url).status_code == 200


def test_import_list_shows_only_the_users_own_jobs(alice, bob):
    ImportJobFactory(created_by=alice, finished=True, original_name="alice.csv")
    ImportJobFactory(created_by=bob, finished=True, original_name="bob.csv")

    page = client_for(alice).get(reverse("customers:imports")).content.decode()

    assert "alice.csv" in page
    assert "bob.csv" not in page


@pytest.mark.parametrize(
    ("fields", "label", "colour"),
    [
        ({"error_count": 0}, "Finished", "success"),
        ({"rows_read": 7, "created_count": 5, "error_count": 2}, "Finished with errors", "warning"),
        ({"rows_read": 7, "created_count": 0, "error_count": 7}, "Nothing imported", "danger"),
        ({"status": ImportJob.Status.FAILED, "created_count": 0, "error_count": 0}, "Refused", "danger"),
    ],
    ids=["finished", "with-errors", "nothing-imported", "refused"],
)
def test_a_finished_jobs_state_and_colours_say_what_happened(alice, fields, label, colour):
    job = ImportJobFactory(created_by=alice, finished=True, **fields)

    page = client_for(alice).get(reverse("customers:import_progress", args=[job.pk])).content.decode()

    assert f'<span class="badge text-bg-{colour}">{label}</span>' in page
    assert f"progress-bar bg-{colour}" in page
    assert f"alert alert-{colour}" in page
    for other in {"success", "warning", "danger"} - {colour}:
        assert f"bg-{other}" not in page and f"alert-{other}" not in page


def test_a_job_with_every_row_bad_says_nothing_was_imported(alice, media_root, django_capture_on_commit_callbacks):
    content = b"external_id,name,email\n" + b"".join(b"X-%d,Name,not-an-email\n" % n for n in range(7))

    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("customers:imports"), {"format": "customers", "file": csv_upload(content)})

    page = client.get(response["Location"]).content.decode()
    assert ImportJob.objects.get().error_count == 7
    assert "Nothing was imported." in page and "text-bg-danger" in page
    assert "The import is finished." not in page and "bg-success" not in page


def test_a_refused_upload_shows_no_green_uploaded_message_above_the_refusal(
    alice, media_root, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("customers:imports"),
            {"format": "customers", "file": csv_upload(b"\x00\x01binary", name="photo.csv")},
        )

    page = client.get(response["Location"]).content.decode()
    assert "The file was refused." in page
    assert "The file is uploaded" not in page
    assert "alert-success" not in page


def test_a_running_job_says_the_file_is_uploaded(alice):
    job = ImportJobFactory(created_by=alice, finished=True, status=ImportJob.Status.RUNNING, finished_at=None)

    page = client_for(alice).get(reverse("customers:import_progress", args=[job.pk])).content.decode()

    assert "The file is uploaded" in page
    assert '<span class="badge text-bg-primary">Running</span>' in page


def test_a_bad_value_is_shown_escaped_in_the_page(alice, media_root, django_capture_on_commit_callbacks):
    content = b'external_id,name,email\nX-1,Ana,"<script>alert(1)</script>"\nX-2,Budi,budi@example.com\n'
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("customers:imports"), {"format": "customers", "file": csv_upload(content)})

    page = client.get(response["Location"]).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "Finished with errors" in page


@pytest.mark.parametrize("fmt", ["customers", "orders", "online-retail", "cdnow"])
def test_the_imports_page_offers_a_sample_file_of_every_format(alice, fmt):
    url = reverse("customers:import_sample", args=[fmt])

    page = client_for(alice).get(reverse("customers:imports")).content.decode()
    response = client_for(alice).get(url)

    assert f'href="{url}"' in page
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="sample-')
    assert len(response.content.splitlines()) > 2


@pytest.mark.parametrize("persona", ["marta", "charlie"])
def test_who_may_not_import_gets_no_sample_file(request, persona):
    user = request.getfixturevalue(persona)

    response = client_for(user).get(reverse("customers:import_sample", args=["customers"]))

    assert response.status_code == 404


def test_a_sample_of_an_unknown_format_is_404(alice):
    assert client_for(alice).get(reverse("customers:import_sample", args=["spreadsheet"])).status_code == 404
