"""The worklist ("My book"): the account manager's home page, and its one-click row actions.

Actions are POST (CSRF-protected) for users who may edit the customer; anyone else gets a 404.
With htmx each action answers with the row, re-rendered from the same query as the page; without
JavaScript, a redirect back to the list with a message.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contact_plans import services as contact_services
from contact_plans.forms import FollowUpForm, SnoozeForm
from customers import services as customer_services
from customers.selectors import customer_editable_by

from . import worklist
from .worklist_forms import LogContactForm, WorklistFilterForm


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


@login_required
def worklist_page(request):
    form = WorklistFilterForm(request.GET, may_pick_manager=worklist.worklist_may_pick_manager(request.user))
    try:
        manager = worklist.worklist_manager(viewer=request.user, manager_id=form.manager_id)
    except worklist.WorklistNotAllowed:
        raise Http404 from None
    ranked = worklist.metrics_exist()
    page = None
    rows = []
    if manager is not None:
        customers = worklist.worklist_queryset(
            viewer=request.user, manager=manager, filters=form.filters, ranked=ranked
        )
        page = Paginator(customers, worklist.PAGE_SIZE).get_page(request.GET.get("page"))
        rows = worklist.rows_with_reasons(page.object_list)
    context = {
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
        "next_url": request.get_full_path(),
    }
    return render(request, "segmentation/worklist.html", context)


# --- Row actions --------------------------------------------------------------------------------


def _customer_on_a_worklist_or_404(user, pk: int):
    customers = customer_editable_by(user).filter(archived_at__isnull=True, account_manager__isnull=False)
    return get_object_or_404(customers.select_related("account_manager"), pk=pk)


def _back(request):
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("worklist:home")


def _answer(request, customer, *, done: str = "", failed: str = "", form=None):
    """The row again (htmx), or a redirect to the list with a message."""
    if not _is_htmx(request):
        if failed:
            errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
            messages.error(request, " ".join(errors))
        else:
            messages.success(request, done)
        return _back(request)
    filters = worklist.WorklistFilters(include_snoozed=True)
    rows = worklist.worklist_queryset(
        viewer=request.user, manager=customer.account_manager, filters=filters, ranked=worklist.metrics_exist()
    ).filter(pk=customer.pk)
    rows = worklist.rows_with_reasons(rows)
    if not rows:
        raise Http404
    context = {
        "row": rows[0],
        "can_act": True,
        "next_url": request.POST.get("next") or reverse("worklist:home"),
        "done": done,
        "failed": failed,
        "failed_form": form if failed else None,
    }
    return render(request, "segmentation/_worklist_row.html", context)


@login_required
@require_POST
def worklist_log(request, customer_pk: int):
    customer = _customer_on_a_worklist_or_404(request.user, customer_pk)
    form = LogContactForm(request.POST)
    if form.is_valid():
        try:
            customer_services.interaction_log(
                customer=customer,
                kind=form.cleaned_data["kind"],
                subject=form.cleaned_data["subject"],
                channel=form.channel,
                author=request.user,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
    if form.errors:
        return _answer(request, customer, failed="log", form=form)
    return _answer(request, customer, done=_("Logged: %(subject)s") % {"subject": form.cleaned_data["subject"]})


@login_required
@require_POST
def worklist_followup(request, customer_pk: int):
    customer = _customer_on_a_worklist_or_404(request.user, customer_pk)
    form = FollowUpForm(request.POST)
    if form.is_valid():
        try:
            contact_services.followup_schedule(
                customer=customer,
                assigned_to=customer.account_manager,
                due_at=form.due_at,
                note=form.cleaned_data["note"],
                created_by=request.user,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
    if form.errors:
        return _answer(request, customer, failed="followup", form=form)
    when = formats.date_format(form.cleaned_data["due_on"], "SHORT_DATE_FORMAT")
    return _answer(request, customer, done=_("Follow-up scheduled for %(when)s.") % {"when": when})


@login_required
@require_POST
def worklist_snooze(request, customer_pk: int):
    customer = _customer_on_a_worklist_or_404(request.user, customer_pk)
    form = SnoozeForm(request.POST)
    if form.is_valid():
        try:
            contact_services.worklist_snooze(
                customer=customer,
                user=customer.account_manager,
                until=form.cleaned_data["until"],
                reason=form.cleaned_data["reason"],
                created_by=request.user,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
    if form.errors:
        return _answer(request, customer, failed="snooze", form=form)
    when = formats.date_format(form.cleaned_data["until"], "SHORT_DATE_FORMAT")
    return _answer(request, customer, done=_("Snoozed until %(when)s.") % {"when": when})


@login_required
@require_POST
def worklist_unsnooze(request, customer_pk: int):
    customer = _customer_on_a_worklist_or_404(request.user, customer_pk)
    contact_services.worklist_unsnooze(customer=customer, user=customer.account_manager)
    return _answer(request, customer, done=_("Back on the list."))
