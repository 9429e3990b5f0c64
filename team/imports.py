"""Employees from a CSV file: name, email, team, team_lead, language, joined.

- ``name`` and ``email`` are required; the email identifies the employee (ignoring case), so a
  second import of the same file finds every row as it is and changes nothing.
- ``team``: the team's name (created when new); ``team_lead``: the email of that team's lead, an
  employee of the file or already kept; ``language``: en, id, ms or ca (en when empty);
  ``joined``: YYYY-MM-DD.
- A bad row is reported by its line (the header is line 1) and column and left out; the good rows
  are imported together, in one transaction.

A company's staff is thousands of rows at most: read and checked in Python, within the request.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from .models import Employee, Team

COLUMNS = ("name", "email", "team", "team_lead", "language", "joined")
REQUIRED = ("name", "email")
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000


@dataclass
class RowError:
    line: int
    column: str
    message: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    teams_created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        """The file as a whole could not be read (nothing imported)."""
        return any(error.line <= 1 for error in self.errors)


@dataclass
class _Row:
    line: int
    name: str
    email: str
    team: str
    team_lead: str
    language: str
    joined: date | None


def _read(raw: bytes, report: ImportReport) -> list[dict] | None:
    if len(raw) > MAX_BYTES:
        report.errors.append(RowError(1, "", _("The file is larger than 2 MB.")))
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.errors.append(RowError(1, "", _("The file is not UTF-8 text.")))
        return None
    if "\x00" in text:
        report.errors.append(RowError(1, "", _("The file is not a CSV file.")))
        return None
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        report.errors.append(
            RowError(1, ", ".join(missing), _("Missing column(s): %(columns)s.") % {"columns": ", ".join(missing)})
        )
        return None
    reader.fieldnames = header
    rows = []
    try:
        for row in reader:
            rows.append(row)
            if len(rows) > MAX_ROWS:
                report.errors.append(RowError(1, "", _("The file has more than 10,000 rows.")))
                return None
    except csv.Error as exc:
        report.errors.append(RowError(reader.line_num, "", _("The CSV cannot be read: %(error)s") % {"error": exc}))
        return None
    return rows


def _check(raw_rows: list[dict], report: ImportReport) -> list[_Row]:
    languages = {code for code, _name in settings.LANGUAGES}
    good: list[_Row] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_rows):
        line = index + 2
        value = {name: (raw.get(name) or "").strip() for name in COLUMNS}
        errors = []
        if not value["name"]:
            errors.append(RowError(line, "name", _("The name is empty.")))
        elif len(value["name"]) > 200:
            errors.append(RowError(line, "name", _("The name is longer than 200 characters.")))
        email = value["email"].lower()
        try:
            validate_email(email)
        except ValidationError:
            errors.append(
                RowError(line, "email", _("“%(value)s” is not an email address.") % {"value": value["email"][:80]})
            )
        else:
            if email in seen:
                errors.append(
                    RowError(line, "email", _("The same email is on line %(line)s already.") % {"line": seen[email]})
                )
        if value["team_lead"]:
            try:
                validate_email(value["team_lead"])
            except ValidationError:
                errors.append(
                    RowError(
                        line,
                        "team_lead",
                        _("“%(value)s” is not an email address.") % {"value": value["team_lead"][:80]},
                    )
                )
            if not value["team"]:
                errors.append(RowError(line, "team_lead", _("A team lead needs a team.")))
        if len(value["team"]) > 100:
            errors.append(RowError(line, "team", _("The team's name is longer than 100 characters.")))
        language = value["language"].lower() or "en"
        if language not in languages:
            errors.append(
                RowError(
                    line,
                    "language",
                    _("“%(value)s” is not a language of the CRM (%(choices)s).")
                    % {"value": value["language"][:20], "choices": ", ".join(sorted(languages))},
                )
            )
        joined = None
        if value["joined"]:
            try:
                joined = date.fromisoformat(value["joined"])
            except ValueError:
                errors.append(
                    RowError(
                        line, "joined", _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value["joined"][:20]}
                    )
                )
        if errors:
            report.errors.extend(errors)
            continue
        seen[email] = line
        good.append(_Row(line, value["name"], email, value["team"], value["team_lead"].lower(), language, joined))
    return good


def _leads(rows: list[_Row], report: ImportReport) -> tuple[list[_Row], dict[str, str]]:
    """Each team's lead by the file (one per team); rows naming another lead, or an unknown one, are bad."""
    in_file = {row.email for row in rows}
    wanted_leads = [row.team_lead for row in rows if row.team_lead]
    known = set(
        Employee.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=wanted_leads)
        .values_list("email_lower", flat=True)
    )
    leads: dict[str, str] = {}
    good = []
    for row in rows:
        if row.team_lead:
            if row.team_lead not in in_file and row.team_lead not in known:
                report.errors.append(
                    RowError(
                        row.line, "team_lead", _("No employee has the email “%(value)s”.") % {"value": row.team_lead}
                    )
                )
                continue
            if leads.setdefault(row.team, row.team_lead) != row.team_lead:
                report.errors.append(
                    RowError(
                        row.line,
                        "team_lead",
                        _("The team %(team)s has another lead in this file (%(lead)s).")
                        % {"team": row.team, "lead": leads[row.team]},
                    )
                )
                continue
        good.append(row)
    return good, leads


@transaction.atomic
def employees_import(*, raw: bytes) -> ImportReport:
    report = ImportReport()
    raw_rows = _read(raw, report)
    if raw_rows is None:
        return report
    rows, leads = _leads(_check(raw_rows, report), report)
    teams = {team.name: team for team in Team.objects.filter(name__in={row.team for row in rows if row.team})}
    for name in sorted({row.team for row in rows if row.team} - set(teams)):
        teams[name] = Team.objects.create(name=name)
        report.teams_created += 1
    # By the email ignoring case, as the unique index compares them.
    matching = Employee.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=[r.email for r in rows])
    existing = {employee.email_lower: employee for employee in matching}
    by_email: dict[str, Employee] = {}
    for row in rows:
        wanted = {
            "name": row.name,
            "email": row.email,
            "language": row.language,
            "team_id": teams[row.team].pk if row.team else None,
            "joined_at": row.joined,
        }
        employee = existing.get(row.email)
        if employee is None:
            employee = Employee.objects.create(**wanted)
            report.created += 1
        else:
            changed = [name for name, value in wanted.items() if getattr(employee, name) != value]
            if changed:
                for name in changed:
                    setattr(employee, name, wanted[name])
                employee.save(update_fields=changed)
                report.updated += 1
            else:
                report.unchanged += 1
        by_email[row.email] = employee
    for team_name, lead_email in leads.items():
        team = teams[team_name]
        lead = by_email.get(lead_email) or Employee.objects.filter(email__iexact=lead_email).first()
        if lead is not None and team.lead_id != lead.pk:
            team.lead = lead
            team.save(update_fields=["lead"])
    return report
