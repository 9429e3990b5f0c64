"""Follow-ups: the actions of the customer page's "Follow-ups" card (schedule, complete, cancel),
and the page of the follow-ups due today and overdue, with its done and reschedule actions.

The actions are POST only, CSRF-protected, for users who may edit the customer; anyone else gets a
404. With htmx the answer is the card, re-rendered; without JavaScript, a redirect back to the
customer page, or to the page the form names in ``next`` (the follow-ups page).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers import roles
from customers.selectors import account_manager_list, customer_editable_by
from retention_crm.formats import format_date
from retention_crm.http import is_htmx

from . import selectors, services
from .forms import FollowUpForm, RescheduleForm
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


def _safe_next(request: HttpRequest) -> str:
    """``next`` of the form when it is a page of this site, else ""."""
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


def _close(request: HttpRequest, pk: int, action, *, done: str = "", **kwargs) -> HttpResponse:
    followup = get_object_or_404(selectors.followup_editable_by(request.user).select_related("customer"), pk=pk)
    error = ""
    try:
        action(followup=followup, **kwargs)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if is_htmx(request):
        return _card(request, followup.customer, error=error)
    if error:
        messages.error(request, error)
    elif done and _safe_next(request):
        messages.success(request, done % {"name": followup.customer.name})
    return redirect(_safe_next(request) or followup.customer)


@login_required
@require_POST
def followup_complete_view(request: HttpRequest, pk: int) -> HttpResponse:
    # How it went (a plan's task may end or branch on it); optional, checked by the service.
    outcome = request.POST.get("outcome", "")[:20]
    return _close(request, pk, services.followup_complete, done=_("Follow-up with %(name)s done."), outcome=outcome)


@login_required
@require_POST
def followup_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _close(request, pk, services.followup_cancel)


# --- Follow-ups due today and overdue -------------------------------------------------------------


def _due_assignee(request: HttpRequest):
    """Whose follow-ups the page lists: an account manager's own; an administrator's pick (None:
    everyone's). Anyone else, or a pick that is not an account manager, gets a 404."""
    raw = request.GET.get("person") or ""
    if roles.is_administrator(request.user):
        if not raw:
            return None
        person = account_manager_list().filter(pk=raw).first() if raw.isdigit() else None
        if person is None:
            raise Http404
        return person
    if roles.is_account_manager(request.user) and raw in ("", str(request.user.pk)):
        return request.user
    raise Http404


@login_required
def followup_due_page(request: HttpRequest) -> HttpResponse:
    assignee = _due_assignee(request)
    may_pick = roles.is_administrator(request.user)
    followups = list(selectors.followup_due(viewer=request.user, assignee=assignee))
    today_start = selectors.day_start(timezone.localdate())
    for followup in followups:
        followup.is_late = followup.due_at < today_start
    context = {
        "followups": followups,
        "counts": {
            "overdue": sum(1 for f in followups if f.is_late),
            "today": sum(1 for f in followups if not f.is_late),
        },
        "assignee": assignee,
        "may_pick": may_pick,
        "people": list(account_manager_list()) if may_pick else [],
        "reschedule_form": RescheduleForm(),
        "next_url": request.get_full_path(),
    }
    return render(request, "contact_plans/followups_due.html", context)


@login_required
@require_POST
def followup_reschedule_view(request: HttpRequest, pk: int) -> HttpResponse:
    followup = get_object_or_404(selectors.followup_editable_by(request.user).select_related("customer"), pk=pk)
    form = RescheduleForm(request.POST)
    if form.is_valid():
        try:
            services.followup_reschedule(followup=followup, due_at=form.due_at)
        except ValidationError as exc:
            form.add_service_errors(exc)
    if form.errors:
        errors = " ".join(str(error) for errors in form.errors.values() for error in errors)
        messages.error(request, _("%(name)s: %(errors)s") % {"name": followup.customer.name, "errors": errors})
    else:
        when = format_date(form.cleaned_data["due_on"])
        messages.success(
            request, _("Follow-up with %(name)s moved to %(when)s.") % {"name": followup.customer.name, "when": when}
        )
    return redirect(_safe_next(request) or reverse("worklist:followups_due"))
