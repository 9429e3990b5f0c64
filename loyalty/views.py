"""Actions of the customer page's "Loyalty" card: enrol the customer, adjust their points.

POST only, CSRF-protected, for users allowed to adjust (services.adjustment_allowed); anyone who
may not see the customer gets a 404. With htmx the answer is the card, re-rendered; without
JavaScript, a redirect back to the customer page.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.selectors import customer_visible_to
from retention_crm.http import is_htmx

from . import services
from .forms import AdjustmentForm
from .panels import TEMPLATE, loyalty_panel_context


def _answer(request: HttpRequest, customer, *, form=None, error: str = "", done: str = "") -> HttpResponse:
    if is_htmx(request):
        context = loyalty_panel_context(request, customer, form=form, error=error)
        return render(request, TEMPLATE, {"panel": context})
    if error or (form is not None and form.errors):
        messages.error(request, error or " ".join(str(e) for errors in form.errors.values() for e in errors))
    elif done:
        messages.success(request, done)
    return redirect(customer)


def _customer_for_adjusting(request: HttpRequest, customer_pk: int):
    customer = get_object_or_404(customer_visible_to(request.user), pk=customer_pk)
    if not services.adjustment_allowed(user=request.user, customer=customer):
        raise PermissionDenied
    return customer


@login_required
@require_POST
def member_enrol_view(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = _customer_for_adjusting(request, customer_pk)
    services.member_enrol(customer=customer)
    return _answer(request, customer, done=_("The customer is now a member of the loyalty programme."))


@login_required
@require_POST
def points_adjust_view(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = _customer_for_adjusting(request, customer_pk)
    form = AdjustmentForm(request.POST)
    if form.is_valid():
        try:
            services.points_adjust(
                customer=customer,
                points=form.cleaned_data["points"],
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
    if form.is_valid() and not form.errors:
        return _answer(request, customer, done=_("The points are adjusted."))
    return _answer(request, customer, form=form)
