"""The team pages.

- Employees and teams (list, add, edit, import by CSV): for those who may manage the team
  (``team.change_employee``: administrators); anyone else gets 404.
- One-to-ones: for the two people in each (a login linked to the employee); anyone else, an
  administrator included, gets 404. Private notes are read and written by their author only.
"""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import selectors, services
from .forms import (
    ActionForm,
    EmployeeFilterForm,
    EmployeeForm,
    EmployeeImportForm,
    NotesForm,
    OneToOneStartForm,
    RescheduleForm,
    TeamForm,
    TextForm,
)
from .imports import COLUMNS, employees_import
from .models import ActionItem, AgendaItem, Employee, Meeting, OneToOne, Team

logger = logging.getLogger(__name__)

PAGE_SIZE = 200


def _manager_or_404(user) -> None:
    if not selectors.may_manage_team(user):
        raise Http404


# --- Employees and teams ----------------------------------------------------------------------


@login_required
def employee_list_view(request: HttpRequest) -> HttpResponse:
    _manager_or_404(request.user)
    form = EmployeeFilterForm(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    team = data.get("team")
    employees = selectors.employee_list(
        search=(data.get("q") or "").strip(), team_id=team.pk if team else None, include_left=bool(data.get("left"))
    )
    context = {
        "form": form,
        "employees": employees[:PAGE_SIZE],
        "total": employees.count(),
        "page_size": PAGE_SIZE,
        "teams": selectors.team_list(),
    }
    return render(request, "team/employee_list.html", context)


@login_required
def employee_form_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _manager_or_404(request.user)
    employee = get_object_or_404(Employee, pk=pk) if pk else None
    form = EmployeeForm(request.POST or None, instance=employee)
    if request.method == "POST" and form.is_valid():
        try:
            data = {name: form.cleaned_data[name] for name in form.Meta.fields}
            saved = services.employee_save(employee=employee, **data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("%(name)s is saved.") % {"name": saved.name})
            return redirect("team:employees")
    return render(request, "team/employee_form.html", {"form": form, "employee": employee})


@login_required
def employee_import_view(request: HttpRequest) -> HttpResponse:
    _manager_or_404(request.user)
    form = EmployeeImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        raw = upload.read(2 * 1024 * 1024 + 1)
        report = employees_import(raw=raw)
        logger.info(
            "team.import created=%s updated=%s unchanged=%s errors=%s",
            report.created,
            report.updated,
            report.unchanged,
            len(report.errors),
        )
    return render(request, "team/employee_import.html", {"form": form, "report": report, "columns": COLUMNS})


@login_required
def team_form_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _manager_or_404(request.user)
    team = get_object_or_404(Team, pk=pk) if pk else None
    form = TeamForm(request.POST or None, instance=team)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.team_save(team=team, name=form.cleaned_data["name"], lead=form.cleaned_data["lead"])
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("The team %(name)s is saved.") % {"name": saved.name})
            return redirect("team:employees")
    return render(request, "team/team_form.html", {"form": form, "team": team})


# --- One-to-ones ------------------------------------------------------------------------------


def _me_or_404(user) -> Employee:
    employee = selectors.employee_of(user)
    if employee is None:
        raise Http404
    return employee


def _series_or_404(user, pk: int) -> tuple[Employee, OneToOne]:
    employee = selectors.employee_of(user)
    try:
        return employee, selectors.one_to_one_get(employee=employee, pk=pk)
    except OneToOne.DoesNotExist:
        raise Http404 from None


@login_required
def one_to_one_list_view(request: HttpRequest) -> HttpResponse:
    employee = selectors.employee_of(request.user)
    context = {"employee": employee, "led": [], "attended": [], "start_form": None, "overdue": []}
    if employee is not None:
        series = list(selectors.one_to_ones_of(employee))
        pending = {m.one_to_one_id: m for m in Meeting.objects.filter(one_to_one__in=series, held_at__isnull=True)}
        for item in series:
            item.pending = pending.get(item.pk)
            item.is_overdue = item.pending is not None and item.pending.scheduled_at < selectors.overdue_cutoff()
        context["led"] = [s for s in series if s.lead_id == employee.pk]
        context["attended"] = [s for s in series if s.person_id == employee.pk]
        members = selectors.team_members_led_by(employee)
        if members.exists():
            form = OneToOneStartForm(request.POST or None, members=members)
            if request.method == "POST" and form.is_valid():
                try:
                    started = services.one_to_one_start(lead=employee, **form.cleaned_data)
                except ValidationError as exc:
                    form.add_service_errors(exc)
                else:
                    messages.success(
                        request, _("The one-to-one with %(name)s is planned.") % {"name": started.person.name}
                    )
                    return redirect("team:one_to_one", pk=started.pk)
            context["start_form"] = form
        context["overdue"] = [s for s in context["led"] if s.is_overdue]
    elif request.method == "POST":
        raise Http404
    return render(request, "team/one_to_one_list.html", context)


@login_required
def one_to_one_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    employee, series = _series_or_404(request.user, pk)
    return render(request, "team/one_to_one_detail.html", _detail_context(employee, series))


