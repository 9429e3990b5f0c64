"""Employees and teams for administrators: the pages, and the CSV import with its report of bad
rows by line and column; a second import of the same file changes nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from team.imports import employees_import
from team.models import Employee, Team
from tests.clients import client_for

pytestmark = pytest.mark.django_db

GOOD = b"""name,email,team,team_lead,language,joined
Lena Lead,LENA@staff.example,Support,lena@staff.example,en,2024-01-15
Paul Person,paul@staff.example,Support,lena@staff.example,id,2025-03-01
Olga Other,olga@staff.example,Sales,,ca,
"""


def test_an_import_creates_teams_with_their_lead_and_a_second_changes_nothing(db):
    report = employees_import(raw=GOOD)
    assert (report.created, report.updated, report.unchanged, report.teams_created, report.errors) == (3, 0, 0, 2, [])
    support = Team.objects.get(name="Support")
    assert support.lead.email == "lena@staff.example"
    assert Employee.objects.get(email="paul@staff.example").language == "id"

    again = employees_import(raw=GOOD)
    assert (again.created, again.updated, again.unchanged, again.teams_created) == (0, 0, 3, 0)


def test_bad_rows_are_reported_by_line_and_column_and_left_out(db):
    raw = b"""name,email,team,team_lead,language,joined
Good One,good@staff.example,Support,,en,2024-01-01
,noname@staff.example,,,,
Bad Mail,not-an-email,,,,
Twice,good@staff.example,,,,
Lang,lang@staff.example,,,fr,
Date,date@staff.example,,,,01/02/2024
Lead,lead@staff.example,Support,nobody@staff.example,,
"""
    report = employees_import(raw=raw)

    problems = [(error.line, error.column) for error in report.errors]
    assert problems == [(3, "name"), (4, "email"), (5, "email"), (6, "language"), (7, "joined"), (8, "team_lead")]
    assert report.created == 1 and Employee.objects.count() == 1


@pytest.mark.parametrize(
    "raw",
    [b"email\nx@y.z\n", b"\xff\xfe\x00garbage", b""],
)
def test_a_file_that_cannot_be_read_imports_nothing(db, raw):
    report = employees_import(raw=raw)
    assert report.refused and not Employee.objects.exists()


def test_the_pages_are_for_administrators_only(ada, alice, charlie):
    for user in (alice, charlie):
        client = client_for(user)
        assert client.get(reverse("team:employees")).status_code == 404
        assert client.post(reverse("team:employee_import")).status_code == 404

    client = client_for(ada)
    upload = SimpleUploadedFile("staff.csv", GOOD, content_type="text/csv")
    page = client.post(reverse("team:employee_import"), {"file": upload}).content.decode()
    assert "data-report" in page and Employee.objects.count() == 3

    response = client.post(
        reverse("team:employee_create"), {"name": "<i>New</i>", "email": "Paul@staff.example", "language": "en"}
    )
    assert "Another employee has this email." in response.content.decode()
    assert (
        client.post(
            reverse("team:employee_create"), {"name": "<i>New</i>", "email": "new@staff.example", "language": "en"}
        ).status_code
        == 302
    )
    listing = client.get(reverse("team:employees")).content.decode()
    assert "&lt;i&gt;New&lt;/i&gt;" in listing and "<i>New</i>" not in listing

    team = Team.objects.get(name="Sales")
    lead = Employee.objects.get(email="olga@staff.example")
    assert client.post(reverse("team:team_edit", args=[team.pk]), {"name": "Sales", "lead": lead.pk}).status_code == 302
    assert Team.objects.get(pk=team.pk).lead == lead
