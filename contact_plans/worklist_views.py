"""The worklist ("My book"): the account manager's home page, and its one-click row actions.

A row carries links to its actions, not their forms: three inline forms on each of 50 rows cost
more to render than the query that ranks the whole book. An action's URL answers GET with its form
for one customer: with htmx a fragment the row opens in place, without JavaScript a page of its own.
The form posts (CSRF-protected) to the same URL. With htmx the answer is the row, re-rendered from
the same query as the page (on a validation error with that form still open and its errors shown);
without JavaScript, a redirect back to the list with a message. Only users who may edit the
customer get a form or act; anyone else gets a 404.
"""

from typing import NamedTuple
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from customers import services as customer_services
from customers.models import Interaction
from customers.selectors import customer_editable_by
from metrics.models import Level
from retention_crm import formats
from retention_crm.http import is_htmx

from . import selectors as contact_selectors
from . import services as contact_services
from . import worklist
from .forms import FollowUpForm, LogContactForm, SnoozeForm, WorklistFilterForm

# The actions whose form a row opens: the words of the row's button and of the form page's heading.
ACTION_TITLES = {
    "log": gettext_lazy("Log a call"),
    "followup": gettext_lazy("Follow up"),
    "snooze": gettext_lazy("Snooze"),
}
ACTION_FORM = "contact_plans/_worklist_action_form.html"
ACTION_PAGE = "contact_plans/worklist_action.html"

# The routes a row links to, each taking the customer's id.
ROW_ROUTES = {
    "detail": "customers:detail",
    "log": "worklist:log",
    "followup": "worklist:followup",
    "snooze": "worklist:snooze",
    "unsnooze": "worklist:unsnooze",
}
# Badge colours of the levels (Level has only these three; the labels are Level's).
VALUE_BADGES = {Level.HIGH: "text-bg-primary", Level.MEDIUM: "text-bg-info", Level.LOW: "text-bg-secondary"}
RISK_BADGES = {Level.HIGH: "text-bg-danger", Level.MEDIUM: "text-bg-warning", Level.LOW: "text-bg-success"}


# --- Rows as the page shows them ----------------------------------------------------------------


class Badge(NamedTuple):
    css_class: str
    label: str


class LastContact(NamedTuple):
    """The row's last call or meeting, as the row shows it."""

    at: object  # an aware datetime
    kind: str
    by: str
    outcome: str


class _RowUrl:
    """One route of a row, reversed once per page with a stand-in id and completed per row: a page
    of 50 rows has 250 of them, and at about 15 µs a reverse() they were 4 ms of every page."""

    STAND_IN = 2147483647

    def __init__(self, route: str):
        self.head, _stand_in, self.tail = reverse(route, args=[self.STAND_IN]).rpartition(str(self.STAND_IN))

    def __call__(self, pk: int) -> str:
        return f"{self.head}{pk}{self.tail}"


def _row_labels() -> dict[str, str]:
    """The words every row repeats, translated once per page instead of once per row."""
    return {
        **{action: str(title) for action, title in ACTION_TITLES.items()},
        "wake": _("Wake up"),
        "rising": _("rising"),
        "falling": _("falling"),
        "none_planned": _("None planned"),
        "last_contact": _("Last contact"),
        "contact": _("Contact"),
        "value": _("Value"),
        "churn_risk": _("Churn risk"),
        "why_now": _("Why now"),
        "next_contact": _("Next"),
        "no_contact": _("No call or meeting logged"),
        "no_purchase": _("No purchase yet"),
    }


def _badge(level: str | None, colours: dict, labels: dict) -> Badge | None:
    # An unknown level shows as low, as the page always has; no level, no badge.
    if not level:
        return None
    return Badge(colours.get(level, colours[Level.LOW]), labels.get(level, labels[Level.LOW]))


