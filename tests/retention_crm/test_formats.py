"""retention_crm.formats: one formatting of dates, numbers, percentages, money and periods per language.

The expected strings are Babel's (CLDR) for each of the four languages the product ships.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.utils import translation

from retention_crm import formats

NBSP = "\xa0"


@pytest.fixture(params=["en", "id", "ms", "ca"])
def language(request):
    with translation.override(request.param):
        yield request.param


MONEY = {"en": "£1,055.84", "id": "£1.055,84", "ms": "£1,055.84", "ca": f"1.055,84{NBSP}£"}
NUMBER = {"en": "1,234,567.891", "id": "1.234.567,891", "ms": "1,234,567.891", "ca": "1.234.567,891"}
PERCENT = {"en": "79.5%", "id": "79,5%", "ms": "79.5%", "ca": f"79,5{NBSP}%"}
DATE = {"en": "24 Jan 2026", "id": "24 Jan 2026", "ms": "24 Jan 2026", "ca": "24 de gen. 2026"}
DATETIME = {
    "en": "6 Dec 2026, 17:11",
    "id": "6 Des 2026 17.11",
    "ms": "6 Dis 2026, 5:11\u202fPTG",  # a narrow no-break space before the period of the day
    "ca": "6 de des. 2026, 17:11",
}
QUARTER = {"en": "Q3 2026", "id": "K3 2026", "ms": "S3 2026", "ca": "3T 2026"}
MONTH = {"en": "July 2026", "id": "Juli 2026", "ms": "Julai 2026", "ca": "juliol del 2026"}


def test_money_is_written_the_way_each_language_writes_it(language):
    assert formats.format_money(Decimal("1055.84"), "GBP") == MONEY[language]


def test_money_defaults_to_the_workspace_currency(language, settings):
    settings.WORKSPACE_CURRENCY = "GBP"

    assert formats.format_money(Decimal("1055.84")) == MONEY[language]


def test_money_whole_drops_the_pennies_and_rounds():
    with translation.override("en"):
        assert formats.format_money(Decimal("3747.62"), "GBP", decimals=0) == "£3,748"
    with translation.override("en"):
        assert formats.format_money(Decimal("0.125"), "GBP") == "£0.13"


def test_money_takes_the_digits_of_its_currency():
    with translation.override("id"):
        assert formats.format_money(Decimal("3747.62"), "IDR") == "Rp3.748"


def test_numbers_group_and_separate_decimals_per_language(language):
    assert formats.format_number(1234567.891) == NUMBER[language]


def test_numbers_keep_the_decimals_asked_for():
    with translation.override("ca"):
        assert formats.format_number(Decimal("1234.5"), 2) == "1.234,50"
    with translation.override("en"):
        assert formats.format_number(1234.5, 0) == "1,235"


def test_percentages_take_a_share_between_zero_and_one(language):
    assert formats.format_percent(0.7951, 1) == PERCENT[language]


def test_dates_read_day_month_year_in_every_language(language):
    assert formats.format_date(dt.date(2026, 1, 24)) == DATE[language]


def test_datetimes_are_shown_in_the_current_time_zone(language, settings):
    settings.TIME_ZONE = "Asia/Jakarta"  # UTC+7
    instant = dt.datetime(2026, 12, 6, 10, 11, tzinfo=dt.UTC)

    assert formats.format_datetime(instant) == DATETIME[language]


def test_a_datetime_shown_as_a_date_is_the_local_day(settings):
    settings.TIME_ZONE = "Asia/Jakarta"
    late_evening_utc = dt.datetime(2026, 1, 23, 20, 0, tzinfo=dt.UTC)

    with translation.override("en"):
        assert formats.format_date(late_evening_utc) == "24 Jan 2026"


def test_periods_are_written_as_people_say_them(language):
    assert formats.format_period("2026-Q3") == QUARTER[language]
    assert formats.format_period("2026-07") == MONTH[language]
    assert formats.format_period("2026") == "2026"


def test_a_custom_range_is_one_localised_interval():
    with translation.override("en"):
        assert formats.format_period("2026-01-01..2026-02-15") == "1 Jan\u2009–\u200915 Feb 2026"  # thin spaces
    with translation.override("ca"):
        assert formats.format_period("2026-01-01..2026-02-15") == "1 de gen.\u2009–\u200915 de febr. 2026"


def test_an_unknown_period_key_is_shown_as_it_came():
    with translation.override("en"):
        assert formats.format_period("2026-13") == "2026-13"
        assert formats.format_period("whenever") == "whenever"


@override_settings(FORMAT_LOCALE_EN="en_US")
def test_an_american_workspace_can_ask_for_american_english():
    formats._babel_locale.cache_clear()
    try:
        with translation.override("en"):
            assert formats.format_date(dt.date(2026, 1, 24)) == "Jan 24, 2026"
            assert formats.locale_tag() == "en-US"
    finally:
        formats._babel_locale.cache_clear()


@pytest.mark.parametrize("missing", [None, float("nan"), float("inf"), "", "abc", Decimal("NaN")])
def test_missing_numbers_show_a_dash_never_none_or_nan(missing):
    with translation.override("en"):
        assert formats.format_number(missing) == "—"
        assert formats.format_percent(missing) == "—"
        assert formats.format_money(missing, "GBP") == "—"


def test_missing_dates_are_empty_so_that_default_applies():
    with translation.override("en"):
        assert formats.format_date(None) == ""
        assert formats.format_datetime(None) == ""
        assert formats.format_date("not a date") == ""


def test_the_template_filters_format_as_the_functions_do():
    template = Template(
        "{% load l10n_crm %}{{ amount|money:'GBP' }}|{{ amount|money }}|{{ amount|money_whole:'GBP' }}|"
        "{{ day|date_short }}|{{ n|number }}|{{ n|number:'0g' }}|{{ share|percent }}|{{ share|percent:0 }}|"
        "{{ key|period }}|{{ day|month }}|{{ missing|date_short|default:'—' }}|{% locale_tag %}"
    )
    context = Context(
        {
            "amount": Decimal("1055.84"),
            "day": dt.date(2026, 7, 1),
            "n": 1234.5,
            "share": 0.382,
            "key": "2026-Q3",
            "missing": None,
        }
    )

    with translation.override("ca"):
        rendered = template.render(context)

    assert rendered.split("|") == [
        f"1.055,84{NBSP}£",
        f"1.055,84{NBSP}£",
        f"1.056{NBSP}£",
        "1 de jul. 2026",
        "1.234,5",
        "1.235",
        f"38,2{NBSP}%",
        f"38{NBSP}%",
        "3T 2026",
        "juliol del 2026",
        "—",
        "ca",
    ]
