"""Metrics API: dashboard snapshots, per-customer figures, model versions and recomputes.

Every endpoint needs a role in the CRM. Snapshots are read per scope (see
selectors.dashboard_scopes); per-customer figures follow customer_visible_to, so a customer the
user may not see answers 404, as if it did not exist.
"""

from datetime import date

import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from customers import roles
from retention_crm import dates
from retention_crm.api import CursorPagination, InputSerializer
from retention_crm.ids import IdFilter

from . import selectors, services
from .analytics import book
from .models import (
    METRIC_FIELDS,
    BookRange,
    CustomerMetrics,
    MetricSnapshot,
    ModelVersion,
    RecomputeRun,
    RfmSegment,
    RiskLevel,
    ValueLevel,
)


class HasMetricsRole(permissions.BasePermission):
    message = _("Your account has no role in this CRM.")

    def has_permission(self, request, view):
        return roles.has_any_role(request.user)


class CanRecompute(permissions.BasePermission):
    message = _("Only administrators and marketers can start a recompute.")

    def has_permission(self, request, view):
        return roles.is_administrator(request.user) or roles.is_marketer(request.user)


# --- Snapshots --------------------------------------------------------------------------------------


class SnapshotQuerySerializer(InputSerializer):
    scope = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text=_(
            '"" for the whole workspace, "country:<name>" or "manager:<user id>". Default: the workspace, '
            "or your own book if that is all you may see."
        ),
    )
    as_of = serializers.DateField(
        required=False, help_text=_("The newest figures computed as of this date or before (default: the newest).")
    )


class SnapshotSerializer(serializers.ModelSerializer):
    data = serializers.JSONField(help_text=_("The figures; their shape per kind is documented in metrics/models.py."))

    class Meta:
        model = MetricSnapshot
        fields = ["as_of", "kind", "scope", "data", "created_at"]
        read_only_fields = fields


class _SnapshotApi(APIView):
    permission_classes = [permissions.IsAuthenticated, HasMetricsRole]
    kind: str = ""

    def get(self, request):
        query = SnapshotQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        scope = query.validated_data.get("scope", selectors.default_scope(user=request.user))
        if not selectors.scope_allowed(user=request.user, scope=scope):
            raise NotFound(_("No such scope."))
        snapshot = selectors.snapshot_latest(kind=self.kind, scope=scope, as_of=query.validated_data.get("as_of"))
        if snapshot is None:
            raise NotFound(_("No figures for this scope yet; they appear after the next recompute."))
        return Response(SnapshotSerializer(snapshot).data)


class MetricsSummaryApi(_SnapshotApi):
    kind = MetricSnapshot.Kind.SUMMARY

    @extend_schema(
        summary=_("Headline rates"),
        description=_(
            "Retention, churn, repeat-purchase and upsell rates, NRR and CLV of the latest complete month and the month before."
        ),
        parameters=[SnapshotQuerySerializer],
        responses=SnapshotSerializer,
    )
    def get(self, request):
        return super().get(request)


class MetricsTimeseriesApi(_SnapshotApi):
    kind = MetricSnapshot.Kind.TIMESERIES

    @extend_schema(
        summary=_("Monthly rates"),
        description=_("Retention, churn, active, new and reactivated customers over the last 24 months."),
        parameters=[SnapshotQuerySerializer],
        responses=SnapshotSerializer,
    )
    def get(self, request):
        return super().get(request)


class MetricsCohortsApi(_SnapshotApi):
    kind = MetricSnapshot.Kind.COHORTS

    @extend_schema(
        summary=_("Cohort retention"),
        description=_("Monthly acquisition cohorts and the share of each buying again month by month."),
        parameters=[SnapshotQuerySerializer],
        responses=SnapshotSerializer,
    )
    def get(self, request):
        return super().get(request)


class MetricsParetoApi(_SnapshotApi):
    kind = MetricSnapshot.Kind.PARETO

    @extend_schema(
        summary=_("Pareto curve"),
        description=_("Share of trailing-12-month revenue against share of customers, and the top tier."),
        parameters=[SnapshotQuerySerializer],
        responses=SnapshotSerializer,
    )
    def get(self, request):
        return super().get(request)


class MetricsClvDistributionApi(_SnapshotApi):
    kind = MetricSnapshot.Kind.CLV_DISTRIBUTION

    @extend_schema(
        summary=_("CLV distribution"),
        description=_("Customers with a purchase by CLV, as a histogram."),
        parameters=[SnapshotQuerySerializer],
        responses=SnapshotSerializer,
    )
    def get(self, request):
        return super().get(request)


class MetricsRfmApi(_SnapshotApi):
    kind = MetricSnapshot.Kind.RFM

    @extend_schema(
        summary=_("RFM segments"),
        description=_("Customers and revenue per RFM segment."),
        parameters=[SnapshotQuerySerializer],
        responses=SnapshotSerializer,
    )
    def get(self, request):
        return super().get(request)


