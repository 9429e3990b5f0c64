"""Recording an answer (``survey_response_record``) and the closed loop that follows a bad one.

One response per invitation: the invitation's row lock orders two submissions of the same link,
and the database's unique keys (``Response.invitation``, ``Response.anon_key``) hold even if that
were bypassed, so an answer is never counted twice; answering again updates the same response.

A named customer's answer is written to the customer's timeline (an interaction of kind
"survey"). A detractor (metrics.md: NPS 0-6, CSAT 1-2, CES 1-3; the same cut on the scale of a
custom survey's first question) or a negative comment opens a follow-up task for the customer's
account manager (contact_plans' ``followup_schedule``, keyed by the response, so once), due
``FOLLOWUP_DUE_HOURS`` later. The worklist's reason and the segment conditions read the responses.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from contact_plans.services import followup_schedule
from customers.models import Interaction
from customers.services import interaction_log
from retention_crm import events

from .models import Invitation, Question, Response, Survey
from .sentiment import is_negative

logger = logging.getLogger(__name__)

# A detractor is called back within two days: fast enough to matter to them (the articles ask
# for fast, empathetic answers), slow enough for an account manager with a full book.
FOLLOWUP_DUE_HOURS = 48
MAX_TEXT_ANSWER = 2000

# The highest score that makes a detractor, by the scale of the first question (metrics.md).
DETRACTOR_MAX = {"scale_0_10": 6, "scale_1_5": 2, "scale_1_7": 3}


def detractor_max(question: Question) -> int | None:
    return DETRACTOR_MAX.get(question.kind)


def anon_key(invitation_id: int) -> str:
    """A keyed hash of the invitation: finds the anonymous response to update, and cannot be turned
    back into the invitation (or joined with it) without the site's secret."""
    secret = settings.SECRET_KEY.encode()
    return hmac.new(secret, f"surveys.anonymous:{invitation_id}".encode(), hashlib.sha256).hexdigest()


def answers_clean(*, survey: Survey, questions: list[Question], score, raw: dict) -> tuple[int, dict, str]:
    """(score, answers by question id, comment): the first question's score within its scale, the
    shown questions' answers valid, the required ones present. ValidationError names what is wrong."""
    first = questions[0]
    low, high = first.scale
    try:
        score = int(score)
    except (TypeError, ValueError):
        raise ValidationError(
            {"score": _("Choose a score from %(low)s to %(high)s.") % {"low": low, "high": high}}
        ) from None
    if not low <= score <= high:
        raise ValidationError({"score": _("Choose a score from %(low)s to %(high)s.") % {"low": low, "high": high}})
    answers: dict[str, object] = {str(first.pk): score}
    comments = []
    errors = {}
    for question in questions[1:]:
        if not question.shown_for(score):
            continue
        key = str(question.pk)
        value = raw.get(key)
        try:
            cleaned = _answer_clean(question, value)
        except ValidationError as exc:
            errors[f"q{question.pk}"] = exc.messages
            continue
        if cleaned in (None, "", []):
            if question.required:
                errors[f"q{question.pk}"] = [_("Please answer this question.")]
            continue
        answers[key] = cleaned
        if question.kind == Question.Kind.TEXT:
            comments.append(cleaned)
    if errors:
        raise ValidationError(errors)
    return score, answers, "\n\n".join(comments)


def _answer_clean(question: Question, value):
    if question.scale is not None:
        if value in (None, ""):
            return None
        low, high = question.scale
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValidationError(_("Choose a number from %(low)s to %(high)s.") % {"low": low, "high": high}) from None
        if not low <= number <= high:
            raise ValidationError(_("Choose a number from %(low)s to %(high)s.") % {"low": low, "high": high})
        return number
    values = {c["value"] for c in question.choices}
    if question.kind == Question.Kind.SINGLE:
        if value in (None, ""):
            return None
        if value not in values:
            raise ValidationError(_("Choose one of the answers offered."))
        return value
    if question.kind == Question.Kind.MULTIPLE:
        chosen = value if isinstance(value, list) else ([] if value in (None, "") else [value])
        if any(v not in values for v in chosen):
            raise ValidationError(_("Choose among the answers offered."))
        return sorted(set(chosen))
    text = str(value or "").replace("\x00", "").strip()
    if len(text) > MAX_TEXT_ANSWER:
        raise ValidationError(_("Keep it under %(max)s characters.") % {"max": MAX_TEXT_ANSWER})
    return text


