"""The demo's staff: teams with leads, the demo users as employees, one-to-ones with notes and
action items, one overdue; seeded once."""

import pytest

from team import selectors
from team.demo import team_demo_seed
from team.models import ActionItem, Employee, OneToOne, PrivateNote, Team
from tests.conftest import _user

pytestmark = pytest.mark.django_db


def test_the_demo_has_teams_leads_and_one_to_ones(django_user_model):
    for username in ("marta", "amelia", "budi", "carles"):
        _user(django_user_model, username)

    assert team_demo_seed() is True
    assert team_demo_seed() is False

    marta = Employee.objects.get(user__username="marta")
    assert Team.objects.get(name="Customer success").lead == marta
    assert Team.objects.get(name="Customer success").members.count() >= 5
    assert OneToOne.objects.filter(lead=marta).count() == 3
    assert selectors.overdue_meetings_for_lead(marta).count() == 1
    assert ActionItem.objects.filter(done_at__isnull=True).count() == 2
    assert PrivateNote.objects.count() == 2
