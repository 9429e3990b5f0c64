"""The windows of dates the product accepts (docs/imports.md, "Dates"), stated once.

- **Things that happened** (an order's ``ordered_at``, a consent's ``consent_at``, an interaction's
  ``occurred_at``, a customer's ``acquired_at``): from 1970-01-01 to one day ahead of now. Nothing a
  shop records happened before 1970 (the Unix epoch; the analytics count days and months from it, so
  a year-1 date would make every daily series two thousand years long), and a day ahead leaves room
  for a clock or a time zone that is a few hours early, not for a typo in the year.
- **Things planned** (a follow-up's ``due_at``, a snooze's ``until``): from 1970-01-01 to
  PLANNED_AHEAD (five years) ahead: further than anyone plans a contact, near enough that a
  mistyped year (2205 for 2025) is caught.
- **Birth dates** (a customer's ``birth_date``): from 1900-01-01 to today. People were born before
  1970; nobody alive was born before 1900, and nobody is born tomorrow.

Every way in applies them: the models' fields carry ``happened`` / ``planned`` validators, so the
services (which call ``full_clean``), the browser forms and the API serializers refuse a date
outside with the same message naming the field and the window; the import checks whole columns
with ``outside`` and the same message. The database holds the fixed bounds as CHECK constraints
(``stored_range``): never before 1970, never from 2100 on, whatever writes the row.
"""

from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

EARLIEST = date(1970, 1, 1)
# Timestamps are compared as instants: the first instant of 1970 in UTC, as the database compares.
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)

HAPPENED = "happened"
PLANNED = "planned"
BORN = "born"
EARLIEST_BIRTH = date(1900, 1, 1)
HAPPENED_AHEAD = timedelta(days=1)
# Five years, leap days included: further than anyone plans a contact or a snooze.
PLANNED_AHEAD = timedelta(days=5 * 365 + 2)

# What the database's CHECK constraints hold whatever writes a row (the windows above are narrower,
# and move with the clock; a constraint cannot): before this instant, and not before EARLIEST.
STORED_LATEST = date(2100, 1, 1)
STORED_LATEST_INSTANT = datetime(2100, 1, 1, tzinfo=UTC)

MESSAGES = {
    HAPPENED: _("%(field)s must be between %(earliest)s and %(latest)s: not before 1970, at most a day from now."),
    PLANNED: _("%(field)s must be between %(earliest)s and %(latest)s: not before 1970, at most five years from now."),
    BORN: _("%(field)s must be between %(earliest)s and %(latest)s: not before 1900, not after today."),
}


def earliest(kind: str) -> date:
    return EARLIEST_BIRTH if kind == BORN else EARLIEST


def latest(kind: str, *, now: datetime | None = None) -> datetime:
    """The last instant of the window of ``kind`` (HAPPENED, PLANNED or BORN), from ``now``."""
    if kind == BORN:
        return now or timezone.now()
    return (now or timezone.now()) + (HAPPENED_AHEAD if kind == HAPPENED else PLANNED_AHEAD)


def message(kind: str, *, field: str, now: datetime | None = None) -> str:
    """The refusal: the field, and the window as dates (the last one in the workspace time zone)."""
    return MESSAGES[kind] % {
        "field": field,
        "earliest": earliest(kind).isoformat(),
        "latest": timezone.localdate(latest(kind, now=now)).isoformat(),
    }


def is_outside(value: date | datetime, kind: str, *, now: datetime | None = None) -> bool:
    """Whether one date or timestamp falls outside the window of ``kind``. A timestamp is compared as
    an instant (a naive one as UTC), a date as a day of the workspace time zone."""
    end = latest(kind, now=now)
    if isinstance(value, datetime):
        instant = value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
        return not EARLIEST_INSTANT <= instant <= end
    return not earliest(kind) <= value <= timezone.localdate(end)


def outside(values, kind: str, *, now: datetime | None = None):
    """The same test over a pandas Series of UTC timestamps (or of dates at midnight), for the import:
    a boolean array, False where a value is missing."""
    import pandas as pd  # the import's path only

    end = latest(kind, now=now)
    if getattr(values.dt, "tz", None) is not None:
        low, high = pd.Timestamp(EARLIEST_INSTANT), pd.Timestamp(end)
    else:
        low, high = pd.Timestamp(earliest(kind)), pd.Timestamp(timezone.localdate(end))
    return (values.lt(low) | values.gt(high)).to_numpy(dtype=bool) & ~values.isna().to_numpy()


@deconstructible
class DateWindowValidator:
    """A field's validator: refuses a date outside the window of ``kind`` with ``message``. The model
    fields carry one, so the services' ``full_clean``, the ModelForms and the ModelSerializers apply
    it; a serializer or form field declared by hand adds ``happened(...)`` / ``planned(...)``."""

    def __init__(self, kind: str, field: str):
        self.kind, self.field = kind, field

    def __call__(self, value) -> None:
        if value is not None and is_outside(value, self.kind):
            raise ValidationError(message(self.kind, field=self.field), code="date_window")

    def __eq__(self, other) -> bool:
        return isinstance(other, DateWindowValidator) and (self.kind, self.field) == (other.kind, other.field)


def happened(field: str) -> DateWindowValidator:
    return DateWindowValidator(HAPPENED, field)


def planned(field: str) -> DateWindowValidator:
    return DateWindowValidator(PLANNED, field)


def born(field: str) -> DateWindowValidator:
    return DateWindowValidator(BORN, field)


def stored_range(field: str, *, instant: bool, nullable: bool = False) -> Q:
    """The CHECK constraint's condition on ``field``: EARLIEST <= value < STORED_LATEST."""
    low, high = (EARLIEST_INSTANT, STORED_LATEST_INSTANT) if instant else (EARLIEST, STORED_LATEST)
    condition = Q(**{f"{field}__gte": low, f"{field}__lt": high})
    return Q(**{f"{field}__isnull": True}) | condition if nullable else condition


# The window in a sentence, for the API's and the forms' help texts.
HELP = {
    HAPPENED: _("From 1970-01-01 to a day from now."),
    PLANNED: _("From 1970-01-01 to five years from now."),
    BORN: _("From 1900-01-01 to today."),
}
