"""One way to show dates, numbers, percentages, money and periods, in the reader's language.

Every page, e-mail and chart label formats through these functions (the template filters of
`retention_crm/templatetags/l10n_crm.py` call them), so that one screen never mixes `01/24/2026`,
`July 5, 2025` and `2026-12-06`, or `1055.84 GBP` and `3,747.42 GBP`. They follow the active
language (Django's `get_language()`) with Babel's CLDR data; dates and times are shown in the
current time zone (the workspace's, `TIME_ZONE`). Machine formats stay machine formats: CSV
exports and the API write ISO dates and dot decimals and never call these.

A missing value (None, NaN, infinity) is "—" for numbers and "" for dates, so that a template can
chain `|default:"—"` after a date as it did with Django's `|date`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language, to_locale

MISSING = "—"

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


@lru_cache(maxsize=16)
def _babel_locale(language: str) -> Locale:
    # English alone has a choice to make: CLDR's "en" is American (1/24/26, 5:11 PM), which
    # reads wrongly in a GBP workspace; FORMAT_LOCALE_EN (default en_GB) says which English.
    if language.split("-")[0] == "en":
        name = getattr(settings, "FORMAT_LOCALE_EN", "en_GB")
    else:
        name = to_locale(language)
    try:
        return Locale.parse(name)
    except (ValueError, UnknownLocaleError):
        return Locale.parse(to_locale(settings.LANGUAGE_CODE))


def current_locale() -> Locale:
    """The Babel locale of the active language."""
    return _babel_locale(get_language() or settings.LANGUAGE_CODE)


def locale_tag() -> str:
    """The active locale as a BCP 47 tag ("en-GB", "ca"), for JavaScript's Intl in the charts."""
    return str(current_locale()).replace("_", "-")


def _finite(value) -> Decimal | float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    try:
        number = float(value)
    except (TypeError, ValueError):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return number if math.isfinite(number) else None


def _pattern(base: str, decimals: int | None) -> str:
    """The locale's pattern with exactly `decimals` fraction digits (None: up to three)."""
    integer = base.split(";")[0]
    fraction = "#" * 3 if decimals is None else "0" * decimals
    # "#,##0.###" -> "#,##0" + fraction; percent and currency patterns keep their symbols.
    return re.sub(r"0(\.[0#]+)?", "0" + ("." + fraction if fraction else ""), integer, count=1)


def _half_up():
    # Babel rounds with the decimal context, whose default is banker's rounding (1234.5 -> 1234,
    # 0.125 -> 12%): people and spreadsheets round halves up.
    return decimal.localcontext(rounding=decimal.ROUND_HALF_UP)


def format_number(value, decimals: int | None = None) -> str:
    """1234567.891 -> "1,234,567.891" (en), "1.234.567,891" (id, ca); `decimals` fixes the digits."""
    number = _finite(value)
    if number is None:
        return MISSING
    locale = current_locale()
    pattern = _pattern(locale.decimal_formats[None].pattern, decimals)
    with _half_up():
        return babel_numbers.format_decimal(number, format=pattern, locale=locale, decimal_quantization=True)


def format_percent(value, decimals: int = 0) -> str:
    """A share between 0 and 1: 0.795 -> "80%" (en), "80 %" (ca); `decimals` more digits."""
    number = _finite(value)
    if number is None:
        return MISSING
    locale = current_locale()
    pattern = _pattern(locale.percent_formats[None].pattern, decimals)
    with _half_up():
        return babel_numbers.format_percent(number, format=pattern, locale=locale, decimal_quantization=True)


def format_money(amount, currency: str | None = None, decimals: int | None = None) -> str:
    """1055.84 GBP -> "£1,055.84" (en), "£1.055,84" (id), "1.055,84 £" (ca).

    `currency` defaults to the workspace's (WORKSPACE_CURRENCY); `decimals` overrides the
    currency's own digits (0 for the big round totals of a dashboard).
    """
    number = _finite(amount)
    if number is None:
        return MISSING
    code = (currency or settings.WORKSPACE_CURRENCY or "").upper()
    locale = current_locale()
    with _half_up():
        if decimals is None:
            return babel_numbers.format_currency(number, code, locale=locale)
        pattern = _pattern(locale.currency_formats["standard"].pattern, decimals)
        return babel_numbers.format_currency(
            number, code, format=pattern, locale=locale, currency_digits=False, decimal_quantization=True
        )


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def format_date(value, *, with_year: bool = True) -> str:
    """A calendar day: "24 Jan 2026" (en), "24 Jan 2026" (id), "24 de gen. 2026" (ca); without the
    year ("24 Jan", "24 de gen.") where the year goes without saying.

    A datetime shows the day it is in the current time zone.
    """
    day = _as_date(value)
    if day is None:
        return ""
    if not with_year:
        return babel_dates.format_skeleton("MMMd", day, locale=current_locale())
    return babel_dates.format_date(day, "medium", locale=current_locale())


def format_datetime(value) -> str:
    """An instant in the current time zone, to the minute: "6 Dec 2026, 05:11" (en), "6 Des 2026 05.11" (id)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return ""
    if not isinstance(value, dt.datetime):
        return format_date(value)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    locale = current_locale()
    day = babel_dates.format_date(local, "medium", locale=locale)
    time = babel_dates.format_time(local, "short", locale=locale)
    return locale.datetime_formats["medium"].format(time, day)


def format_month(value) -> str:
    """The month of a date: "July 2026" (en), "Juli 2026" (id), "juliol del 2026" (ca)."""
    day = _as_date(value)
    if day is None:
        return ""
    return babel_dates.format_skeleton("yMMMM", day, locale=current_locale())


def format_period(key) -> str:
    """A period key as people write it: "2026-Q3" -> "Q3 2026" (en), "K3 2026" (id), "3T 2026" (ca);
    "2026-07" -> "July 2026"; "2026" stays; "2026-01-01..2026-02-15" -> a localised range.

    Anything else is returned as it came, so that a label never disappears.
    """
    text = str(key or "").strip()
    locale = current_locale()
    if match := _QUARTER.match(text):
        first_month = 3 * (int(match[2]) - 1) + 1
        return babel_dates.format_date(dt.date(int(match[1]), first_month, 1), "QQQ y", locale=locale)
    if match := _MONTH.match(text):
        if 1 <= int(match[2]) <= 12:
            return format_month(dt.date(int(match[1]), int(match[2]), 1))
    if _YEAR.match(text):
        return text
    if match := _RANGE.match(text):
        try:
            start, end = dt.date.fromisoformat(match[1]), dt.date.fromisoformat(match[2])
        except ValueError:
            return text
        return format_date_range(start, end)
    return text


def format_date_range(start, end) -> str:
    """Two days as one range, sharing what they share: "1 Jan – 15 Feb 2026" (en)."""
    first, last = _as_date(start), _as_date(end)
    if first is None or last is None:
        return format_date(first or last)
    if first > last:
        first, last = last, first
    return babel_dates.format_interval(first, last, "yMMMd", locale=current_locale())
