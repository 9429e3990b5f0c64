"""The surveys API (mounted at /api/v1/surveys/): surveys with their questions, invitations,
responses (read; and write, for integrations that collect answers elsewhere) and results.

Who sees what is the results page's rule (surveys.results): marketers and administrators every
survey; account managers the customer surveys, over the customers of their book; anyone else 404.
An anonymous response has no person, invitation or time of day to show, and an anonymous
survey's invitations do not say who answered. Writing a response needs a customer the user may
edit, and a customer survey (employees answer through their own link only).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from customers.api.common import HasAnyRole
from customers.selectors import customer_editable_by, customer_visible_to
from retention_crm.api import CursorPagination, IdempotentCreateMixin, InputSerializer
from retention_crm.ids import IdField

from . import results
from .answers import survey_response_record
from .models import Invitation, Question, Response, Survey
from .results import GROUPINGS, Period
from .sending import invitations_create

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=_("Send a unique key to make a retry safe: the first answer is returned, nothing is done twice."),
)


class SurveyQuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Question
        fields = ["id", "position", "kind", "texts", "choices", "required", "show_min", "show_max"]
        read_only_fields = fields


class SurveySerializer(serializers.ModelSerializer):
    questions = SurveyQuestionSerializer(many=True, read_only=True)

    class Meta:
        model = Survey
        fields = ["id", "name", "kind", "audience", "anonymous", "status", "fallback_language", "trigger"]
        fields += ["trigger_days", "segment_id", "team", "recurrence", "min_gap_days", "reminder_after_days"]
        fields += ["link_days", "last_sent_at", "created_at", "questions"]
        read_only_fields = fields


class SurveyListApi(generics.ListAPIView):
    """The surveys the user may see, newest first."""

    permission_classes = [HasAnyRole]
    serializer_class = SurveySerializer
    pagination_class = CursorPagination
    filter_backends = []

    def get_queryset(self):
        return results.surveys_for(self.request.user).prefetch_related("questions")

    @extend_schema(summary=_("Surveys"))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SurveyDetailApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(summary=_("A survey and its questions"), responses=SurveySerializer)
    def get(self, request, pk: int):
        survey = get_object_or_404(results.surveys_for(request.user).prefetch_related("questions"), pk=pk)
        return ApiResponse(SurveySerializer(survey).data)


class SurveyQuerySerializer(InputSerializer):
    survey_id = IdField(required=False, help_text=_("One survey's rows."))
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False)


def _scoped(user, model, query_params):
    """Rows of the surveys ``user`` may see, over the customers they may see."""
    query = SurveyQuerySerializer(data=query_params)
    query.is_valid(raise_exception=True)
    surveys = results.surveys_for(user)
    rows = model.objects.filter(survey__in=surveys)
    if "survey_id" in query.validated_data:
        rows = rows.filter(survey_id=query.validated_data["survey_id"])
    if not results.sees_all(user):
        rows = rows.filter(customer__in=customer_visible_to(user))
    return rows


class SurveyInvitationSerializer(serializers.ModelSerializer):
    answered = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = ["id", "survey", "customer", "employee", "wave", "language", "created_at", "sent_at"]
        fields += ["reminded_at", "delivered", "answered", "short"]
        read_only_fields = fields

    def get_answered(self, invitation) -> bool | None:
        # An anonymous survey does not say who answered: null.
        return None if invitation.survey.anonymous else invitation.answered


class InvitationListApi(generics.ListAPIView):
    """Invitations, newest first; ``?survey_id=`` for one survey's."""

    permission_classes = [HasAnyRole]
    serializer_class = SurveyInvitationSerializer
    pagination_class = CursorPagination
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Invitation.objects.none()
        return _scoped(self.request.user, Invitation, self.request.query_params).select_related("survey")

    @extend_schema(summary=_("Survey invitations"), parameters=[SurveyQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SurveyResponseSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Response
        fields = ["id", "survey", "anonymous", "customer", "employee", "team", "language", "score", "answers"]
        fields += ["comment", "is_detractor", "source", "answered_on", "answered_at", "followup_id", "short"]
        read_only_fields = fields


class SurveyResponseInputSerializer(InputSerializer):
    survey_id = IdField()
    customer_id = IdField()
    score = serializers.IntegerField(min_value=0, max_value=10)
    answers = serializers.DictField(
        required=False, default=dict, help_text=_("The follow-up answers by question id (text, choice value or list).")
    )


class _ResponseList(generics.ListCreateAPIView):
    permission_classes = [HasAnyRole]
    serializer_class = SurveyResponseSerializer
    pagination_class = CursorPagination
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Response.objects.none()
        return _scoped(self.request.user, Response, self.request.query_params)

    def create(self, request, *args, **kwargs):
        data = SurveyResponseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        survey = get_object_or_404(results.surveys_for(request.user), pk=values["survey_id"])
        customer = get_object_or_404(customer_visible_to(request.user), pk=values["customer_id"])
        if not customer_editable_by(request.user).filter(pk=customer.pk).exists():
            raise PermissionDenied(_("You can see this customer but not record their answers."))
        if survey.for_employees:
            raise DjangoValidationError({"survey_id": [_("Employees answer their surveys through their own link.")]})
        if survey.status != Survey.Status.ACTIVE:
            raise DjangoValidationError({"survey_id": [_("Only an active survey takes answers.")]})
        with transaction.atomic():
            wave = f"api-{timezone.now().strftime('%Y%m%d%H%M%S%f')}"
            invitations_create(survey=survey, wave=wave, customer_ids=[customer.pk], ignore_gap=True)
            invitation = Invitation.objects.get(survey=survey, customer=customer, wave=wave)
            Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now(), delivered=True)
            raw = {str(k): v for k, v in values["answers"].items()}
            response, _created = survey_response_record(
                invitation_id=invitation.pk, score=values["score"], raw=raw, source=Response.Source.API
            )
        return ApiResponse(SurveyResponseSerializer(response).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary=_("Survey responses"), parameters=[SurveyQuerySerializer]),
    post=extend_schema(
        summary=_("Record an answer collected elsewhere (a customer survey, once per call)"),
        request=SurveyResponseInputSerializer,
        responses={201: SurveyResponseSerializer},
        parameters=[IDEMPOTENCY_KEY],
    ),
)
class ResponseListApi(IdempotentCreateMixin, _ResponseList):
    """Responses, by random id (so that their order says nothing); ``?survey_id=`` for one survey's.
    A POST records an answer an integration collected (a kiosk, a support tool)."""