def _rows_for_display(rows: list) -> list:
    """Give each row of ``worklist.rows_with_reasons`` its links (``urls``), its value and risk
    badges (``value_badge``, ``risk_badge``: css_class and label, or None) and its ``last_contact``
    (a LastContact from the row's annotations, or None)."""
    routes = {name: _RowUrl(route) for name, route in ROW_ROUTES.items()}
    levels = {level: str(label) for level, label in Level.choices}
    kinds = {kind: str(label) for kind, label in Interaction.Kind.choices}
    outcomes = {outcome: str(label) for outcome, label in Interaction.Outcome.choices}
    for row in rows:
        row.urls = {name: url(row.pk) for name, url in routes.items()}
        row.value_badge = _badge(row.wl_value_level, VALUE_BADGES, levels)
        row.risk_badge = _badge(row.wl_risk_level, RISK_BADGES, levels)
        at = getattr(row, "wl_contact_at", None)
        row.last_contact = (
            LastContact(
                at,
                kinds.get(row.wl_contact_kind, ""),
                row.wl_contact_by or "",
                outcomes.get(row.wl_contact_outcome, ""),
            )
            if at is not None
            else None
        )
    return rows


def _row_context(next_url: str) -> dict:
    """What every row needs besides itself, the same on the page and in an action's answer."""
    return {
        "labels": _row_labels(),
        "next_url": next_url,
        # The action links carry the list to come back to, for the page of their own (no JavaScript).
        "next_query": "?" + urlencode({"next": next_url}),
    }


# --- The page -----------------------------------------------------------------------------------


@login_required
def worklist_page(request: HttpRequest) -> HttpResponse:
    form = WorklistFilterForm(request.GET, may_pick_manager=worklist.worklist_may_pick_manager(request.user))
    try:
        manager = worklist.worklist_manager(viewer=request.user, manager_id=form.manager_id)
    except worklist.WorklistNotAllowed:
        raise Http404 from None
    ranked = worklist.metrics_exist()
    page = None
    rows = []
    if manager is not None:
        shown = worklist.worklist_rows_queryset(viewer=request.user, manager=manager, ranked=ranked)
        customers = worklist.worklist_queryset(
            viewer=request.user, manager=manager, filters=form.filters, ranked=ranked, rows=shown
        )
        page = worklist.worklist_page(customers, request.GET.get("page"))
        rows = _rows_for_display(worklist.rows_with_reasons(worklist.worklist_page_rows(shown, page, page.priorities)))
    followups = None
    if manager is not None:
        followups = contact_selectors.followup_due_counts(viewer=request.user, assignee=manager)
        followups["url"] = reverse("worklist:followups_due") + (
            "?" + urlencode({"person": manager.pk}) if worklist.worklist_may_pick_manager(request.user) else ""
        )
    context = {
        "followups_due": followups,
        **_row_context(request.get_full_path()),
        "form": form,
        "manager": manager,
        "own_book": manager is not None and manager.pk == request.user.pk,
        "ranked": ranked,
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1) if page else [],
        "rows": rows,
        # Every row of the list is editable by the viewer: an account manager works only their own
        # book here, and administrators may edit every customer.
        "can_act": manager is not None,
    }
    return render(request, "contact_plans/worklist.html", context)


# --- Row actions --------------------------------------------------------------------------------


def _customer_on_a_worklist_or_404(user, pk: int):
    customers = customer_editable_by(user).filter(archived_at__isnull=True, account_manager__isnull=False)
    return get_object_or_404(customers.select_related("account_manager"), pk=pk)


def _next_url(request: HttpRequest, data) -> str:
    """The list to come back to: ``next`` when it is on this site, else the worklist."""
    target = data.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("worklist:home")


def _action_form(request: HttpRequest, customer, *, action: str, form, next_url: str | None = None) -> HttpResponse:
    """An action's form for one customer: the fragment a row opens (htmx), else a page of its own
    (also the answer, with the errors and what was typed, to a POST without JavaScript that failed)."""
    context = {
        "customer": customer,
        "action": action,
        "title": ACTION_TITLES[action],
        "form": form,
        "next_url": next_url or _next_url(request, request.GET),
    }
    if is_htmx(request):
        return render(request, ACTION_FORM, {**context, "in_row": True})
    return render(request, ACTION_PAGE, context)


