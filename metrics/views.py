"""The browser side of the metrics: the dashboard, model health, chart CSVs and the recompute button.

The figures come from the snapshots and per-customer rows that the recompute writes
(metrics.services); these views choose the scope the user may see, hand the data to
metrics.charts to shape, and render. As everywhere in the UI, someone without access gets a
404, never a 403: administrators and marketers see the whole workspace, an account manager
their own book (every book with ACCOUNT_MANAGERS_SEE_ALL_BOOKS), anyone else nothing.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from customers import roles
from retention_crm import lists
from retention_crm.csv import csv_response
from retention_crm.http import is_htmx

from . import charts, selectors, services
from .analytics import book, fit_health
from .forms import DashboardFilterForm
from .models import CustomerMetrics

logger = logging.getLogger(__name__)

CHART_KINDS = ("timeseries", "cohorts", "pareto", "clv_distribution", "rfm", "value_risk")


def _viewer_or_404(user) -> None:
    if not roles.has_any_role(user):
        raise Http404


def _may_recompute(user) -> bool:
    return roles.is_administrator(user) or roles.is_marketer(user)


# --- Scopes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a snapshot covers: "" (the workspace), "country:<name>" or "manager:<user id>"."""

    key: str = ""
    country: str = ""
    manager_id: int | None = None

    @classmethod
    def parse(cls, key: str) -> "Scope":
        kind, _sep, value = key.partition(":")
        if kind == "country" and value:
            return cls(key, country=value)
        if kind == "manager" and value.isdigit():
            return cls(key, manager_id=int(value))
        if key:
            raise Http404
        return cls()


@dataclass(frozen=True)
class ScopeChoices:
    workspace: bool
    countries: list[str]
    managers: list[tuple[int, str]]
    own_manager_id: int | None

    def allows(self, scope: Scope) -> bool:
        if scope.manager_id is not None:
            return scope.manager_id in {pk for pk, _label in self.managers}
        if scope.country:
            return scope.country in self.countries
        return self.workspace

    def default(self) -> Scope:
        if self.workspace:
            return Scope()
        if self.own_manager_id is not None:
            return Scope(f"manager:{self.own_manager_id}", manager_id=self.own_manager_id)
        raise Http404


def _scope_choices(user) -> ScopeChoices:
    scopes = selectors.dashboard_scopes(user=user)
    # As customer_visible_to: an account manager's dashboard is their own book (not even the
    # workspace totals) unless they see every book.
    every_book = roles.sees_every_book(user)
    managers = [(row["id"], row["name"]) for row in scopes["managers"]]
    if not every_book:
        managers = [(pk, name) for pk, name in managers if pk == user.pk]
    return ScopeChoices(
        workspace=every_book,
        countries=list(scopes["countries"]) if every_book else [],
        managers=managers,
        own_manager_id=user.pk if roles.is_account_manager(user) else None,
    )


def _requested_scope_or_404(choices: ScopeChoices, *, country: str, manager: str) -> Scope:
    """The snapshot scope asked for; a scope outside the user's is a 404, as a customer outside it is.

    Snapshots cover one country or one book, not both: with both asked for, the period figures
    are the book's and the country only narrows the live segment figures.
    """
    if country and country not in choices.countries:
        raise Http404
    if manager:
        scope = Scope.parse(f"manager:{manager}")
    elif country:
        scope = Scope.parse(f"country:{country}")
    else:
        return choices.default()
    if not choices.allows(scope):
        raise Http404
    return scope


def _scope_label(scope: Scope, choices: ScopeChoices) -> str:
    if scope.manager_id is not None:
        name = dict(choices.managers).get(scope.manager_id, "")
        return _("Book of %(name)s") % {"name": name}
    if scope.country:
        return _("Customers in %(country)s") % {"country": scope.country}
    return _("All customers")


# --- Dashboard ----------------------------------------------------------------------------------


def _choice_labels(field: str) -> dict[str, str]:
    """The translated labels of a CustomerMetrics choice field (the snapshot's own labels are in the
    language of the worker that wrote them)."""
    return {value: str(label) for value, label in CustomerMetrics._meta.get_field(field).choices}


def _dashboard_charts(snapshots: dict, as_of) -> dict:
    value_risk = charts.value_risk_table(
        snapshots["value_risk"], _choice_labels("value_level"), _choice_labels("risk_level")
    )
    return {
        "timeseries": charts.timeseries_chart(snapshots["timeseries"]),
        "pareto": charts.pareto_chart(snapshots["pareto"]),
        "clv_distribution": charts.clv_chart(snapshots["clv_distribution"], settings.WORKSPACE_CURRENCY),
        "rfm": charts.rfm_chart(snapshots["rfm"], _choice_labels("rfm_segment")),
        "cohorts": charts.cohort_table(snapshots["cohorts"], as_of),
        "value_risk": value_risk,
    }


def _snapshot_data(kind: str, scope: Scope) -> dict | None:
    snapshot = selectors.snapshot_latest(kind=kind, scope=scope.key)
    return charts.finite(snapshot.data) if snapshot else None


