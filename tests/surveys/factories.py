"""Helpers of the survey tests: surveys from the ready-made templates, employees, invitations and
the links of their emails."""

from urllib.parse import urlparse

from django.utils import timezone

from surveys import services, tokens
from surveys.models import Invitation, Survey
from team.models import Employee, Team


def active_survey(kind: str = "nps", **fields) -> Survey:
    survey = services.survey_create_from_template(kind=kind)
    for name, value in fields.items():
        setattr(survey, name, value)
    survey.save()
    return services.survey_activate(survey=survey)


def employee(name: str, *, team: Team | None = None, language: str = "en") -> Employee:
    slug = name.lower().replace(" ", ".")
    return Employee.objects.create(name=name, email=f"{slug}@staff.example.com", team=team, language=language)


def invitation_for(
    survey: Survey, *, customer=None, employee=None, wave: str = "w1", language: str = "en"
) -> Invitation:
    return Invitation.objects.create(
        survey=survey, customer=customer, employee=employee, wave=wave, language=language, created_at=timezone.now()
    )


def answer_url(invitation: Invitation, score: int | None = None) -> str:
    return tokens.answer_path(invitation.pk, score)


def path_of(url: str) -> str:
    return urlparse(url).path