def _answer(request: HttpRequest, customer, *, done: str = "", failed: str = "", form=None) -> HttpResponse:
    """The row again (htmx); without JavaScript, the form's page again with its errors, or a
    redirect to the list with a message."""
    next_url = _next_url(request, request.POST)
    if not is_htmx(request):
        if failed:
            return _action_form(request, customer, action=failed, form=form, next_url=next_url)
        messages.success(request, done)
        return redirect(next_url)
    shown = worklist.worklist_rows_queryset(
        viewer=request.user, manager=customer.account_manager, ranked=worklist.metrics_exist()
    )
    rows = _rows_for_display(worklist.rows_with_reasons(worklist.worklist_page_rows(shown, [customer.pk])))
    if not rows:
        raise Http404
    context = {
        **_row_context(next_url),
        "can_act": True,
        "row": rows[0],
        "done": done,
        "failed": failed,
        "failed_form": form if failed else None,
    }
    return render(request, "contact_plans/_worklist_row.html", context)


def _row_action(
    request: HttpRequest, customer_pk: int, *, action: str, form_class, perform, row_says_it: bool = False
) -> HttpResponse:
    """One row action: GET its form, POST it. `perform(customer, form)` calls the service with the
    valid form and returns the message to show (a ValidationError becomes the form's errors).
    ``row_says_it``: the row, re-rendered (htmx), states the result itself (a snoozed row says
    until when and why), so the message would only repeat it."""
    customer = _customer_on_a_worklist_or_404(request.user, customer_pk)
    if request.method == "GET":
        return _action_form(request, customer, action=action, form=form_class())
    form = form_class(request.POST)
    done = ""
    if form.is_valid():
        try:
            done = perform(customer, form)
        except ValidationError as exc:
            form.add_service_errors(exc)
    if form.errors:
        return _answer(request, customer, failed=action, form=form)
    return _answer(request, customer, done="" if row_says_it and is_htmx(request) else done)


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def worklist_log_view(request: HttpRequest, customer_pk: int) -> HttpResponse:
    def perform(customer, form) -> str:
        customer_services.interaction_log(
            customer=customer,
            kind=form.cleaned_data["kind"],
            subject=form.cleaned_data["subject"],
            body=form.cleaned_data["notes"],
            outcome=form.cleaned_data["outcome"],
            channel=form.channel,
            author=request.user,
        )
        return _("Logged: %(subject)s") % {"subject": form.cleaned_data["subject"]}

    return _row_action(request, customer_pk, action="log", form_class=LogContactForm, perform=perform)


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def worklist_followup_view(request: HttpRequest, customer_pk: int) -> HttpResponse:
    def perform(customer, form) -> str:
        contact_services.followup_schedule(
            customer=customer,
            assigned_to=customer.account_manager,
            due_at=form.due_at,
            note=form.cleaned_data["note"],
            created_by=request.user,
        )
        when = formats.format_date(form.cleaned_data["due_on"])
        return _("Follow-up scheduled for %(when)s.") % {"when": when}

    return _row_action(request, customer_pk, action="followup", form_class=FollowUpForm, perform=perform)


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def worklist_snooze_view(request: HttpRequest, customer_pk: int) -> HttpResponse:
    def perform(customer, form) -> str:
        contact_services.worklist_snooze(
            customer=customer,
            user=customer.account_manager,
            until=form.cleaned_data["until"],
            reason=form.cleaned_data["reason"],
            created_by=request.user,
        )
        when = formats.format_date(form.cleaned_data["until"])
        return _("Snoozed until %(when)s.") % {"when": when}

    return _row_action(request, customer_pk, action="snooze", form_class=SnoozeForm, perform=perform, row_says_it=True)


@login_required
@require_POST
def worklist_unsnooze_view(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = _customer_on_a_worklist_or_404(request.user, customer_pk)
    contact_services.worklist_unsnooze(customer=customer, user=customer.account_manager)
    return _answer(request, customer, done=_("Back on the list."))
