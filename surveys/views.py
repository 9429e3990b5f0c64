"""The survey builder's pages, for marketers and administrators (anyone else gets a 404, as for a
customer they may not see): the list, a new survey from a ready-made template or from scratch,
its settings and questions, activating, sending and closing it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers import roles
from customers.selectors import customer_editable_by, customer_visible_to
from segmentation.models import Segment

from . import sending, services
from .forms import NewSurveyForm, QuestionForm, SurveyForm
from .models import Question, Survey
from .ready_made import TEMPLATES


def surveys_manageable_by(user) -> bool:
    return roles.is_administrator(user) or roles.is_marketer(user)


def _manager_or_404(request: HttpRequest) -> None:
    if not surveys_manageable_by(request.user):
        raise Http404


def _segments():
    return list(Segment.objects.order_by("name").values_list("pk", "name"))


@login_required
def survey_list(request: HttpRequest) -> HttpResponse:
    _manager_or_404(request)
    surveys = Survey.objects.order_by("-id")
    context = {
        "surveys": surveys,
        "templates": [(kind, spec["name"], spec["audience"]) for kind, spec in TEMPLATES.items()],
        "form": NewSurveyForm(),
    }
    return render(request, "surveys/survey_list.html", context)


@login_required
@require_POST
def survey_from_template(request: HttpRequest) -> HttpResponse:
    _manager_or_404(request)
    try:
        survey = services.survey_create_from_template(kind=request.POST.get("kind", ""), created_by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("surveys:list")
    messages.success(request, _("Survey created from the template. Check its questions, then activate it."))
    return redirect(survey)


@login_required
@require_POST
def survey_new(request: HttpRequest) -> HttpResponse:
    _manager_or_404(request)
    form = NewSurveyForm(request.POST)
    if form.is_valid():
        try:
            survey = services.survey_create(created_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("surveys:list")
        return redirect(survey)
    messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("surveys:list")


@login_required
def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _manager_or_404(request)
    survey = get_object_or_404(Survey, pk=pk)
    form = SurveyForm(request.POST or None, instance=survey, segments=_segments())
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        survey.refresh_from_db()
        try:
            services.survey_update(survey=survey, **fields)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("The survey's settings are saved."))
            return redirect(survey)
    return _detail(request, survey, form=form)


def _detail(request, survey, *, form=None, question_form=None, status=200):
    questions = list(survey.questions.order_by("position"))
    language = request.LANGUAGE_CODE
    low, high = questions[0].scale if questions and questions[0].scale else (None, None)
    for question in questions:
        question.display_text = question.text_in(language, survey.fallback_language)
        conditional = question.show_min is not None or question.show_max is not None
        question.condition_low = (low if question.show_min is None else question.show_min) if conditional else None
        question.condition_high = high if question.show_max is None else question.show_max
    context = {
        "survey": survey,
        "form": form or SurveyForm(instance=survey, segments=_segments()),
        "questions": questions,
        "question_form": question_form or QuestionForm(),
        "counts": {
            "invited": survey.invitations.count(),
            "answered": survey.invitations.filter(answered=True).count(),
            "responses": survey.responses.count(),
        },
        "pulse_max": services.PULSE_MAX_QUESTIONS,
    }
    return render(request, "surveys/survey_detail.html", context, status=status)


@login_required
@require_POST
def question_add(request: HttpRequest, pk: int) -> HttpResponse:
    _manager_or_404(request)
    survey = get_object_or_404(Survey, pk=pk)
    form = QuestionForm(request.POST)
    if form.is_valid():
        try:
            services.question_add(
                survey=survey,
                kind=form.cleaned_data["kind"],
                texts=form.texts(),
                choices=form.choices(),
                required=form.cleaned_data["required"],
                show_min=form.cleaned_data["show_min"],
                show_max=form.cleaned_data["show_max"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Question added."))
            return redirect(survey)
    return _detail(request, survey, question_form=form, status=400)


@login_required
def question_edit(request: HttpRequest, pk: int, question_pk: int) -> HttpResponse:
    _manager_or_404(request)
    question = get_object_or_404(Question.objects.select_related("survey"), pk=question_pk, survey_id=pk)
    form = QuestionForm(request.POST or None, editing=question)
    if request.method == "POST" and form.is_valid():
        try:
            services.question_update(
                question=question,
                texts=form.texts(),
                choices=form.choices(),
                required=form.cleaned_data["required"],
                show_min=form.cleaned_data["show_min"],
                show_max=form.cleaned_data["show_max"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Question saved."))
            return redirect(question.survey)
    return render(
        request, "surveys/question_form.html", {"survey": question.survey, "question": question, "form": form}
    )


@login_required
@require_POST
def question_delete(request: HttpRequest, pk: int, question_pk: int) -> HttpResponse:
    _manager_or_404(request)
    question = get_object_or_404(Question.objects.select_related("survey"), pk=question_pk, survey_id=pk)
    try:
        services.question_delete(question=question)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Question removed."))
    return redirect(question.survey)


@login_required
@require_POST
def survey_activate(request: HttpRequest, pk: int) -> HttpResponse:
    _manager_or_404(request)
    survey = get_object_or_404(Survey, pk=pk)
    try:
        services.survey_activate(survey=survey)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The survey is active."))
    return redirect(survey)


@login_required
@require_POST
def survey_close(request: HttpRequest, pk: int) -> HttpResponse:
    _manager_or_404(request)
    survey = get_object_or_404(Survey, pk=pk)
    services.survey_close(survey=survey)
    messages.success(request, _("The survey is closed: its links take no more answers."))
    return redirect(survey)


@login_required
@require_POST
def survey_send(request: HttpRequest, pk: int) -> HttpResponse:
    _manager_or_404(request)
    survey = get_object_or_404(Survey, pk=pk)
    if survey.status != Survey.Status.ACTIVE:
        messages.error(request, _("Activate the survey before sending it."))
        return redirect(survey)
    if not survey.for_employees and survey.segment_id is None:
        messages.error(request, _("Choose the segment to send to in the survey's settings."))
        return redirect(survey)
    created = sending.survey_send(survey=survey)
    messages.success(
        request,
        _("%(count)s invitations are on their way (those asked within the minimum gap are left out).")
        % {"count": created},
    )
    return redirect(survey)


@login_required
@require_POST
def survey_invite_customer(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """The customer card's "Ask a survey": one customer invited by hand (the minimum gap applies)."""
    customer = get_object_or_404(customer_visible_to(request.user), pk=customer_pk)
    if not customer_editable_by(request.user).filter(pk=customer.pk).exists():
        raise PermissionDenied
    survey = Survey.objects.filter(
        pk=_int_or_none(request.POST.get("survey")), status=Survey.Status.ACTIVE, audience="customers"
    ).first()
    if survey is None:
        messages.error(request, _("Choose one of the active customer surveys."))
    elif sending.invite_one(survey=survey, customer=customer, wave=f"hand-{timezone.localdate().isoformat()}"):
        messages.success(request, _("The survey is on its way to the customer."))
    else:
        messages.error(request, _("Not sent: the customer was asked a survey within its minimum gap."))
    return redirect(customer)


def _int_or_none(value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None