def _chosen_period(form: DashboardFilterForm, offer: dict, figures: dict) -> book.Period | None:
    """The period asked for when the picker offers it, else the latest month with figures."""
    key = form.value("period")
    offered = {period.key: period for periods in offer.values() for period in periods}
    if key in offered:
        return offered[key]
    return (offer.get("months") or [None])[0] or next(iter(offered.values()), None)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    _viewer_or_404(request.user)
    choices = _scope_choices(request.user)
    country = request.GET.get("country", "")
    scope = _requested_scope_or_404(choices, country=country, manager=request.GET.get("manager", ""))
    summary_snapshot = selectors.snapshot_latest(kind="summary", scope=scope.key)
    summary = charts.finite(summary_snapshot.data) if summary_snapshot else None
    snapshots = {kind: _snapshot_data(kind, scope) for kind in CHART_KINDS}
    figures = charts.period_figures(_snapshot_data("periods", scope), summary)
    offer = charts.period_offer(summary_snapshot.as_of, figures) if summary_snapshot else {}
    form = DashboardFilterForm(request.GET, periods=offer, countries=choices.countries, managers=choices.managers)
    period = _chosen_period(form, offer, figures)
    segment = selectors.segment_metrics_summary_cached(
        user=request.user, country=country or None, manager_id=scope.manager_id, **form.segment_filters
    )
    context = {
        "form": form,
        "scope": scope,
        "scope_label": _scope_label(scope, choices),
        "show_country": bool(choices.countries),
        "show_manager": len(choices.managers) > 1 or (choices.workspace and bool(choices.managers)),
        "summary_snapshot": summary_snapshot,
        "summary": summary,
        "period": period,
        "period_label": charts.period_label(period) if period else "",
        "previous_label": charts.period_label(book.period_previous(period)) if period else "",
        "period_figures": figures.get(period.key) if period else None,
        "tiles": charts.period_tiles(figures, period) if period else [],
        "segment": segment,
        "segment_filtered": any(form.segment_filters.values()),
        "charts": _dashboard_charts(snapshots, summary_snapshot.as_of if summary_snapshot else None),
        "currency": settings.WORKSPACE_CURRENCY,
        "may_recompute": _may_recompute(request.user),
        "run": selectors.recompute_run_latest(),
        # Buyers the current model left without a predicted CLV, said next to the CLV totals.
        "prediction_gaps": getattr(selectors.model_version_current(), "prediction_gaps", None),
    }
    return render(request, "metrics/dashboard.html", context)


@login_required
def chart_csv(request: HttpRequest, kind: str) -> HttpResponse:
    """One chart's data as CSV, for the scope given as ?scope= (as on the dashboard, or a 404)."""
    _viewer_or_404(request.user)
    if kind not in charts.CSV_KINDS:
        raise Http404
    choices = _scope_choices(request.user)
    scope = Scope.parse(request.GET.get("scope", "")) if "scope" in request.GET else choices.default()
    if not choices.allows(scope):
        raise Http404
    snapshot = selectors.snapshot_latest(kind=kind, scope=scope.key)
    header, rows = charts.csv_table(kind, snapshot.data if snapshot else None, snapshot.as_of if snapshot else None)
    logger.info("metrics.chart_csv kind=%s scope=%s user=%s", kind, scope.key or "workspace", request.user.pk)
    as_of = f"{snapshot.as_of:%Y-%m-%d}" if snapshot else ""
    name = "-".join(part for part in ("metrics", kind, slugify(scope.key), as_of) if part)
    return csv_response(filename=f"{name}.csv", header=header, rows=rows)


# --- The customers of a value x risk cell -----------------------------------------------------------

# Rows per page of a cell's customers: a screenful, read from the index in the order shown.
CELL_PAGE_SIZE = 50
# Most valuable first: the cell's customers to call first are at the top.
CELL_ORDER = lists.Order.of(CustomerMetrics, ["-predicted_clv"])


def _level_or_404(field: str, value: str) -> str:
    if value not in {key for key, _label in CustomerMetrics._meta.get_field(field).choices if key}:
        raise Http404
    return value


@login_required
def cell_customers(request: HttpRequest) -> HttpResponse:
    """The customers of one value x risk cell of the dashboard, in the dashboard's scope (?scope=, as
    the CSV downloads), among those the user may see (customer_visible_to), most valuable first."""
    _viewer_or_404(request.user)
    value_level = _level_or_404("value_level", request.GET.get("value_level", ""))
    risk_level = _level_or_404("risk_level", request.GET.get("risk_level", ""))
    choices = _scope_choices(request.user)
    scope = Scope.parse(request.GET.get("scope", "")) if "scope" in request.GET else choices.default()
    if not choices.allows(scope):
        raise Http404
    metrics = selectors.customer_metrics_list(
        user=request.user,
        filters={
            "value_level": value_level,
            "risk_level": risk_level,
            "country": scope.country,
            "manager_id": scope.manager_id,
        },
    )
    context = {
        "page": lists.page_from_cursor(metrics, CELL_ORDER, request.GET.get("cursor"), size=CELL_PAGE_SIZE),
        "total": lists.total(metrics.select_related(None)),
        "value_label": _choice_labels("value_level")[value_level],
        "risk_label": _choice_labels("risk_level")[risk_level],
        "scope": scope,
        "scope_label": _scope_label(scope, choices),
    }
    return render(request, "metrics/cell_customers.html", context)


