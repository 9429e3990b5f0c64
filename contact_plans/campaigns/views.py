"""The browser UI of campaigns: the list, the builder, a campaign's page (its audience preview, the
message per language, schedule / cancel) and its results (a chart and a CSV).

Marketers and administrators build, schedule and cancel; account managers read (the figures of the
customers of their book); anyone else gets a 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from retention_crm.csv import csv_response, dated_filename
from retention_crm.formats import format_percent

from ..messaging.template_views import PREVIEW_BODY_CSP
from ..models import Campaign
from . import selectors, services
from .forms import CampaignForm


def _campaign_or_404(user, pk: int) -> Campaign:
    try:
        return selectors.campaign_get(user=user, campaign_id=pk)
    except Campaign.DoesNotExist:
        raise Http404 from None


def _readable_or_404(user) -> None:
    if not selectors.campaign_can_read(user):
        raise Http404


def _manager_or_404(user) -> None:
    if not selectors.campaign_can_manage(user):
        raise Http404


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    _readable_or_404(request.user)
    context = {
        "campaigns": selectors.campaign_list(user=request.user),
        "may_manage": selectors.campaign_can_manage(request.user),
    }
    return render(request, "contact_plans/campaigns/campaign_list.html", context)


def _builder(request: HttpRequest, campaign: Campaign | None) -> HttpResponse:
    _manager_or_404(request.user)
    if campaign is not None and not campaign.is_editable:
        messages.error(request, _("A campaign that has started or was cancelled can no longer be changed."))
        return redirect("campaigns:detail", pk=campaign.pk)
    status = 200
    if request.method == "POST":
        form = CampaignForm(request.POST)
        if form.is_valid():
            try:
                if campaign is None:
                    schedule = "schedule" in request.POST
                    campaign = services.campaign_create(created_by=request.user, schedule=schedule, **form.cleaned_data)
                    messages.success(request, _("Campaign scheduled.") if schedule else _("Campaign saved as a draft."))
                else:
                    campaign, changed = services.campaign_update(campaign=campaign, **form.cleaned_data)
                    messages.success(request, _("Campaign saved.") if changed else _("Nothing to save: no change."))
                return redirect("campaigns:detail", pk=campaign.pk)
            except ValidationError as exc:
                form.add_service_errors(exc)
        status = 400
    else:
        form = CampaignForm(initial=CampaignForm.initial_for(campaign) if campaign else None)
    return render(
        request, "contact_plans/campaigns/campaign_form.html", {"campaign": campaign, "form": form}, status=status
    )


@login_required
def campaign_create(request: HttpRequest) -> HttpResponse:
    return _builder(request, None)


@login_required
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _builder(request, _campaign_or_404(request.user, pk))


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign_or_404(request.user, pk)
    context = {
        "campaign": campaign,
        "may_manage": selectors.campaign_can_manage(request.user),
        "problems": selectors.campaign_problems(campaign),
        # Before it sends: who it would reach and what they would read. After: the results page.
        "preview": selectors.audience_preview(user=request.user, campaign=campaign) if campaign.is_editable else None,
        "messages_by_language": (
            selectors.message_previews(user=request.user, campaign=campaign) if campaign.is_editable else []
        ),
        "runs": campaign.runs.all()[:20],
    }
    return render(request, "contact_plans/campaigns/campaign_detail.html", context)


@xframe_options_sameorigin
@login_required
def campaign_preview_body(request: HttpRequest, pk: int, language: str) -> HttpResponse:
    """The message's HTML in one language, rendered for the member the page shows, for its frame."""
    campaign = _campaign_or_404(request.user, pk)
    preview = next(iter(selectors.message_previews(user=request.user, campaign=campaign, language=language)), None)
    if preview is None:
        raise Http404
    if preview.error:
        return HttpResponse(preview.error, content_type="text/plain; charset=utf-8", status=422)
    response = HttpResponse(preview.html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = PREVIEW_BODY_CSP
    response["Referrer-Policy"] = "no-referrer"
    return response


def _action(request: HttpRequest, pk: int, act) -> HttpResponse:
    _manager_or_404(request.user)
    campaign = _campaign_or_404(request.user, pk)
    try:
        message = act(campaign)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    else:
        messages.success(request, message)
    return redirect("campaigns:detail", pk=pk)


@require_POST
@login_required
def campaign_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    def act(campaign):
        services.campaign_schedule(campaign=campaign)
        return _("Campaign scheduled.")

    return _action(request, pk, act)


@require_POST
@login_required
def campaign_unschedule(request: HttpRequest, pk: int) -> HttpResponse:
    def act(campaign):
        services.campaign_unschedule(campaign=campaign)
        return _("The campaign is a draft again.")

    return _action(request, pk, act)


@require_POST
@login_required
def campaign_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    def act(campaign):
        withdrawn = services.campaign_cancel(campaign=campaign)
        return _("Campaign cancelled; %(count)s queued messages withdrawn.") % {"count": withdrawn}

    return _action(request, pk, act)


@require_POST
@login_required
def campaign_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _manager_or_404(request.user)
    campaign = _campaign_or_404(request.user, pk)
    try:
        services.campaign_delete(campaign=campaign)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return redirect("campaigns:detail", pk=pk)
    messages.success(request, _("Draft deleted."))
    return redirect("campaigns:list")


def _chart(results: selectors.Results) -> dict | None:
    lift = results.uplift
    if lift.treated_rate is None and lift.control_rate is None:
        return None
    return {
        "type": "bar",
        "labels": [_("Sent"), _("Control group")],
        "datasets": [
            {
                "label": _("Purchased within 30 days"),
                "data": [lift.treated_rate or 0, lift.control_rate or 0],
                "color": "#0d6efd",
            }
        ],
        "y": {"percent": True, "min": 0},
    }


@login_required
def campaign_results(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign_or_404(request.user, pk)
    results = selectors.campaign_results(user=request.user, campaign=campaign)
    context = {
        "campaign": campaign,
        "results": results,
        "chart": _chart(results),
        "lift": results.uplift,
        "sees_all": selectors.sees_all(request.user),
    }
    return render(request, "contact_plans/campaigns/campaign_results.html", context)


def _rate(value) -> str:
    return "" if value is None else format_percent(value, 1)


@login_required
def campaign_results_csv(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign_or_404(request.user, pk)
    results = selectors.campaign_results(user=request.user, campaign=campaign)
    lift = results.uplift
    rows = [
        *results.rows,
        (_("Purchased within 30 days: sent"), _rate(lift.treated_rate)),
        (_("Purchased within 30 days: control group"), _rate(lift.control_rate)),
        (_("Difference"), _rate(lift.difference)),
        (_("%(level)s interval: low") % {"level": format_percent(lift.confidence)}, _rate(lift.low)),
        (_("%(level)s interval: high") % {"level": format_percent(lift.confidence)}, _rate(lift.high)),
    ]
    return csv_response(
        filename=dated_filename(f"campaign-{campaign.pk}-results"), header=[_("Figure"), _("Value")], rows=rows
    )
