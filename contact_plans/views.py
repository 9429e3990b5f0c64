"""Follow-up actions of the customer page's "Follow-ups" card: schedule, complete, cancel.

POST only, CSRF-protected, for users who may edit the customer; anyone else gets a 404. With htmx
the answer is the card, re-rendered; without JavaScript, a redirect back to the customer page.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.selectors import customer_editable_by
from retention_crm.http import is_htmx

from . import selectors, services
from .forms import FollowUpForm
from .panels import TEMPLATE, followups_panel_context


def _card(request: HttpRequest, customer, **extra) -> HttpResponse:
    return render(request, TEMPLATE, {"panel": followups_panel_context(request, customer, **extra)})


@login_required
@require_POST
def followup_schedule_view(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = get_object_or_404(customer_editable_by(request.user), pk=customer_pk)
    form = FollowUpForm(request.POST)
    if form.is_valid():
        try:
            services.followup_schedule(
                customer=customer,
                assigned_to=customer.account_manager or request.user,
                due_at=form.due_at,
                note=form.cleaned_data["note"],
                created_by=request.user,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
    if is_htmx(request):
        return _card(request, customer, form=None if form.is_valid() and not form.errors else form)
    if form.errors:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    else:
        messages.success(request, _("The follow-up is scheduled."))
    return redirect(customer)


def _close(request: HttpRequest, pk: int, action) -> HttpResponse:
    followup = get_object_or_404(selectors.followup_editable_by(request.user).select_related("customer"), pk=pk)
    error = ""
    try:
        action(followup=followup)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if is_htmx(request):
        return _card(request, followup.customer, error=error)
    if error:
        messages.error(request, error)
    return redirect(followup.customer)


@login_required
@require_POST
def followup_complete_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _close(request, pk, services.followup_complete)


@login_required
@require_POST
def followup_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _close(request, pk, services.followup_cancel)
