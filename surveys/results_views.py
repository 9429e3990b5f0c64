"""The results page: a survey's figure (NPS, eNPS, CSAT or CES), response rate and distribution
over a period against the previous one, the figure over time, by group, the recovery rate of the
closed loop and the comments (searchable, filterable by score); every table also as CSV
(``?csv=over_time|breakdown|distribution|comments``).

Marketers and administrators see every survey; account managers the customer surveys, counted over
the customers of their book; anyone else gets a 404.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import roles
from retention_crm import formats
from retention_crm.csv import csv_response

from . import results
from .results import GROUPINGS, Period

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366


def _int(value, low, high):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def _date(value) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _period(request: HttpRequest) -> tuple[Period, str]:
    today = timezone.localdate()
    start, end = _date(request.GET.get("start")), _date(request.GET.get("end"))
    error = ""
    if (request.GET.get("start") and start is None) or (request.GET.get("end") and end is None):
        error = _("Write dates as YYYY-MM-DD; the last 90 days are shown.")
        start = end = None
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end or (end - start).days > MAX_DAYS:
        error = _("The period must start before it ends and last at most three years; the last 90 days are shown.")
        end, start = today, today - timedelta(days=DEFAULT_DAYS - 1)
    return Period(start, end), error


@login_required
def results_view(request: HttpRequest) -> HttpResponse:
    surveys = results.surveys_for(request.user)
    if not (
        roles.is_administrator(request.user)
        or roles.is_marketer(request.user)
        or roles.is_account_manager(request.user)
    ):
        raise Http404
    survey_id = _int(request.GET.get("survey"), 1, 2**63 - 1)
    survey = surveys.filter(pk=survey_id).first() if survey_id else surveys.filter(responses__isnull=False).first()
    if survey_id and survey is None:
        raise Http404
    period, error = _period(request)
    by = request.GET.get("by") or ("team" if survey and survey.for_employees else "country")
    allowed = results.EMPLOYEE_GROUPINGS if survey and survey.for_employees else [g for g in GROUPINGS if g != "team"]
    if by not in allowed:
        by = allowed[0]
    search = (request.GET.get("q") or "").strip()[:100]
    score_min, score_max = _int(request.GET.get("min"), 0, 10), _int(request.GET.get("max"), 0, 10)
    context = {
        "surveys": surveys.order_by("-id"),
        "survey": survey,
        "period": period,
        "error": error,
        "by": by,
        "groupings": [(key, GROUPINGS[key][0]) for key in allowed],
        "q": search,
        "min": score_min,
        "max": score_max,
    }
    if survey is None:
        return render(request, "surveys/results.html", context)
    metric = results.survey_metric(survey)
    current = results.summary(request.user, survey, period)
    series = results.over_time(request.user, survey, period)
    groups = results.breakdown(request.user, survey, period, by)
    found = results.comments(request.user, survey, period, search=search, score_min=score_min, score_max=score_max)
    wanted = request.GET.get("csv")
    if wanted:
        return _csv(wanted, survey, metric, current, series, groups, found, by)
    context.update(
        {
            "metric": metric,
            "metric_label": {"nps": "eNPS" if survey.kind == "enps" else "NPS", "csat": "CSAT", "ces": "CES"}[metric],
            "current": current,
            "previous": results.summary(request.user, survey, period.previous),
            "series": series,
            "groups": groups,
            "comments": found,
            "recovery": results.recovery(request.user, survey, period) if not survey.for_employees else None,
            "max_count": max([n for _s, n in current.distribution] or [0]),
            "chart": _chart(series, metric),
        }
    )
    return render(request, "surveys/results.html", context)


def _chart(series, metric):
    if not series:
        return None
    return {
        "type": "line",
        "labels": [formats.format_month(row["month"]) for row in series],
        "datasets": [{"label": metric.upper(), "data": [row["figure"] for row in series], "color": "#0d6efd"}],
        "y": {"suggestedMin": -100 if metric == "nps" else 0, "suggestedMax": 100 if metric != "ces" else 7},
    }


def _csv(wanted, survey, metric, current, series, groups, found, by) -> HttpResponse:
    name = f"survey-{survey.pk}-{wanted}.csv"
    if wanted == "over_time":
        rows = [(r["month"].isoformat()[:7], r["responses"], _round(r["figure"])) for r in series]
        return csv_response(filename=name, header=["month", "responses", metric], rows=rows)
    if wanted == "breakdown":
        rows = [(g["group"], g["responses"] if g["responses"] is not None else "", _round(g["figure"])) for g in groups]
        return csv_response(filename=name, header=[by, "responses", metric], rows=rows)
    if wanted == "distribution":
        return csv_response(filename=name, header=["score", "responses"], rows=current.distribution)
    if wanted == "comments":
        rows = [(c["answered_on"].isoformat(), c["score"], c["language"], c["comment"]) for c in found]
        return csv_response(filename=name, header=["day", "score", "language", "comment"], rows=rows)
    raise Http404


def _round(value):
    return "" if value is None else round(value, 2)
