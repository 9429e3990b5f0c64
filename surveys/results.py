"""The reads of the results page, its CSVs and the API (docs/surveys.md, "Results").

Every read starts from ``responses_for`` / ``invitations_for``: the responses a user may see (a
marketer or administrator every one; an account manager those of the customers of their book,
through ``customers.selectors.customers_visible_filter``, and no employee survey at all). The
database counts answers per score and group (one GROUP BY each); ``surveys.analytics`` turns the
counts into the figures of metrics.md. Employee surveys show a group only from five answers on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, DateTimeField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy as _

from contact_plans.models import FollowUp
from customers import roles
from customers.models import Order
from customers.selectors import customers_visible_filter

from . import analytics
from .models import Invitation, Response, Survey

GROUPINGS = {
    "country": (_("Country"), "customer__country"),
    "account_manager": (_("Account manager"), "customer__account_manager__username"),
    "language": (_("Language"), "language"),
    "segment": (_("Segment"), "customer__segment_memberships__segment__name"),
    "team": (_("Team"), "team__name"),
}
EMPLOYEE_GROUPINGS = ("team", "language")
# Recovery: a purchase within this many days of the completed follow-up counts (metrics.md).
RECOVERY_PURCHASE_DAYS = 90
COMMENTS_SHOWN = 100


def sees_all(user) -> bool:
    return roles.is_administrator(user) or roles.is_marketer(user)


def surveys_for(user) -> QuerySet[Survey]:
    surveys = Survey.objects.all()
    if roles.is_administrator(user) or roles.is_marketer(user):
        return surveys
    if roles.is_account_manager(user):
        return surveys.filter(audience="customers")
    return surveys.none()


def responses_for(user, survey: Survey) -> QuerySet[Response]:
    """The survey's answers ``user`` may see, short re-surveys left out: a re-survey goes only to
    detractors called back, so counting it would weigh the survey's figures with the closed loop's
    own sample and count those customers twice (``recovery`` reads the re-surveys)."""
    responses = Response.objects.filter(survey=survey, short=False)
    if roles.is_administrator(user) or roles.is_marketer(user):
        return responses
    return responses.filter(customers_visible_filter(user))


def invitations_for(user, survey: Survey) -> QuerySet[Invitation]:
    """The survey's invitations ``user`` may see, short re-surveys left out (as ``responses_for``)."""
    invitations = Invitation.objects.filter(survey=survey, short=False)
    if roles.is_administrator(user) or roles.is_marketer(user):
        return invitations
    return invitations.filter(customers_visible_filter(user))


def survey_metric(survey: Survey) -> str:
    first = survey.questions.order_by("position").first()
    return analytics.METRIC_OF_SCALE.get(first.kind if first else "", "nps")


def grouped_anonymity(survey: Survey) -> bool:
    return survey.for_employees


@dataclass
class Period:
    start: date
    end: date  # inclusive

    @property
    def previous(self) -> Period:
        days = (self.end - self.start).days + 1
        return Period(self.start - timedelta(days=days), self.start - timedelta(days=1))


@dataclass
class Summary:
    figure: float | None
    responses: int
    invited: int
    delivered: int
    answered: int
    response_rate: float | None
    distribution: list[tuple[int, int]] = field(default_factory=list)
    hidden: bool = False  # fewer than five answers of a survey that keeps groups of five


def _counts(responses: QuerySet) -> dict[int, int]:
    rows = responses.filter(score__isnull=False).order_by().values("score").annotate(n=Count("pk"))
    return {row["score"]: row["n"] for row in rows}


def summary(user, survey: Survey, period: Period) -> Summary:
    responses = responses_for(user, survey).filter(answered_on__gte=period.start, answered_on__lte=period.end)
    counts = _counts(responses)
    total = sum(counts.values())
    invitations = invitations_for(user, survey).filter(
        created_at__date__gte=period.start, created_at__date__lte=period.end
    )
    tally = invitations.aggregate(
        n_invited=Count("pk"),
        n_delivered=Count("pk", filter=Q(delivered=True)),
        n_answered=Count("pk", filter=Q(delivered=True, answered=True)),
    )
    hidden = not analytics.shown(total, grouped_anonymity=grouped_anonymity(survey))
    first = survey.questions.order_by("position").first()
    low, high = first.scale if first and first.scale else (0, 10)
    return Summary(
        figure=None if hidden else analytics.figure(survey_metric(survey), counts),
        responses=total,
        invited=tally["n_invited"],
        delivered=tally["n_delivered"],
        answered=tally["n_answered"],
        response_rate=analytics.rate(tally["n_answered"], tally["n_delivered"]),
        distribution=[] if hidden else [(score, counts.get(score, 0)) for score in range(low, high + 1)],
        hidden=hidden,
    )


