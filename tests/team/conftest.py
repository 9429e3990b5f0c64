"""Personas of the team side: Lena leads the Support team, Paul is in it and has a one-to-one with
her, Eve is in it too (another employee), Olga leads another team (another lead), Ada is an
administrator. Each has a login linked to their employee (Ada has none)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from team import services
from team.models import Employee, Team
from tests.conftest import _user


@pytest.fixture
def people(db, django_user_model, ada):
    support = Team.objects.create(name="Support")
    sales = Team.objects.create(name="Sales")
    made = {}
    for username, team in (("lena", support), ("paul", support), ("eve", support), ("olga", sales)):
        user = _user(django_user_model, username, first_name=username.title())
        made[username] = Employee.objects.create(
            name=f"{username.title()} Example", email=f"{username}@staff.example", team=team, user=user
        )
    support.lead = made["lena"]
    support.save()
    sales.lead = made["olga"]
    sales.save()
    made["ada"] = ada
    return made


@pytest.fixture
def series(people):
    return services.one_to_one_start(
        lead=people["lena"], person=people["paul"], every_weeks=2, first_at=timezone.now() + timedelta(days=1)
    )
