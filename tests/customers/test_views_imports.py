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
    settings.MEDIA_ROOT = tmp_path
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
