"""The birthday bonus: once a year per member, one statement for the whole base, 29 February on
28 February in other years, days missed caught up, never twice."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty import selectors
from loyalty.birthdays import birthday_bonus_award, birthdays_of
from loyalty.models import LedgerEntry, Programme
from tests.customers.factories import CustomerFactory

from .factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bonus():
    selectors.programme_get()
    Programme.objects.filter(pk=1).update(birthday_bonus_points=100)


def _member(born: date | None, **customer):
    return MemberFactory(customer=CustomerFactory(birth_date=born, **customer))


def _at(y, m, d) -> datetime:
    return datetime(y, m, d, 9, tzinfo=UTC)


def test_members_born_today_get_the_bonus_once_a_year(bonus):
    today = _member(date(1985, 6, 12))
    other = _member(date(1985, 6, 20))
    unknown = _member(None)

    assert birthday_bonus_award(now=_at(2025, 6, 12)) == 1
    assert birthday_bonus_award(now=_at(2025, 6, 12)) == 0  # a second run
    assert birthday_bonus_award(now=_at(2025, 6, 14)) == 0  # the catch-up window sees it was given

    entry = LedgerEntry.objects.get(source="birthday")
    assert (entry.member_id, entry.points, entry.key) == (today.pk, 100, f"birthday:{today.pk}:2025")
    assert entry.expires_at is not None and entry.reason == "Birthday bonus"
    assert birthday_bonus_award(now=_at(2026, 6, 12)) == 1  # the next year, again
    today.refresh_from_db(), other.refresh_from_db(), unknown.refresh_from_db()
    assert (today.points, other.points, unknown.points) == (200, 0, 0)
    assert selectors.balance_drift() == []


def test_29_february_falls_on_28_february_outside_leap_years(bonus):
    leapling = _member(date(2000, 2, 29))

    assert birthday_bonus_award(now=_at(2025, 2, 28)) == 1
    assert birthday_bonus_award(now=_at(2025, 3, 1)) == 0
    assert birthday_bonus_award(now=_at(2028, 2, 28)) == 0  # a leap year: their day is the 29th
    assert birthday_bonus_award(now=_at(2028, 2, 29)) == 1
    assert list(LedgerEntry.objects.filter(member=leapling).values_list("key", flat=True).order_by("id")) == [
        f"birthday:{leapling.pk}:2025",
        f"birthday:{leapling.pk}:2028",
    ]
    assert birthdays_of(date(2025, 2, 28)) == [(228, 2025), (229, 2025)]
    assert birthdays_of(date(2024, 2, 28)) == [(228, 2024)]


def test_a_day_the_task_did_not_run_is_caught_up_within_a_week(bonus):
    member = _member(date(1990, 12, 30))

    assert birthday_bonus_award(now=_at(2026, 1, 3)) == 1  # across the new year: 2025's bonus

    assert LedgerEntry.objects.get(member=member).key == f"birthday:{member.pk}:2025"
    assert birthday_bonus_award(now=_at(2026, 1, 10)) == 0


def test_no_bonus_without_a_setting_nor_for_the_archived_or_those_enrolled_later(bonus):
    archived = _member(date(1970, 5, 5), archived_at=_at(2025, 1, 1))
    late = _member(date(1970, 5, 5))
    type(late).objects.filter(pk=late.pk).update(enrolled_at=_at(2025, 5, 6))

    assert birthday_bonus_award(now=_at(2025, 5, 5)) == 0
    Programme.objects.filter(pk=1).update(birthday_bonus_points=0)
    assert birthday_bonus_award(now=_at(2026, 5, 5)) == 0
    assert not LedgerEntry.objects.filter(member__in=[archived, late]).exists()


def test_the_bonus_is_one_statement_whatever_the_number_of_members(bonus):
    for _ in range(3):
        _member(date(1980, 4, 1))
    with CaptureQueriesContext(connection) as few:
        birthday_bonus_award(now=_at(2025, 4, 1))
    for _ in range(30):
        _member(date(1981, 4, 1))
    with CaptureQueriesContext(connection) as many:
        assert birthday_bonus_award(now=_at(2025, 4, 1)) == 30

    assert len(many) == len(few)
