"""Template filters over retention_crm.formats: the one way a page shows a date, number or amount.

    {% load l10n_crm %}
    {{ order.net_amount|money:order.currency }}   £1,055.84 · 1.055,84 £ (ca)
    {{ total|money }}                              in the workspace currency (WORKSPACE_CURRENCY)
    {{ total|money_whole }}                        the same without the pennies, for big totals
    {{ customer.acquired_at|date_short }}          24 Jan 2026 · 24 de gen. 2026
    {{ job.created_at|datetime_short }}            6 Dec 2026, 05:11 (current time zone)
    {{ count|number }}  {{ value|number:2 }}       1,234 · 1.234,50
    {{ share|percent }}  {{ share|percent:0 }}     0.382 -> 38.2% · 38 %
    {{ csat|points_percent }}                      72 (out of 100) -> 72% · 72 %
    {{ "2026-Q3"|period }}                         Q3 2026 · K3 2026 · 3T 2026
    {{ day|month }}                                July 2026 · juliol del 2026
    {{ start|date_range:end }}                     1 Jan – 15 Feb 2026
    <body data-locale="{% locale_tag %}">          en-GB, for Intl in JavaScript

Missing values show "—" (numbers) or "" (dates: chain |default:"—").
"""

from django import template

from retention_crm import formats

register = template.Library()


def decimal_digits(decimals) -> int | None:
    # Accepts what |floatformat took ("0g", "2"), so that swapping a filter is a one-word change;
    # grouping is always on.
    if decimals is None or decimals == "":
        return None
    try:
        return int(str(decimals).rstrip("gu"))
    except ValueError:
        return None


@register.filter
def money(amount, currency=None):
    return formats.format_money(amount, currency or None)


@register.filter
def money_whole(amount, currency=None):
    return formats.format_money(amount, currency or None, decimals=0)


@register.filter
def number(value, decimals=None):
    return formats.format_number(value, decimal_digits(decimals))


@register.filter
def percent(value, decimals=1):
    return formats.format_percent(value, decimal_digits(decimals) or 0)


@register.filter
def points_percent(value, decimals=0):
    """A figure already out of 100 (CSAT): 72 -> "72%" (en), "72 %" (ca)."""
    if value is None or value == "":
        return formats.format_percent(None)
    try:
        share = float(value) / 100
    except (TypeError, ValueError):
        return formats.format_percent(None)
    return formats.format_percent(share, decimal_digits(decimals) or 0)


@register.filter
def date_short(value):
    return formats.format_date(value)


@register.filter
def datetime_short(value):
    return formats.format_datetime(value)


@register.filter
def month(value):
    return formats.format_month(value)


@register.filter
def period(value):
    return formats.format_period(value)


@register.filter
def date_range(start, end):
    return formats.format_date_range(start, end)


@register.simple_tag
def locale_tag():
    return formats.locale_tag()
