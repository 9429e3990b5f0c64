"""The complaints page: every case (complaint, support contact, review) of the customers the user
may see, the open, overdue and own ones, filters, sort, CSV export; a case's page with its history,
where the people who may edit the customer assign it, move it, resolve it or reopen it on purpose.

For administrators and account managers (anyone else: 404). Every read starts from
customers.selectors (case_visible_to, case_editable_by): a case of a customer the user may not see
is a 404, and one they may see but not edit shows no forms and refuses every change (404).
"""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from retention_crm import lists
from retention_crm.csv import csv_stream, dated_filename

from . import inbound, roles, selectors, services
from .forms import CaseFilterForm, CaseForm, CaseResolveForm, CaseStatusForm, CaseUpdateForm, InboundAttachForm
from .models import InboundEmail, Interaction

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
EXPORT_CHUNK_SIZE = 2000
INBOUND_SHOWN = 20
CASE_CSV_COLUMNS = (
    "id",
    "customer_id",
    "customer",
    "kind",
    "status",
    "priority",
    "owner",
    "subject",
    "channel",
    "received_at",
    "due_at",
    "overdue",
    "resolved_at",
    "hours_to_resolve",
    "resolution",
    "rating",
    "review_source",
)


def _may_use_or_404(user) -> None:
    if not (roles.is_administrator(user) or roles.is_account_manager(user)):
        raise Http404


def _case_visible_or_404(user, pk: int) -> Interaction:
    _may_use_or_404(user)
    try:
        return selectors.case_get(user=user, case_id=pk)
    except Interaction.DoesNotExist:
        raise Http404 from None


def _case_editable_or_404(user, pk: int) -> Interaction:
    _may_use_or_404(user)
    return get_object_or_404(selectors.case_editable_by(user), pk=pk)


@login_required
def case_list_view(request: HttpRequest) -> HttpResponse:
    _may_use_or_404(request.user)
    form = CaseFilterForm(request.GET)
    arguments = form.arguments()
    cases = selectors.case_list(user=request.user, **arguments)
    order = lists.Order.of(Interaction, arguments["ordering"])
    context = {
        "form": form,
        "view": arguments["view"],
        "views": CaseFilterForm.VIEW_CHOICES,
        "page": lists.page_from_cursor(cases, order, request.GET.get("cursor"), size=PAGE_SIZE),
        "total": lists.total(cases),
        "figures": selectors.case_figures(user=request.user),
        "window_days": selectors.RESOLVE_WINDOW_DAYS,
        "now": timezone.now(),
        "unmatched": selectors.inbound_unmatched(user=request.user)[:INBOUND_SHOWN],
        "attach_form": InboundAttachForm(),
    }
    return render(request, "customers/case_list.html", context)


def _case_csv_row(case: Interaction, now) -> list:
    hours = case.time_to_resolve.total_seconds() / 3600 if case.resolved_at else None
    return [
        case.pk,
        case.customer.external_id,
        case.customer.name,
        case.kind,
        case.status,
        case.priority,
        case.owner.username if case.owner else "",
        case.subject,
        case.channel,
        case.occurred_at,
        case.due_at,
        case.is_open and case.due_at is not None and case.due_at < now,
        case.resolved_at,
        f"{hours:.1f}" if hours is not None else "",
        case.resolution,
        case.rating or "",
        case.review_source,
    ]


@login_required
def case_export_view(request: HttpRequest) -> StreamingHttpResponse:
    _may_use_or_404(request.user)
    arguments = CaseFilterForm(request.GET).arguments()
    chunks = selectors.case_export_chunks(user=request.user, size=EXPORT_CHUNK_SIZE, **arguments)
    logger.info("customers.export kind=cases user=%s", request.user.pk)
    now = timezone.now()
    rows = (_case_csv_row(case, now) for chunk in chunks for case in chunk)
    return csv_stream(filename=dated_filename("complaints"), header=CASE_CSV_COLUMNS, rows=rows)


