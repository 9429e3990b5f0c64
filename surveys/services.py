"""The survey builder's writes: a survey from a ready-made template or from scratch, its questions
(added, changed, moved, removed), its activation and closing.

The rules that a marketer can break are checked here with messages they understand: a pulse
survey has at most ten questions, a scale question has its range, a follow-up condition lies
within the first question's scale, every question has a text in the survey's fallback language,
a survey is activated with a scored first question (the one the email shows as links).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from .models import Audience, Kind, Question, Survey
from .ready_made import TEMPLATES

PULSE_MAX_QUESTIONS = 10
# A survey of more questions than this is no longer answered in the minute the link promises.
MAX_QUESTIONS = 30
MAX_TEXT = 500
MAX_CHOICES = 20
LANGUAGES = [code for code, _name in settings.LANGUAGES]


def survey_create_from_template(*, kind: str, name: str = "", created_by=None) -> Survey:
    """A new draft survey, a copy of the ready-made template of ``kind`` (texts in every language)."""
    template = TEMPLATES.get(kind)
    if template is None:
        raise ValidationError({"kind": _("There is no ready-made survey of this kind.")})
    with transaction.atomic():
        survey = Survey.objects.create(
            name=(name or str(template["name"]))[:200],
            kind=kind,
            audience=template["audience"],
            anonymous=template.get("anonymous", False),
            recurrence=template.get("recurrence", ""),
            min_gap_days=template.get("min_gap_days", 30),
            created_by=created_by,
        )
        for position, spec in enumerate(template["questions"], start=1):
            Question.objects.create(
                survey=survey,
                position=position,
                kind=spec["kind"],
                texts=dict(spec["texts"]),
                required=spec.get("required", False),
                show_min=spec.get("show_min"),
                show_max=spec.get("show_max"),
            )
    return survey


def survey_create(*, name: str, kind: str, audience: str, anonymous: bool = False, created_by=None, **fields) -> Survey:
    """A new, empty draft survey (questions are added with ``question_add``)."""
    survey = Survey(
        name=name.strip(), kind=kind, audience=audience, anonymous=anonymous, created_by=created_by, **fields
    )
    _survey_check(survey)
    survey.save()
    return survey


def survey_update(*, survey: Survey, **fields) -> Survey:
    for name, value in fields.items():
        setattr(survey, name, value)
    _survey_check(survey)
    survey.save()
    return survey


def _survey_check(survey: Survey) -> None:
    errors = {}
    if not survey.name:
        errors["name"] = _("Give the survey a name.")
    if survey.kind not in Kind.values:
        errors["kind"] = _("Choose a kind of survey.")
    if survey.audience not in Audience.values:
        errors["audience"] = _("Choose who is asked: customers or employees.")
    elif survey.audience == Audience.CUSTOMERS and survey.kind in (Kind.ENPS, Kind.PULSE):
        errors["audience"] = _("eNPS and pulse surveys are for employees.")
    elif survey.audience == Audience.EMPLOYEES and survey.kind in (Kind.NPS, Kind.CSAT, Kind.CES):
        errors["audience"] = _("NPS, CSAT and CES surveys are for customers.")
    if survey.anonymous and survey.audience != Audience.EMPLOYEES:
        errors["anonymous"] = _("Only employee surveys can be anonymous.")
    if survey.fallback_language not in LANGUAGES:
        errors["fallback_language"] = _("Choose one of the languages the product ships in.")
    if survey.link_days < 1 or survey.link_days > 365:
        errors["link_days"] = _("Links must work between 1 and 365 days.")
    if survey.reminder_after_days is not None and not 1 <= survey.reminder_after_days <= 60:
        errors["reminder_after_days"] = _("Send the reminder between 1 and 60 days after the invitation.")
    if survey.trigger == "segment" and survey.segment_id is None:
        errors["segment_id"] = _("Choose the segment whose members are asked.")
    if survey.trigger in ("segment", "after_purchase", "complaint_resolved") and survey.audience != Audience.CUSTOMERS:
        errors["trigger"] = _("Employee surveys are sent to every employee or to a team.")
    if survey.trigger == "after_purchase" and not 1 <= survey.trigger_days <= 365:
        errors["trigger_days"] = _("Ask between 1 and 365 days after the purchase.")
    if errors:
        raise ValidationError(errors)


def _clean_texts(texts, *, fallback: str, field: str = "texts") -> dict[str, str]:
    if not isinstance(texts, dict):
        raise ValidationError({field: _("Write the text per language.")})
    cleaned = {}
    for language, text in texts.items():
        if language not in LANGUAGES:
            raise ValidationError(
                {field: _("%(language)s is not a language the product ships in.") % {"language": language}}
            )
        text = str(text or "").strip()
        if len(text) > MAX_TEXT:
            raise ValidationError({field: _("A text is at most %(max)s characters.") % {"max": MAX_TEXT}})
        if text:
            cleaned[language] = text
    if fallback not in cleaned:
        raise ValidationError(
            {field: _("Write the text in the fallback language (%(language)s).") % {"language": fallback}}
        )
    return cleaned


def _clean_choices(kind: str, choices, *, fallback: str) -> list[dict]:
    if kind not in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        return []
    if not isinstance(choices, list) or len(choices) < 2:
        raise ValidationError({"choices": _("A choice question needs at least two choices.")})
    if len(choices) > MAX_CHOICES:
        raise ValidationError({"choices": _("A question has at most %(max)s choices.") % {"max": MAX_CHOICES}})
    cleaned, seen = [], set()
    for position, choice in enumerate(choices, start=1):
        labels = choice.get("labels") if isinstance(choice, dict) else None
        labels = _clean_texts(labels or {}, fallback=fallback, field="choices")
        value = str(choice.get("value") or position)[:40]
        if value in seen:
            raise ValidationError({"choices": _("Two choices have the same value.")})
        seen.add(value)
        cleaned.append({"value": value, "labels": labels})
    return cleaned


def _check_condition(survey: Survey, *, position: int, show_min, show_max) -> None:
    if show_min is None and show_max is None:
        return
    first = survey.questions.filter(position__lt=position).order_by("position").first()
    if first is None or first.scale is None:
        raise ValidationError({"show_min": _("A condition needs a first question with a scale.")})
    low, high = first.scale
    for value in (show_min, show_max):
        if value is not None and not low <= value <= high:
            raise ValidationError(
                {
                    "show_min": _("A condition is within the first question's scale (%(low)s-%(high)s).")
                    % {"low": low, "high": high}
                }
            )
    if show_min is not None and show_max is not None and show_min > show_max:
        raise ValidationError({"show_min": _("The lowest answer of the condition is above its highest.")})


def question_add(
    *, survey: Survey, kind: str, texts: dict, choices=None, required: bool = False, show_min=None, show_max=None
) -> Question:
    """Add a question at the end. A pulse survey refuses an eleventh question."""
    if kind not in Question.Kind.values:
        raise ValidationError({"kind": _("Choose a kind of question.")})
    with transaction.atomic():
        # The survey's row lock orders two concurrent additions, so the limit holds under a race.
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        count = survey.questions.count()
        if survey.kind == Kind.PULSE and count >= PULSE_MAX_QUESTIONS:
            raise ValidationError(
                _("A pulse survey has at most %(max)s questions: remove one before adding another.")
                % {"max": PULSE_MAX_QUESTIONS}
            )
        if count >= MAX_QUESTIONS:
            raise ValidationError(_("A survey has at most %(max)s questions.") % {"max": MAX_QUESTIONS})
        position = (survey.questions.aggregate(m=Max("position"))["m"] or 0) + 1
        _check_condition(survey, position=position, show_min=show_min, show_max=show_max)
        return Question.objects.create(
            survey=survey,
            position=position,
            kind=kind,
            texts=_clean_texts(texts, fallback=survey.fallback_language),
            choices=_clean_choices(kind, choices or [], fallback=survey.fallback_language),
            required=required,
            show_min=show_min,
            show_max=show_max,
        )


def question_update(
    *, question: Question, texts: dict, choices=None, required=None, show_min=None, show_max=None
) -> Question:
    """Change a question's texts, choices and condition (its kind stays: answers depend on it)."""
    survey = question.survey
    _check_condition(survey, position=question.position, show_min=show_min, show_max=show_max)
    question.texts = _clean_texts(texts, fallback=survey.fallback_language)
    question.choices = _clean_choices(
        question.kind, choices if choices is not None else question.choices, fallback=survey.fallback_language
    )
    if required is not None:
        question.required = required
    question.show_min, question.show_max = show_min, show_max
    question.save()
    return question


def question_delete(*, question: Question) -> None:
    """Remove a question; the later ones move up. The first question of a survey that has answers
    stays (its scores are the survey's results)."""
    survey = question.survey
    if question.position == 1 and survey.responses.exists():
        raise ValidationError(_("The first question of a survey with answers cannot be removed."))
    with transaction.atomic():
        question.delete()
        # Two steps, so that the unique (survey, position) never sees two rows at one position.
        later = list(survey.questions.filter(position__gt=question.position).order_by("position"))
        for q in later:
            q.position += 1000
            q.save(update_fields=["position"])
        for q in later:
            q.position -= 1001
            q.save(update_fields=["position"])


def survey_activate(*, survey: Survey) -> Survey:
    """Ready to send: a first question with a scale (the email shows it as links)."""
    first = survey.questions.order_by("position").first()
    if first is None or first.scale is None:
        raise ValidationError(_("The first question must be a 0-10, 1-5 or 1-7 scale: the email shows it as links."))
    survey.status = Survey.Status.ACTIVE
    survey.save(update_fields=["status"])
    return survey


def survey_close(*, survey: Survey) -> Survey:
    survey.status = Survey.Status.CLOSED
    survey.save(update_fields=["status"])
    return survey
