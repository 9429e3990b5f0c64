"""Dates, numbers and money in a message's language: the kernel's formats (retention_crm.formats,
Babel, the active language), which the renderer and the placeholders call inside
``translation.override(message language)``. A message offers more date lengths than a page
("long" reads best in a letter: "14 de març del 2026"), so dates take a format here."""

from datetime import date, datetime

from babel import dates
from django.utils import timezone

from retention_crm.formats import current_locale, format_money, format_number

DATE_FORMATS = ("short", "medium", "long", "full")

__all__ = ["format_date", "format_money", "format_number"]


def format_date(value: date | datetime, format: str = "long") -> str:
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return dates.format_date(value, format=format if format in DATE_FORMATS else "long", locale=current_locale())