def survey_response_record(
    *, invitation_id: int, score, raw: dict, source: str = Response.Source.LINK, questions: list | None = None
) -> tuple[Response, bool]:
    """Record (or update) the answer of an invitation; returns (response, created). ``questions``:
    the survey's, in order, when the caller has just read them (the answer page)."""
    with transaction.atomic():
        _commit_without_waiting_for_the_disk()
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("survey", "employee")
            .get(pk=invitation_id)
        )
        survey = invitation.survey
        if survey.status == Survey.Status.CLOSED:
            raise ValidationError(_("This survey is closed and takes no more answers."))
        if questions is None:
            questions = list(survey.questions.order_by("position"))
        score, answers, comment = answers_clean(survey=survey, questions=questions, score=score, raw=raw)
        negative_comment = bool(comment) and is_negative(comment)
        top = detractor_max(questions[0])
        detractor = (top is not None and score <= top) or negative_comment
        today = timezone.localdate()
        values = {
            "score": score,
            "answers": answers,
            "comment": comment,
            "is_detractor": detractor,
            "language": invitation.language,
            "source": source,
            "answered_on": today,
        }
        if survey.anonymous:
            response, created = _record_anonymous(invitation, survey, values)
        else:
            response, created = _record_named(invitation, survey, values)
        if not invitation.answered:
            Invitation.objects.filter(pk=invitation.pk).update(answered=True)
    if response.customer_id:
        # The timeline and the task are the worker's: the answer page only records the answer.
        from .tasks import survey_closed_loop_task

        response_id = str(response.pk)
        transaction.on_commit(lambda: survey_closed_loop_task.delay(response_id))
        events.publish(events.SURVEY_ANSWERED, response_id=response_id, customer_id=response.customer_id)
    logger.info("surveys.answered survey=%s created=%s", survey.pk, created)
    return response, created


def _commit_without_waiting_for_the_disk() -> None:
    """PostgreSQL's asynchronous commit for this transaction only, as the outbox's dispatcher does
    (docs/messaging.md): the answer is visible to everyone when the page says thank you and
    reaches the disk at most ~0.6 s later, instead of each answer waiting for an fsync. Only a crash
    of the database server itself in that window loses it; the person's link still works, and
    answering again records it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _record_named(invitation: Invitation, survey: Survey, values: dict) -> tuple[Response, bool]:
    values = {**values, "answered_at": timezone.now()}
    response = Response.objects.filter(invitation=invitation).first()
    if response is not None:
        for name, value in values.items():
            setattr(response, name, value)
        response.save()
        return response, False
    employee = invitation.employee
    response = Response.objects.create(
        survey=survey,
        invitation=invitation,
        customer_id=invitation.customer_id,
        employee=employee,
        team_id=getattr(employee, "team_id", None),
        **values,
    )
    return response, True


def _record_anonymous(invitation: Invitation, survey: Survey, values: dict) -> tuple[Response, bool]:
    key = anon_key(invitation.pk)
    response = Response.objects.filter(anon_key=key).first()
    if response is not None:
        # Changed, but its day stays the day of the first answer: an update reveals no new time.
        values = {k: v for k, v in values.items() if k != "answered_on"}
        for name, value in values.items():
            setattr(response, name, value)
        response.save()
        return response, False
    try:
        with transaction.atomic():
            response = Response.objects.create(
                survey=survey, anonymous=True, anon_key=key, team_id=invitation.employee.team_id, **values
            )
    except IntegrityError:  # the same invitation answered at the same instant: theirs is the answer
        return Response.objects.get(anon_key=key), False
    return response, True


def survey_closed_loop(*, response_id: str) -> None:
    """A named customer answer's timeline entry (once: claimed with a conditional update) and, for
    a detractor, the follow-up task for the account manager (once: keyed by the response). Safe to
    run twice; run by ``survey_closed_loop_task`` after the answer is committed."""
    response = Response.objects.select_related("survey", "customer").filter(pk=response_id).first()
    if response is None or response.customer is None:
        return
    survey, customer = response.survey, response.customer
    kind = survey.get_kind_display()
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("%(survey)s answer: %(score)s") % {"survey": kind, "score": response.score}
    if Response.objects.filter(pk=response.pk, timeline_logged=False).update(timeline_logged=True):
        interaction_log(
            customer=customer,
            kind=Interaction.Kind.SURVEY,
            subject=subject[:200],
            body=response.comment,
            direction=Interaction.Direction.INBOUND,
            channel=Interaction.Channel.WEB,
            sentiment=-1 if response.is_detractor else None,
        )
    if not response.is_detractor or response.followup_id or customer.account_manager_id is None:
        return
    with translation.override(settings.LANGUAGE_CODE):
        note = _("%(survey)s detractor (%(score)s) in “%(name)s”. Call them, listen, and fix what went wrong.") % {
            "survey": kind,
            "score": response.score,
            "name": survey.name,
        }
        if response.comment:
            note += "\n\n" + response.comment
    followup = followup_schedule(
        customer=customer,
        assigned_to=customer.account_manager,
        due_at=timezone.now() + timedelta(hours=FOLLOWUP_DUE_HOURS),
        note=note,
        key=f"survey-response:{response.pk}",
    )
    Response.objects.filter(pk=response.pk).update(followup_id=followup.pk)
    response.followup_id = followup.pk