def over_time(user, survey: Survey, period: Period) -> list[dict]:
    """The figure per month of the period (months with too few answers of an employee survey blank)."""
    responses = responses_for(user, survey).filter(answered_on__gte=period.start, answered_on__lte=period.end)
    rows = (
        responses.filter(score__isnull=False)
        .order_by()
        .annotate(month=TruncMonth("answered_on"))
        .values("month", "score")
        .annotate(n=Count("pk"))
    )
    months: dict[date, dict[int, int]] = {}
    for row in rows:
        months.setdefault(row["month"], {})[row["score"]] = row["n"]
    metric, anonymity = survey_metric(survey), grouped_anonymity(survey)
    series = []
    for month in sorted(months):
        counts = months[month]
        n = sum(counts.values())
        visible = analytics.shown(n, grouped_anonymity=anonymity)
        series.append({"month": month, "responses": n, "figure": analytics.figure(metric, counts) if visible else None})
    return series


def breakdown(user, survey: Survey, period: Period, by: str) -> list[dict]:
    """The figure per group (country, account manager, language, segment, team)."""
    if by not in GROUPINGS:
        return []
    column = GROUPINGS[by][1]
    responses = responses_for(user, survey).filter(answered_on__gte=period.start, answered_on__lte=period.end)
    if by == "segment":
        responses = responses.filter(customer__segment_memberships__exited_at__isnull=True)
    rows = responses.filter(score__isnull=False).order_by().values(column, "score").annotate(n=Count("pk"))
    groups: dict[str, dict[int, int]] = {}
    for row in rows:
        groups.setdefault(row[column] or "", {})[row["score"]] = row["n"]
    metric, anonymity = survey_metric(survey), grouped_anonymity(survey)
    result = []
    for name in sorted(groups, key=lambda g: (-sum(groups[g].values()), g)):
        counts = groups[name]
        n = sum(counts.values())
        visible = analytics.shown(n, grouped_anonymity=anonymity)
        result.append(
            {
                "group": name,
                "responses": n if visible else None,
                "figure": analytics.figure(metric, counts) if visible else None,
                "hidden": not visible,
            }
        )
    return result


def comments(user, survey: Survey, period: Period, *, search: str = "", score_min=None, score_max=None):
    """The answers with a comment, newest day first; searchable and filterable by score. An employee
    survey shows them only when the period has at least five answers."""
    responses = responses_for(user, survey).filter(answered_on__gte=period.start, answered_on__lte=period.end)
    if grouped_anonymity(survey) and responses.count() < analytics.MIN_GROUP:
        return []
    responses = responses.exclude(comment="")
    if search:
        responses = responses.filter(comment__icontains=search[:100])
    if score_min is not None:
        responses = responses.filter(score__gte=score_min)
    if score_max is not None:
        responses = responses.filter(score__lte=score_max)
    # Anonymous answers are ordered by their random id within a day: no order of arrival.
    return list(
        responses.order_by("-answered_on", "id").values("score", "comment", "answered_on", "language")[:COMMENTS_SHOWN]
    )


def recovery(user, survey: Survey, period: Period) -> dict:
    """Of the detractors of the period whose follow-up was completed, how many later answered the
    same kind of survey as a non-detractor (the short re-survey after the follow-up included), or
    bought within 90 days of the follow-up (metrics.md). The detractors are the full survey's: a
    re-survey's detractor is the same customer, already counted."""
    done = FollowUp.objects.filter(pk=OuterRef("followup_id"), state=FollowUp.State.DONE)
    detractors = (
        responses_for(user, survey)
        .filter(
            answered_on__gte=period.start, answered_on__lte=period.end, is_detractor=True, followup_id__isnull=False
        )
        .filter(Exists(done))
    )
    better = Response.objects.filter(
        customer_id=OuterRef("customer_id"),
        survey__kind=survey.kind,
        answered_at__gt=OuterRef("answered_at"),
        is_detractor=False,
    )
    done_at = Subquery(FollowUp.objects.filter(pk=OuterRef(OuterRef("followup_id"))).values("done_at")[:1])
    until = ExpressionWrapper(done_at + Value(timedelta(days=RECOVERY_PURCHASE_DAYS)), output_field=DateTimeField())
    bought = Order.objects.filter(
        customer_id=OuterRef("customer_id"), kind="purchase", ordered_at__gte=done_at, ordered_at__lt=until
    )
    tally = {"total": detractors.count(), "recovered": detractors.filter(Exists(better) | Exists(bought)).count()}
    return {**tally, "rate": analytics.recovery_rate(tally["total"], tally["recovered"])}
