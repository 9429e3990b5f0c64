"""The contact plan pages: the list, the builder (new and edit), a plan's page with its results, chart
and CSV, and the actions (pause or resume, enrol a segment; on the customer page: enrol the customer,
end an enrolment).

Every role reads plans; marketers and administrators build them and enrol segments; anyone else gets
a 404. The customer page's actions are for users who may see the customer (marketers, and account
managers for their book); with htmx they answer the re-rendered card.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from customers import roles
from customers.selectors import customer_visible_to
from retention_crm.csv import csv_response
from retention_crm.http import is_htmx
from segmentation.models import Segment

from ..models import ContactPlan, Enrolment
from . import forms, results, selectors, services
from .panels import TEMPLATE as PANEL_TEMPLATE
from .panels import plans_panel_context
from .validation import plan_problems


def _plan_or_404(request: HttpRequest, pk: int) -> ContactPlan:
    plan = selectors.plan_get(user=request.user, plan_id=pk)
    if plan is None:
        raise Http404
    return plan


def _editor_only(request: HttpRequest) -> None:
    if not selectors.plan_can_edit(request.user):
        raise Http404


@login_required
def plan_list_page(request: HttpRequest) -> HttpResponse:
    if not roles.has_any_role(request.user):
        raise Http404
    plans = selectors.plan_list(user=request.user)
    counts = selectors.plan_enrolment_counts(plan_ids=[p.pk for p in plans])
    for plan in plans:
        plan.counts = counts.get(plan.pk, {})
    return render(
        request,
        "contact_plans/plans/plan_list.html",
        {"plans": plans, "may_edit": selectors.plan_can_edit(request.user)},
    )


def _errors_by_step(errors: dict[str, list[str]]) -> tuple[dict, dict[int, list[str]]]:
    fields, steps = {}, {}
    for key, messages_ in errors.items():
        if key.startswith("steps."):
            index = int(key.split(".")[1])
            steps.setdefault(index, []).extend(messages_)
        else:
            fields[key] = messages_
    return fields, steps


def _builder(request: HttpRequest, plan: ContactPlan | None) -> HttpResponse:
    _editor_only(request)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data = forms.plan_data_from_post(request.POST)
        rows, pressed = forms.apply_row_action(request.POST, forms.rows_from_post(request.POST))
        if not pressed:
            try:
                saved = services.plan_save(
                    data=data, steps=[row.to_data() for row in rows], plan=plan, user=request.user
                )
            except ValidationError as exc:
                errors = exc.message_dict if hasattr(exc, "error_dict") else {"general": exc.messages}
            else:
                messages.success(request, _("The plan “%(name)s” is saved.") % {"name": saved.name})
                return redirect(saved)
    else:
        data = forms.plan_data_from_plan(plan)
        rows = forms.rows_from_plan(plan) if plan else []
    field_errors, step_errors = _errors_by_step(errors)
    for index, row in enumerate(rows):
        row.errors = step_errors.get(index, [])
    return render(
        request,
        "contact_plans/plans/plan_form.html",
        {
            "plan": plan,
            "data": data,
            "rows": rows,
            "errors": field_errors,
            "has_errors": bool(errors),
            **forms.builder_choices(),
        },
        status=400 if errors else 200,
    )


@login_required
def plan_create_page(request: HttpRequest) -> HttpResponse:
    return _builder(request, None)


@login_required
def plan_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    _editor_only(request)
    return _builder(request, _plan_or_404(request, pk))


@login_required
def plan_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_or_404(request, pk)
    figures = results.plan_results(plan=plan)
    may_edit = selectors.plan_can_edit(request.user)
    return render(
        request,
        "contact_plans/plans/plan_detail.html",
        {
            "plan": plan,
            "steps": list(plan.steps.select_related("template").order_by("position")),
            "results": figures,
            "chart": results.results_chart(figures),
            "problems": plan_problems(plan),
            "may_edit": may_edit,
            "segments": list(Segment.objects.filter(is_active=True).order_by("kind", "name")) if may_edit else [],
            "recent": list(selectors.enrolment_list(user=request.user, plan_id=plan.pk).order_by("-id")[:20]),
        },
    )


@login_required
def plan_results_csv(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_or_404(request, pk)
    header, rows = results.results_csv_rows(results.plan_results(plan=plan))
    return csv_response(filename=f"plan-{plan.pk}-results.csv", header=header, rows=rows)


@login_required
@require_POST
def plan_toggle_view(request: HttpRequest, pk: int) -> HttpResponse:
    _editor_only(request)
    plan = _plan_or_404(request, pk)
    try:
        services.plan_set_active(plan=plan, is_active=not plan.is_active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The plan is running.") if plan.is_active else _("The plan is paused."))
    return redirect(plan)


@login_required
@require_POST
def plan_enrol_segment_view(request: HttpRequest, pk: int) -> HttpResponse:
    _editor_only(request)
    plan = _plan_or_404(request, pk)
    raw = request.POST.get("segment", "")
    segment = Segment.objects.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 19 else None
    if segment is None:
        messages.error(request, _("Choose a segment."))
        return redirect(plan)
    try:
        counts = services.segment_enrol(plan=plan, segment=segment, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            ngettext(
                "%(enrolled)d customer enrolled (%(control)d held out as control); %(left)d left out.",
                "%(enrolled)d customers enrolled (%(control)d held out as control); %(left)d left out.",
                counts["enrolled"],
            )
            % {"enrolled": counts["enrolled"], "control": counts["control"], "left": counts["left_out"]},
        )
    return redirect(plan)


# --- The customer page's card ---------------------------------------------------------------------


def _card(request: HttpRequest, customer, **extra) -> HttpResponse:
    return render(request, PANEL_TEMPLATE, {"panel": plans_panel_context(request, customer, **extra)})


@login_required
@require_POST
def enrol_customer_view(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = get_object_or_404(customer_visible_to(request.user), pk=customer_pk)
    if not selectors.customer_may_enrol(user=request.user, customer=customer):
        raise Http404
    raw = request.POST.get("plan", "")
    plan = selectors.plans_open_for_enrolment().filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 19 else None
    error = notice = ""
    if plan is None:
        error = _("Choose an active plan.")
    else:
        try:
            services.enrolment_create(plan=plan, customer=customer, user=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            notice = _("Enrolled in “%(plan)s”.") % {"plan": plan.name}
    if is_htmx(request):
        return _card(request, customer, error=error, notice=notice)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(customer)


@login_required
@require_POST
def enrolment_end_view(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = get_object_or_404(
        selectors.enrolment_visible_to(request.user).select_related("customer", "plan"), pk=pk
    )
    if not selectors.enrolment_may_change(user=request.user, enrolment=enrolment):
        raise Http404
    services.enrolment_end(enrolment=enrolment, reason=Enrolment.EndReason.BY_HAND)
    notice = _("The enrolment in “%(plan)s” is ended.") % {"plan": enrolment.plan.name}
    if is_htmx(request):
        return _card(request, enrolment.customer, notice=notice)
    messages.success(request, notice)
    return redirect(enrolment.customer)
