"""The surveys of the demo data (demo.seeded): one of each kind, sent over the last six months and
answered, so that the results pages have something to show; a detractor of each account manager
goes through the closed loop (a follow-up task, the timeline, the worklist's reason).

Set-based like the seed: the invitations of each send are one INSERT ... SELECT
(``sending.invitations_create``), the answers one ``bulk_create`` per survey; only the few
detractors of the closed loop go through ``survey_response_record``. No email is queued: the demo
customers' addresses are made up. Runs once: if any survey exists, nothing is done.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from team.demo import team_demo_seed

from . import services
from .answers import anon_key, detractor_max, survey_answers_process, survey_response_record
from .models import Invitation, Response, Survey
from .sending import invitations_create

logger = logging.getLogger(__name__)

# How many demo customers each customer survey asks, and in how many monthly waves.
ASKED = 240
WAVES = 6
# A realistic share of answers (response rate) and of each score, per scale.
ANSWER_RATE = 0.35
WEIGHTS = {
    "scale_0_10": [2, 1, 1, 2, 2, 4, 6, 10, 16, 22, 18],
    "scale_1_5": [4, 6, 14, 40, 36],
    "scale_1_7": [2, 3, 6, 10, 22, 32, 25],
}
COMMENTS = {
    "detractor": ["Delivery was late twice.", "Nobody answered my emails.", "Too expensive for what it is."],
    "other": ["Friendly staff.", "Fast delivery, thank you!", "Good quality, will buy again.", ""],
}


@transaction.atomic
def surveys_demo_seed(*, seed: int = 17) -> bool:
    if Survey.objects.exists():
        return False
    rng = random.Random(seed)
    customers = list(Customer.objects.filter(archived_at__isnull=True).order_by("id").values_list("id", flat=True))
    if not customers:
        return False
    now = timezone.now()
    for kind in ("nps", "csat", "ces"):
        survey = _survey(kind, reminder_after_days=4)
        sample = rng.sample(customers, min(ASKED, len(customers)))
        _waves(survey, sample, rng, now)
    _employees_ensure()
    for kind in ("enps", "pulse"):
        survey = _survey(kind, team=None)
        _employee_waves(survey, rng, now)
    _closed_loop(rng)
    logger.info("surveys.demo_seeded")
    return True


def _survey(kind: str, **fields) -> Survey:
    survey = services.survey_create_from_template(kind=kind)
    for name, value in fields.items():
        setattr(survey, name, value)
    survey.save()
    return services.survey_activate(survey=survey)


def _score(question, rng) -> int:
    low, _high = question.scale
    return low + rng.choices(range(len(WEIGHTS[question.kind])), weights=WEIGHTS[question.kind])[0]


def _waves(survey: Survey, sample: list[int], rng, now) -> None:
    first = survey.questions.order_by("position").first()
    comment_question = survey.questions.filter(kind="text").order_by("position").first()
    per_wave = max(1, len(sample) // WAVES)
    for wave in range(WAVES):
        sent = now - timedelta(days=30 * (WAVES - wave) - 3)
        ids = sample[wave * per_wave : (wave + 1) * per_wave]
        invitations_create(survey=survey, wave=f"demo-{wave}", customer_ids=ids, ignore_gap=True, now=sent)
        Invitation.objects.filter(survey=survey, wave=f"demo-{wave}").update(sent_at=sent, delivered=True)
    Survey.objects.filter(pk=survey.pk).update(last_sent_at=now - timedelta(days=33))
    responses = []
    answered = []
    top = detractor_max(first)
    for invitation in Invitation.objects.filter(survey=survey).select_related("customer"):
        if rng.random() > ANSWER_RATE:
            continue
        score = _score(first, rng)
        detractor = score <= top
        comment = rng.choice(COMMENTS["detractor" if detractor else "other"])
        at = invitation.sent_at + timedelta(hours=rng.randint(1, 72))
        answers = {str(first.pk): score}
        if comment and comment_question is not None and comment_question.shown_for(score):
            answers[str(comment_question.pk)] = comment
        else:
            comment = ""
        responses.append(
            Response(
                survey=survey, invitation=invitation, customer=invitation.customer, language=invitation.language,
                score=score, answers=answers, comment=comment, is_detractor=detractor,
                answered_on=timezone.localdate(at), answered_at=at,
            )
        )  # fmt: skip
        answered.append(invitation.pk)
    Response.objects.bulk_create(responses)
    Invitation.objects.filter(pk__in=answered).update(answered=True)


def _employees_ensure() -> None:
    """The staff the eNPS and pulse surveys are sent to: the team demo's people (the demo logins
    linked, marta leading), seeded here when surveys' receiver of ``demo.seeded`` runs first. A
    made-up staff of our own would make the team demo believe it had run: no linked logins, no
    one-to-ones."""
    team_demo_seed()


def _employee_waves(survey: Survey, rng, now) -> None:
    first = survey.questions.order_by("position").first()
    waves = 2 if survey.kind == "enps" else 4
    step = 91 if survey.kind == "enps" else 7
    for wave in range(waves):
        sent = now - timedelta(days=step * (waves - wave) - 1)
        invitations_create(survey=survey, wave=f"demo-{wave}", ignore_gap=True, now=sent)
        Invitation.objects.filter(survey=survey, wave=f"demo-{wave}").update(sent_at=sent, delivered=True)
    Survey.objects.filter(pk=survey.pk).update(last_sent_at=now - timedelta(days=1))
    top = detractor_max(first)
    responses, answered = [], []
    for invitation in Invitation.objects.filter(survey=survey).select_related("employee"):
        if rng.random() > 0.8:
            continue
        score = _score(first, rng)
        responses.append(
            Response(
                survey=survey, anonymous=True, anon_key=anon_key(invitation.pk), team_id=invitation.employee.team_id,
                language=invitation.language, score=score, answers={str(first.pk): score},
                is_detractor=top is not None and score <= top, answered_on=timezone.localdate(invitation.sent_at),
            )
        )  # fmt: skip
        answered.append(invitation.pk)
    # Random ids, so creating them in invitation order reveals nothing.
    Response.objects.bulk_create(responses)
    Invitation.objects.filter(pk__in=answered).update(answered=True)


def _closed_loop(rng) -> None:
    """A fresh detractor for each account manager: the task, the timeline, the worklist's reason."""
    survey = Survey.objects.get(kind="nps")
    better = survey.questions.filter(kind="text").order_by("position").first()
    book = Customer.objects.filter(archived_at__isnull=True, account_manager__isnull=False)
    managers = sorted(set(book.values_list("account_manager_id", flat=True)))
    for manager_id in managers:
        customer = book.filter(account_manager_id=manager_id).order_by("id").first()
        invitations_create(survey=survey, wave="demo-loop", customer_ids=[customer.pk], ignore_gap=True)
        invitation = Invitation.objects.get(survey=survey, wave="demo-loop", customer=customer)
        Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now() - timedelta(days=2), delivered=True)
        survey_response_record(
            invitation_id=invitation.pk, score=rng.choice([2, 3, 4]), raw={str(better.pk): COMMENTS["detractor"][0]}
        )
    # Now rather than by the beat: the demo's tasks are there when the pages are first opened.
    survey_answers_process()
