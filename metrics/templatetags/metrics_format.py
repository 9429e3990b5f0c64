"""Template filters of the metrics pages: percentages, numbers that may be missing, heat-map colours.

Snapshots hold nulls where there was not enough data; every filter here shows those as "—",
never "None" or "NaN". Numbers and percentages are formatted by retention_crm.formats, the one
locale-aware formatting of the product (the same as `{% load l10n_crm %}`).
"""

import math

from django import template
from django.utils.translation import gettext as _

from metrics import charts
from retention_crm import formats
from retention_crm.templatetags.l10n_crm import decimal_digits

register = template.Library()

MISSING = "—"


def is_number(value) -> bool:
    if value is None or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


@register.filter
def percent(value, decimals=1):
    """0.382 -> "38.2%" ("38,2 %" in Catalan); missing -> "—"."""
    if not is_number(value):
        return MISSING
    return formats.format_percent(value, decimal_digits(decimals) or 0)


@register.filter
def points(value, decimals=1):
    """A difference of two rates in percentage points, signed: 0.021 -> "+2.1 pp"."""
    if not is_number(value):
        return MISSING
    number = float(value) * 100
    sign = "+" if number > 0 else ""
    return _("%(sign)s%(number)s pp") % {
        "sign": sign,
        "number": formats.format_number(number, decimal_digits(decimals)),
    }


@register.filter
def number(value, decimals="0g"):
    """A number with `decimals` digits ("0g" as |floatformat took it), "—" when missing."""
    if not is_number(value):
        return MISSING
    return formats.format_number(value, decimal_digits(decimals))


@register.filter
def heat(value, rgb="25,135,84"):
    """An inline style colouring a heat-map cell by a share between 0 and 1 (missing: no colour)."""
    if not is_number(value):
        return ""
    alpha = min(max(float(value), 0.0), 1.0)
    # Past about half strength the cell is dark enough that black text is hard to read.
    text = "#fff" if alpha > 0.55 else "inherit"
    return f"background-color: rgba({rgb}, {alpha * 0.9 + 0.05:.2f}); color: {text}"


@register.filter
def signed_percent(value, decimals=1):
    """A relative change: 0.125 -> "+12.5%"."""
    if not is_number(value):
        return MISSING
    sign = "+" if float(value) > 0 else ""
    return sign + percent(value, decimals)


@register.filter
def prediction_gaps(gaps) -> list[dict]:
    """ModelVersion.prediction_gaps as rows {"figure", "count", "reason"} (metrics.charts)."""
    return charts.prediction_gap_rows(gaps)


@register.filter
def without_prediction(gaps, figure: str) -> int:
    """The buyers ModelVersion.prediction_gaps counts without `figure` ("predicted_clv", ...)."""
    return charts.buyers_without(gaps, figure)