class MetricsValueRiskApi(_SnapshotApi):
    kind = MetricSnapshot.Kind.VALUE_RISK

    @extend_schema(
        summary=_("Value x risk"),
        description=_("Customers and predicted CLV per value level and risk level."),
        parameters=[SnapshotQuerySerializer],
        responses=SnapshotSerializer,
    )
    def get(self, request):
        return super().get(request)


# --- Customer figures -------------------------------------------------------------------------------


class CustomerMetricsSerializer(serializers.ModelSerializer):
    external_id = serializers.CharField(source="customer.external_id", read_only=True)
    name = serializers.CharField(source="customer.name", read_only=True)
    country = serializers.CharField(source="customer.country", read_only=True)

    class Meta:
        model = CustomerMetrics
        fields = ["customer_id", "external_id", "name", "country", *METRIC_FIELDS, "previous_churn_risk"]
        read_only_fields = fields


class CustomerMetricsDetailSerializer(CustomerMetricsSerializer):
    risk_reasons = serializers.SerializerMethodField()

    class Meta(CustomerMetricsSerializer.Meta):
        fields = [*CustomerMetricsSerializer.Meta.fields, "risk_reasons"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_risk_reasons(self, metrics: CustomerMetrics) -> list[str]:
        return selectors.customer_risk_reasons(customer_id=metrics.customer_id, metrics=metrics)


class CustomerMetricsFilter(django_filters.FilterSet):
    rfm_segment = django_filters.ChoiceFilter(choices=RfmSegment.choices)
    risk_level = django_filters.ChoiceFilter(choices=RiskLevel.choices)
    value_level = django_filters.ChoiceFilter(choices=ValueLevel.choices)
    pareto_top = django_filters.BooleanFilter()
    country = django_filters.CharFilter(field_name="customer__country", help_text=_("Country of the customer."))
    manager = IdFilter(
        field_name="customer__account_manager_id", help_text=_("User id of the current account manager.")
    )

    class Meta:
        model = CustomerMetrics
        fields = ["rfm_segment", "risk_level", "value_level", "pareto_top", "country", "manager"]


class CustomerMetricsPagination(CursorPagination):
    # The primary key: unique and never changing, as a cursor needs. Filter by risk_level to get the
    # customers most at risk; sorting a million rows by a float would defeat the cursor.
    ordering = "customer_id"


@extend_schema(summary=_("List customer figures"), description=_("Only the customers you may see."))
class CustomerMetricsListApi(generics.ListAPIView):
    permission_classes = [permissions.IsAuthenticated, HasMetricsRole]
    serializer_class = CustomerMetricsSerializer
    filterset_class = CustomerMetricsFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    pagination_class = CustomerMetricsPagination

    def get_queryset(self):
        return selectors.customer_metrics_list(user=self.request.user)


@extend_schema(summary=_("One customer's figures"), description=_("With plain-language reasons for the churn risk."))
class CustomerMetricsDetailApi(generics.RetrieveAPIView):
    permission_classes = [permissions.IsAuthenticated, HasMetricsRole]
    serializer_class = CustomerMetricsDetailSerializer

    def get_object(self):
        try:
            return selectors.customer_metrics_get(user=self.request.user, customer_id=self.kwargs["customer_id"])
        except CustomerMetrics.DoesNotExist:
            raise NotFound() from None


# --- Models and recomputes --------------------------------------------------------------------------


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "created_at",
            "as_of",
            "unit",
            "bgnbd_r",
            "bgnbd_alpha",
            "bgnbd_a",
            "bgnbd_b",
            "bgnbd_log_likelihood",
            "gg_p",
            "gg_q",
            "gg_gamma",
            "gg_log_likelihood",
            "n_customers",
            "fit_seconds",
            "backtest_cutoff",
            "backtest_horizon_days",
            "backtest_auc",
            "backtest_baseline_auc",
            "backtest_predicted_purchases",
            "backtest_actual_purchases",
            "backtest_customers",
            "is_current",
            "notes",
        ]
        read_only_fields = fields


class ModelVersionPagination(CursorPagination):
    ordering = "-id"


@extend_schema(summary=_("List model versions"), description=_("Fitted models with their back-test, newest first."))
class ModelVersionListApi(generics.ListAPIView):
    permission_classes = [permissions.IsAuthenticated, HasMetricsRole]
    serializer_class = ModelVersionSerializer
    pagination_class = ModelVersionPagination
    filter_backends: list = []

    def get_queryset(self):
        return selectors.model_version_list()


class RecomputeRunSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)
    # Rendered in the request's language (Accept-Language), from the run's stored parts.
    message = serializers.CharField(source="message_text", read_only=True)

    class Meta:
        model = RecomputeRun
        fields = [
            "id",
            "as_of",
            "status",
            "progress_percent",
            "chunks_total",
            "chunks_done",
            "customers_scored",
            "message",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "model_version",
        ]
        read_only_fields = fields


class RecomputeCreateSerializer(InputSerializer):
    as_of = serializers.DateField(required=False, help_text=_("Compute as of this date (default: today)."))

    def validate_as_of(self, value: date) -> date:
        if value > timezone.localdate():
            raise serializers.ValidationError(_("The date cannot be in the future."))
        if value < dates.EARLIEST:
            raise serializers.ValidationError(
                _("The date cannot be before %(earliest)s.") % {"earliest": dates.EARLIEST.isoformat()}
            )
        return value


