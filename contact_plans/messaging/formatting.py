"""Dates and money in a message's language, with Babel (Django's own formats follow the active
language too, but not every locale the product ships has them, and a message's language is not
the staff member's)."""

from datetime import date, datetime
from decimal import Decimal

from babel import Locale, dates, numbers
from django.conf import settings
from django.utils import timezone, translation

# The region whose conventions each product language uses (Babel's bare "en" is American).
LOCALES = {"en": "en_GB", "id": "id_ID", "ms": "ms_MY", "ca": "ca_ES"}


def locale_for(language: str | None = None) -> Locale:
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    code = LOCALES.get(language.split("-")[0], language.replace("-", "_"))
    try:
        return Locale.parse(code)
    except (ValueError, LookupError):
        return Locale.parse("en_GB")


def format_date(value: date | datetime, format: str = "long", *, language: str | None = None) -> str:
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return dates.format_date(value, format=format if format in {"short", "medium", "long", "full"} else "long",
                             locale=locale_for(language))


def format_money(amount: Decimal | float | int, currency: str = "", *, language: str | None = None) -> str:
    return numbers.format_currency(amount, currency or settings.WORKSPACE_CURRENCY, locale=locale_for(language))


def format_number(value: Decimal | float | int, *, language: str | None = None) -> str:
    return numbers.format_decimal(value, locale=locale_for(language))