# --- Model health -------------------------------------------------------------------------------


UNIT_LABELS = {
    "D": gettext_lazy("days"),
    "W": gettext_lazy("weeks"),
    "days": gettext_lazy("days"),
    "weeks": gettext_lazy("weeks"),
}
# AUCs closer than this are the same for a user: a back-test on a few thousand customers does not
# resolve differences in the third decimal.
AUC_TOLERANCE = 0.005


def _auc_verdict(version) -> str:
    if version is None or version.backtest_auc is None or version.backtest_baseline_auc is None:
        return ""
    difference = version.backtest_auc - version.backtest_baseline_auc
    return "same" if abs(difference) < AUC_TOLERANCE else "better" if difference > 0 else "worse"


# What each finding of metrics.analytics.fit_health means for someone who uses the figures.
FIT_FINDINGS = {
    "same_dropout": gettext_lazy(
        "Every customer seems to stop buying with the same probability (a and b are huge). Real customers "
        "differ, so the history is probably too short or too uniform: churn risks rank customers poorly "
        "and predicted CLVs are unreliable. Use them with caution until more history comes in."
    ),
    "same_rate": gettext_lazy(
        "Every customer seems to buy at the same rate (r is huge). Real customers differ, so the history is "
        "probably too short or too uniform: expected purchases and predicted CLVs are unreliable."
    ),
    "at_limit": gettext_lazy(
        "A parameter ran to the edge of what the fit can find (close to zero or to infinity): the orders "
        "do not pin this model down, and its figures should not be trusted."
    ),
    "no_mean_spend": gettext_lazy(
        "The spend model has no finite average spend (q is 1 or less): predicted CLVs are not reliable."
    ),
}


def _fit_warnings(version) -> list[str]:
    if version is None:
        return []
    codes = fit_health.bgnbd_findings(
        r=version.bgnbd_r, alpha=version.bgnbd_alpha, a=version.bgnbd_a, b=version.bgnbd_b
    )
    if version.has_gamma_gamma:
        codes += [
            code
            for code in fit_health.gamma_gamma_findings(p=version.gg_p, q=version.gg_q, gamma=version.gg_gamma)
            if code not in codes
        ]
    return [str(FIT_FINDINGS[code]) for code in codes]


def _backtest_bias(version) -> float | None:
    """How far the back-test's predicted purchases were from those made, as a share of those made."""
    if version is None or not version.backtest_actual_purchases or version.backtest_predicted_purchases is None:
        return None
    return version.backtest_predicted_purchases / version.backtest_actual_purchases - 1


@login_required
def model_health(request: HttpRequest) -> HttpResponse:
    _viewer_or_404(request.user)
    versions = list(selectors.model_version_list())
    current = next((version for version in versions if version.is_current), None)
    context = {
        "current": current,
        "unit_label": UNIT_LABELS.get(current.unit, current.unit) if current else "",
        "auc_verdict": _auc_verdict(current),
        "fit_warnings": _fit_warnings(current),
        "backtest_bias": _backtest_bias(current),
        "versions": versions,
        "auc_chart": charts.model_auc_chart(list(versions)),
        "may_recompute": _may_recompute(request.user),
        "run": selectors.recompute_run_latest(),
        "currency": settings.WORKSPACE_CURRENCY,
    }
    return render(request, "metrics/model_health.html", context)


# --- Recompute ----------------------------------------------------------------------------------


def _run_context(request: HttpRequest, run) -> dict:
    # Where the no-JavaScript form goes back to: the page the card is on, not this partial's URL.
    next_url = request.POST.get("next") or request.headers.get("HX-Current-URL") or request.get_full_path()
    return {"run": run, "may_recompute": _may_recompute(request.user), "next_url": next_url}


@login_required
@require_POST
def recompute(request: HttpRequest) -> HttpResponse:
    if not _may_recompute(request.user):
        raise Http404
    run = services.recompute_run_create(user=request.user)
    logger.info("metrics.recompute_requested run=%s user=%s", run.pk, request.user.pk)
    if is_htmx(request):
        return render(request, "metrics/_recompute.html", _run_context(request, run))
    messages.success(request, _("The recompute has started; the figures update when it is finished."))
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "metrics:dashboard"
    return redirect(next_url)


@login_required
def recompute_progress(request: HttpRequest) -> HttpResponse:
    """The progress card, polled by htmx only while a run is going: a finished run seen by a poll
    has just finished, so the page reloads itself (HX-Refresh) and shows the new figures."""
    _viewer_or_404(request.user)
    run = selectors.recompute_run_latest()
    response = render(request, "metrics/_recompute.html", _run_context(request, run))
    if is_htmx(request) and run is not None and run.is_finished:
        response["HX-Refresh"] = "true"
    return response