def _detail_context(employee: Employee, series: OneToOne, **forms) -> dict:
    meeting = selectors.meeting_pending(series)
    history = selectors.meetings_held(series)
    mine = selectors.private_notes_of(author=employee, meetings=[meeting, *history])
    for past in history:
        past.my_note = mine.get(past.pk, "")
    return {
        "series": series,
        "me": employee,
        "is_lead": employee.pk == series.lead_id,
        "other": series.person if employee.pk == series.lead_id else series.lead,
        "meeting": meeting,
        "is_overdue": meeting is not None and meeting.scheduled_at < selectors.overdue_cutoff(),
        "agenda": meeting.agenda.select_related("author") if meeting else [],
        "actions": selectors.action_items_open(series),
        "done_actions": selectors.action_items_done_recently(series),
        "history": history,
        "agenda_form": forms.get("agenda_form") or TextForm(),
        "action_form": forms.get("action_form") or ActionForm(series=series),
        "shared_form": NotesForm(initial={"text": meeting.shared_notes}) if meeting else None,
        "private_form": NotesForm(initial={"text": mine.get(meeting.pk, "")}) if meeting else None,
        "reschedule_form": RescheduleForm(initial={"scheduled_at": meeting.scheduled_at}) if meeting else None,
    }


def _pending_meeting_or_404(series: OneToOne) -> Meeting:
    meeting = selectors.meeting_pending(series)
    if meeting is None:
        raise Http404
    return meeting


def _back(series: OneToOne) -> HttpResponse:
    return redirect("team:one_to_one", pk=series.pk)


def _error(request, employee, series, **forms) -> HttpResponse:
    return render(request, "team/one_to_one_detail.html", _detail_context(employee, series, **forms), status=400)


@login_required
@require_POST
def agenda_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    employee, series = _series_or_404(request.user, pk)
    meeting = _pending_meeting_or_404(series)
    form = TextForm(request.POST)
    if form.is_valid():
        services.agenda_add(meeting=meeting, author=employee, text=form.cleaned_data["text"])
        return _back(series)
    return _error(request, employee, series, agenda_form=form)


@login_required
@require_POST
def agenda_remove_view(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    employee, series = _series_or_404(request.user, pk)
    item = get_object_or_404(AgendaItem, pk=item_pk, meeting__one_to_one=series, author=employee)
    services.agenda_remove(item=item, by=employee)
    return _back(series)


def _refused(request: HttpRequest, form) -> None:
    """Notes too long: say why on the page the user goes back to (nothing stored changes)."""
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


@login_required
@require_POST
def shared_notes_view(request: HttpRequest, pk: int) -> HttpResponse:
    employee, series = _series_or_404(request.user, pk)
    meeting = _pending_meeting_or_404(series)
    form = NotesForm(request.POST)
    if form.is_valid():
        services.shared_notes_save(meeting=meeting, by=employee, text=form.cleaned_data["text"])
        messages.success(request, _("The shared notes are saved."))
    else:
        _refused(request, form)
    return _back(series)


@login_required
@require_POST
def private_note_view(request: HttpRequest, pk: int) -> HttpResponse:
    employee, series = _series_or_404(request.user, pk)
    meeting = _pending_meeting_or_404(series)
    form = NotesForm(request.POST)
    if form.is_valid():
        services.private_note_save(meeting=meeting, author=employee, text=form.cleaned_data["text"])
        messages.success(request, _("Your private notes are saved."))
    else:
        _refused(request, form)
    return _back(series)


@login_required
@require_POST
def action_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    employee, series = _series_or_404(request.user, pk)
    meeting = _pending_meeting_or_404(series)
    form = ActionForm(request.POST, series=series)
    if form.is_valid():
        try:
            services.action_add(meeting=meeting, by=employee, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return _back(series)
    return _error(request, employee, series, action_form=form)


@login_required
@require_POST
def action_done_view(request: HttpRequest, pk: int, action_pk: int) -> HttpResponse:
    employee, series = _series_or_404(request.user, pk)
    action = get_object_or_404(ActionItem, pk=action_pk, one_to_one=series)
    services.action_set_done(action=action, by=employee, done=request.POST.get("done", "1") == "1")
    return _back(series)


@login_required
@require_POST
def meeting_hold_view(request: HttpRequest, pk: int) -> HttpResponse:
    employee, series = _series_or_404(request.user, pk)
    meeting = _pending_meeting_or_404(series)
    try:
        services.meeting_hold(meeting=meeting, by=employee)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Marked as held; the next meeting is planned."))
    return _back(series)


@login_required
@require_POST
def meeting_reschedule_view(request: HttpRequest, pk: int) -> HttpResponse:
    employee, series = _series_or_404(request.user, pk)
    meeting = _pending_meeting_or_404(series)
    form = RescheduleForm(request.POST)
    if form.is_valid():
        services.meeting_reschedule(meeting=meeting, by=employee, scheduled_at=form.cleaned_data["scheduled_at"])
        messages.success(request, _("The meeting is moved."))
    else:
        messages.error(request, _("Choose a date and time."))
    return _back(series)


@login_required
@require_POST
def one_to_one_end_view(request: HttpRequest, pk: int) -> HttpResponse:
    employee, series = _series_or_404(request.user, pk)
    try:
        services.one_to_one_end(one_to_one=series, by=employee)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back(series)
    messages.success(request, _("The one-to-one has ended."))
    return redirect("team:one_to_ones")