class SurveyResultsQuerySerializer(InputSerializer):
    start = serializers.DateField(required=False, help_text=_("First day (default: 89 days before the end)."))
    end = serializers.DateField(required=False, help_text=_("Last day (default: today)."))
    by = serializers.ChoiceField(choices=list(GROUPINGS), required=False, help_text=_("The breakdown's grouping."))

    def validate(self, attrs):
        end = attrs.get("end") or timezone.localdate()
        start = attrs.get("start") or end - timedelta(days=89)
        if start > end:
            raise serializers.ValidationError({"start": [_("The period must start before it ends.")]})
        if (end - start).days > 3 * 366:
            raise serializers.ValidationError({"start": [_("A period lasts at most three years.")]})
        return {**attrs, "start": start, "end": end}


class SurveyFigureSerializer(serializers.Serializer):
    metric = serializers.CharField(help_text=_("nps (NPS and eNPS), csat or ces"))
    figure = serializers.FloatField(allow_null=True)
    responses = serializers.IntegerField()
    delivered = serializers.IntegerField()
    answered = serializers.IntegerField()
    response_rate = serializers.FloatField(allow_null=True)
    distribution = serializers.DictField(child=serializers.IntegerField())
    hidden = serializers.BooleanField(help_text=_("Fewer than five answers of an employee survey: nothing shown."))


class SurveyPointSerializer(serializers.Serializer):
    month = serializers.DateField()
    responses = serializers.IntegerField()
    figure = serializers.FloatField(allow_null=True)


class SurveyGroupSerializer(serializers.Serializer):
    group = serializers.CharField()
    responses = serializers.IntegerField(allow_null=True)
    figure = serializers.FloatField(allow_null=True)
    hidden = serializers.BooleanField()


class SurveyRecoverySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    recovered = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class SurveyResultsSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    current = SurveyFigureSerializer()
    previous = SurveyFigureSerializer()
    over_time = SurveyPointSerializer(many=True)
    by = serializers.CharField()
    groups = SurveyGroupSerializer(many=True)
    recovery = SurveyRecoverySerializer(allow_null=True)


def _figure(metric: str, summary) -> dict:
    return {
        "metric": metric,
        "figure": summary.figure,
        "responses": summary.responses,
        "delivered": summary.delivered,
        "answered": summary.answered,
        "response_rate": summary.response_rate,
        "distribution": {str(score): n for score, n in summary.distribution},
        "hidden": summary.hidden,
    }


class SurveyResultsApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(
        summary=_("A survey's results over a period, against the previous one"),
        parameters=[SurveyResultsQuerySerializer],
        responses=SurveyResultsSerializer,
    )
    def get(self, request, pk: int):
        survey = get_object_or_404(results.surveys_for(request.user), pk=pk)
        query = SurveyResultsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = Period(query.validated_data["start"], query.validated_data["end"])
        allowed = results.EMPLOYEE_GROUPINGS if survey.for_employees else [g for g in GROUPINGS if g != "team"]
        by = query.validated_data.get("by") or allowed[0]
        if by not in allowed:
            raise DjangoValidationError({"by": [_("This survey is not grouped that way.")]})
        metric = results.survey_metric(survey)
        body = {
            "start": period.start,
            "end": period.end,
            "current": _figure(metric, results.summary(request.user, survey, period)),
            "previous": _figure(metric, results.summary(request.user, survey, period.previous)),
            "over_time": results.over_time(request.user, survey, period),
            "by": by,
            "groups": results.breakdown(request.user, survey, period, by),
            "recovery": None if survey.for_employees else results.recovery(request.user, survey, period),
        }
        return ApiResponse(SurveyResultsSerializer(body).data)
