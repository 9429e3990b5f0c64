"""Book performance (/book-performance/): retention and growth per account manager's book, against
the whole base, as a table, a bar chart and a CSV; and the administrators' form that moves customers
between books.

Administrators and marketers see every book; an account manager sees their own (every book when
they see every book, customers.roles.sees_every_book); anyone else gets a 404. The figures are the
metrics app's (definitions: metrics/analytics/book.py; reads: metrics.selectors.book_performance).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import roles
from metrics import selectors as metrics_selectors
from metrics.analytics import book
from retention_crm import formats
from retention_crm.csv import csv_response

from . import selectors, services
from .forms import BookReassignForm

# Bootstrap's palette, as the dashboard charts use it.
GREEN, BLUE, ORANGE = "#198754", "#0d6efd", "#fd7e14"
# Names shown in the preview of a reassignment: enough to recognise the selection.
PREVIEW_NAMES = 20

CSV_COLUMNS = (
    "account_manager",
    "customers",
    "active_at_start",
    "retained",
    "retention_rate",
    "churn_rate",
    "net_revenue_retention",
    "upsell_rate",
    "revenue",
    "revenue_existing",
)


def _allowed_or_404(user) -> None:
    if not roles.has_any_role(user):
        raise Http404


def _period(request: HttpRequest) -> book.Period:
    key = request.GET.get("period", "")
    if not key:
        return book.period_default(timezone.localdate())
    try:
        return book.period_parse(key)
    except ValueError:
        raise Http404 from None


def period_label(period: book.Period) -> str:
    if period.is_custom:
        return formats.format_date_range(period.start, period.last_day)
    return formats.format_period(period.key)


def _chart(report: metrics_selectors.BookReport) -> dict:
    rows = [(row.name, row.figures) for row in report.rows] + [(_("Whole base"), report.base)]
    labels = [name for name, _figures in rows]
    return {
        "type": "bar",
        "labels": labels,
        "datasets": [
            {"label": _("Retention rate"), "data": [f.retention_rate for _n, f in rows], "color": GREEN},
            {"label": _("Net revenue retention"), "data": [f.net_revenue_retention for _n, f in rows], "color": BLUE},
            {"label": _("Upsell rate"), "data": [f.upsell_rate for _n, f in rows], "color": ORANGE},
        ],
        "y": {"percent": True, "suggestedMin": 0},
    }


@login_required
def book_page(request: HttpRequest) -> HttpResponse:
    _allowed_or_404(request.user)
    period = _period(request)
    report = metrics_selectors.book_performance(user=request.user, period=period)
    context = {
        "report": report,
        "period": period,
        "period_label": period_label(period),
        "choices": book.period_choices(timezone.localdate()),
        "chart": _chart(report),
        "may_reassign": roles.is_administrator(request.user),
    }
    return render(request, "contact_plans/book_performance.html", context)


@login_required
def book_csv(request: HttpRequest) -> HttpResponse:
    _allowed_or_404(request.user)
    period = _period(request)
    report = metrics_selectors.book_performance(user=request.user, period=period)
    rows = [
        [name] + [figures.as_dict()[column] for column in CSV_COLUMNS[1:]]
        for name, figures in [(row.name, row.figures) for row in report.rows] + [("", report.base)]
    ]
    return csv_response(filename=f"book-performance-{period.key}.csv", header=CSV_COLUMNS, rows=rows)


@login_required
def book_reassign_page(request: HttpRequest) -> HttpResponse:
    if not roles.is_administrator(request.user):
        raise Http404
    form = BookReassignForm(request.POST if request.method == "POST" else (request.GET or None))
    candidates, preview = None, []
    if form.is_bound and form.is_valid():
        candidates = selectors.book_reassign_candidates(**form.candidate_filters)
        if request.method == "POST":
            ids = list(candidates.values_list("pk", flat=True)[: services.REASSIGN_LIMIT + 1])
            if len(ids) > services.REASSIGN_LIMIT:
                form.add_error(
                    None,
                    _("More than %(limit)d customers match: narrow the filters.") % {"limit": services.REASSIGN_LIMIT},
                )
            else:
                moved = services.book_reassign(
                    customer_ids=ids,
                    from_manager=form.cleaned_data["from_manager"],
                    to_manager=form.cleaned_data["to_manager"],
                )
                messages.success(request, _("%(count)d customers moved.") % {"count": moved})
                return redirect("worklist:book_reassign")
        preview = list(candidates.values_list("name", flat=True)[:PREVIEW_NAMES])
    context = {
        "form": form,
        "count": candidates.count() if candidates is not None else None,
        "preview": preview,
    }
    return render(request, "contact_plans/book_reassign.html", context)
