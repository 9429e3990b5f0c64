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


def test_the_demo_people_are_the_team_demos_whichever_app_seeds_first(django_user_model):
    """seed_demo's receivers run surveys' demo before the team's: the eNPS and pulse surveys need
    employees, and they must be the demo's own people (marta leading, the logins linked), not a
    second made-up staff that makes the team demo believe it already ran."""
    from customers.models import Customer
    from surveys.demo import surveys_demo_seed

    for username in ("marta", "amelia", "budi", "carles"):
        _user(django_user_model, username)
    Customer.objects.bulk_create(
        Customer(external_id=f"C{i}", name=f"Customer {i}", email=f"c{i}@example.com") for i in range(5)
    )

    assert surveys_demo_seed() is True
    team_demo_seed()

    marta = Employee.objects.get(user__username="marta")
    assert OneToOne.objects.filter(lead=marta).count() == 3
    assert not Employee.objects.filter(name__contains="Member").exists()