@login_required
def case_create_view(request: HttpRequest) -> HttpResponse:
    _may_use_or_404(request.user)
    initial = {}
    customer_id = request.GET.get("customer", "")
    if customer_id.isdigit():
        customer = selectors.customer_editable_by(request.user).filter(pk=int(customer_id)).first()
        if customer is not None:
            initial["customer"] = customer.external_id
    form = CaseForm(request.POST if request.method == "POST" else None, user=request.user, initial=initial)
    if form.is_valid():
        data = dict(form.cleaned_data)
        try:
            case = services.interaction_log(author=request.user, direction=Interaction.Direction.INBOUND, **data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("The case is recorded."))
            return redirect(case.get_case_url())
    return render(request, "customers/case_form.html", {"form": form})


@login_required
def case_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_visible_or_404(request.user, pk)
    return render(request, "customers/case_detail.html", _detail_context(request, case))


def _detail_context(request: HttpRequest, case: Interaction, **forms) -> dict:
    can_edit = selectors.case_editable_by(request.user).filter(pk=case.pk).exists()
    context = {
        "case": case,
        "can_edit": can_edit,
        "now": timezone.now(),
        "changes": case.changes.select_related("by").order_by("at", "id"),
    }
    if can_edit:
        context["update_form"] = forms.get("update_form") or CaseUpdateForm(
            initial={"owner": case.owner_id, "priority": case.priority, "due_at": case.due_at}
        )
        context["status_form"] = forms.get("status_form") or CaseStatusForm(initial={"status": case.status})
        context["resolve_form"] = forms.get("resolve_form") or CaseResolveForm()
    return context


def _rerender(request: HttpRequest, case: Interaction, **forms) -> HttpResponse:
    case = _case_visible_or_404(request.user, case.pk)
    return render(request, "customers/case_detail.html", _detail_context(request, case, **forms), status=400)


@login_required
@require_POST
def case_update_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_editable_or_404(request.user, pk)
    form = CaseUpdateForm(request.POST)
    if form.is_valid():
        try:
            case, changed = services.complaint_update(complaint=case, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            if changed:
                messages.success(request, _("The changes are saved."))
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect(case.get_case_url())
    return _rerender(request, case, update_form=form)


@login_required
@require_POST
def case_status_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_editable_or_404(request.user, pk)
    form = CaseStatusForm(request.POST)
    if form.is_valid():
        try:
            services.complaint_status_set(
                complaint=case, status=form.cleaned_data["status"], reopen=form.cleaned_data["reopen"], by=request.user
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            if form.cleaned_data["reopen"]:
                messages.success(request, _("The case is open again."))
            else:
                messages.success(request, _("The status is changed."))
            return redirect(case.get_case_url())
    return _rerender(request, case, status_form=form)


@login_required
@require_POST
def case_resolve_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_editable_or_404(request.user, pk)
    form = CaseResolveForm(request.POST)
    if form.is_valid():
        try:
            services.complaint_resolve(complaint=case, resolution=form.cleaned_data["resolution"], by=request.user)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("The case is resolved."))
            return redirect(case.get_case_url())
    return _rerender(request, case, resolve_form=form)


# --- Email from unknown senders (administrators) -----------------------------------------------


def _inbound_or_404(user, pk: int) -> InboundEmail:
    if not roles.is_administrator(user):
        raise Http404
    return get_object_or_404(InboundEmail, pk=pk)


@login_required
@require_POST
def inbound_attach_view(request: HttpRequest, pk: int) -> HttpResponse:
    email = _inbound_or_404(request.user, pk)
    form = InboundAttachForm(request.POST)
    if form.is_valid():
        try:
            case = inbound.inbound_email_attach(email=email, customer=form.cleaned_data["customer"], by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The email is recorded as a case of %(name)s.") % {"name": case.customer.name})
            return redirect(case.get_case_url())
    else:
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
    return redirect("complaints:list")


@login_required
@require_POST
def inbound_discard_view(request: HttpRequest, pk: int) -> HttpResponse:
    email = _inbound_or_404(request.user, pk)
    try:
        inbound.inbound_email_discard(email=email, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The email is discarded."))
    return redirect("complaints:list")