class RecomputeCreateApi(APIView):
    permission_classes = [permissions.IsAuthenticated, CanRecompute]

    @extend_schema(
        summary=_("Start a recompute"),
        description=_(
            "Answers 202 at once; a worker recomputes every figure. A recompute already waiting for the "
            "same date is returned instead of a new one. Follow its progress at /recompute/{id}/."
        ),
        request=RecomputeCreateSerializer,
        responses={202: RecomputeRunSerializer},
    )
    def post(self, request):
        serializer = RecomputeCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.recompute_run_create(as_of=serializer.validated_data.get("as_of"), user=request.user)
        return Response(RecomputeRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class RecomputeDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated, CanRecompute]

    @extend_schema(summary=_("Follow a recompute"), responses=RecomputeRunSerializer)
    def get(self, request, run_id: int):
        try:
            run = selectors.recompute_run_get(run_id=run_id)
        except RecomputeRun.DoesNotExist:
            raise NotFound() from None
        return Response(RecomputeRunSerializer(run).data)


# --- Book performance ---------------------------------------------------------------------------
# The report's shape (the endpoint, /api/v1/book-performance/, is contact_plans'), and the jobs that
# compute a custom range (services.book: a range the nightly run does not store).


class BookFiguresSerializer(serializers.Serializer):
    customers = serializers.IntegerField()
    active_at_start = serializers.IntegerField()
    retained = serializers.IntegerField()
    retention_rate = serializers.FloatField(allow_null=True)
    churn_rate = serializers.FloatField(allow_null=True)
    net_revenue_retention = serializers.FloatField(allow_null=True)
    upsell_rate = serializers.FloatField(allow_null=True)
    revenue = serializers.FloatField()
    revenue_existing = serializers.FloatField(help_text=_("From customers whose first purchase is before start."))


class BookRowSerializer(BookFiguresSerializer):
    manager_id = serializers.IntegerField()
    manager = serializers.CharField()


class BookPeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()


class BookReportSerializer(serializers.Serializer):
    period = BookPeriodSerializer()
    window_days = serializers.IntegerField()
    computed_at = serializers.DateTimeField(
        help_text=_("When the sums were computed: by the nightly run, or for this range by a worker.")
    )
    base = BookFiguresSerializer()
    books = BookRowSerializer(many=True)


def book_report_data(report: selectors.BookReport) -> dict:
    """A BookReport as BookReportSerializer's data."""
    data = {
        "period": {"start": report.period.start, "end": report.period.end},
        "window_days": report.window_days,
        "computed_at": report.computed_at,
        "base": report.base.as_dict(),
        "books": [{**row.figures.as_dict(), "manager": row.name} for row in report.rows],
    }
    return BookReportSerializer(data).data


class BookRangeLinksSerializer(serializers.Serializer):
    status = serializers.URLField(help_text=_("This job: poll it until its status is succeeded or failed."))


class BookRangeSerializer(serializers.ModelSerializer):
    period = serializers.SerializerMethodField()
    progress_percent = serializers.IntegerField(read_only=True)
    failure = serializers.SerializerMethodField(help_text=_("Why the job failed; empty unless it failed."))
    report = serializers.SerializerMethodField(help_text=_("The report once the job has succeeded, else null."))
    links = serializers.SerializerMethodField()

    class Meta:
        model = BookRange
        fields = [
            "id",
            "period",
            "window_days",
            "status",
            "progress_percent",
            "steps_done",
            "steps_total",
            "failure",
            "created_at",
            "started_at",
            "finished_at",
            "report",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field(BookPeriodSerializer)
    def get_period(self, job: BookRange) -> dict:
        return BookPeriodSerializer({"start": job.start, "end": job.end}).data

    def get_failure(self, job: BookRange) -> str:
        return str(job.get_failure_display()) if job.failure else ""

    @extend_schema_field(BookReportSerializer(allow_null=True))
    def get_report(self, job: BookRange) -> dict | None:
        if job.status != BookRange.Status.SUCCEEDED:
            return None
        report = selectors.book_report(
            user=self.context["request"].user,
            period=book.period_custom(job.start, job.end),
            window_days=job.window_days,
            sums=selectors.book_range_sums(job),
        )
        return book_report_data(report)

    @extend_schema_field(BookRangeLinksSerializer)
    def get_links(self, job: BookRange) -> dict:
        return {"status": reverse("api-metrics-book-range", args=[job.pk], request=self.context["request"])}


class BookRangeDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary=_("Follow a book-performance range"),
        description=_(
            "A range that GET /api/v1/book-performance/ answered with 202: its progress, then its "
            "report (the books you may see) once it has succeeded."
        ),
        responses=BookRangeSerializer,
    )
    def get(self, request, range_id: int):
        try:
            job = selectors.book_range_get(user=request.user, range_id=range_id)
        except BookRange.DoesNotExist:
            raise NotFound(_("No such range.")) from None
        return Response(BookRangeSerializer(job, context={"request": request}).data)
