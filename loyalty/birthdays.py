"""The birthday bonus (Programme.birthday_bonus_points): once a year per member, on their birthday.

One statement for the whole base: the members whose birthday (``Customer.birth_date``) falls in the
last ``CATCH_UP_DAYS`` days get an ``earn`` entry with the key ``birthday:<member>:<year>`` (unique:
a second run, a retry or a catch-up awards nothing twice) and their cached balance moves by it in
the same statement. Someone born on 29 February has their birthday on 28 February in other years.
A day the task did not run is caught up by the next runs within ``CATCH_UP_DAYS``.
"""

from __future__ import annotations

import calendar
import logging
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from retention_crm import sql

from . import selectors
from .ledger_bulk import entries_insert_crediting
from .models import LedgerEntry, Member

logger = logging.getLogger(__name__)

CATCH_UP_DAYS = 7

ENTRY = LedgerEntry._meta.db_table
MEMBER = Member._meta.db_table
CUSTOMER = Customer._meta.db_table


def birthdays_of(day: date) -> list[tuple[int, int]]:
    """(month x 100 + day of a birth date, year of the bonus) of the people whose birthday is ``day``:
    itself, and 29 February on 28 February of a year without one."""
    pairs = [(day.month * 100 + day.day, day.year)]
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        pairs.append((229, day.year))
    return pairs


@transaction.atomic
def birthday_bonus_award(*, now: datetime | None = None) -> int:
    """Award the birthday bonus to every member whose birthday was today or in the days before
    (``CATCH_UP_DAYS``) and who has not had it this year. Returns the number of members awarded."""
    now = now or timezone.now()
    programme = selectors.programme_get()
    points = programme.birthday_bonus_points
    if not points:
        return 0
    today = timezone.localdate(now)
    days = [pair for offset in range(CATCH_UP_DAYS) for pair in birthdays_of(today - timedelta(days=offset))]
    values = ", ".join(["(%s, %s)"] * len(days))
    at = sql.db_datetime(now)
    expires = sql.db_datetime(now + timedelta(days=programme.expiry_days)) if programme.expiry_days else None
    awarded = entries_insert_crediting(
        f"""INSERT INTO {ENTRY} (member_id, points, kind, source, reason, key, occurred_at, expires_at, created_at)
            WITH d(mmdd, year) AS (VALUES {values})
            SELECT m.customer_id, %s, 'earn', 'birthday', %s, 'birthday:' || m.customer_id || ':' || d.year,
                %s, %s, %s
            FROM {MEMBER} m
            JOIN {CUSTOMER} c ON c.id = m.customer_id
            JOIN d ON {sql.month_day("c.birth_date")} = d.mmdd
            WHERE c.birth_date IS NOT NULL AND c.archived_at IS NULL AND m.enrolled_at <= %s
            ON CONFLICT DO NOTHING""",  # noqa: S608 - table names only
        (*[v for pair in days for v in pair], points, _("Birthday bonus"), at, expires, at, at),
    )
    logger.info("loyalty.birthday_bonus members=%s", awarded)
    return awarded
