"""Imports: upload a file (answered 202 while a worker runs it), follow it, read its bad rows."""

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, parsers, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.reverse import reverse

from retention_crm.api import CursorPagination, IdempotentCreateMixin, InputSerializer

from .. import selectors
from ..imports.services import import_job_create, import_report_csv
from ..models import ImportJob, ImportRowError
from .common import CanImport, CSVRenderer
from .orders import IDEMPOTENCY_KEY


class ImportCountsSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportJob
        fields = [
            "rows_read",
            "rows_skipped",
            "error_count",
            "created_count",
            "updated_count",
            "unchanged_count",
        ]
        read_only_fields = fields


class ImportLinksSerializer(serializers.Serializer):
    status = serializers.URLField()
    report = serializers.URLField(help_text=_("CSV of the rows that could not be imported."))
    errors = serializers.URLField(help_text=_("The same rows as paginated JSON."))


class ImportJobSerializer(serializers.ModelSerializer):
    counts = ImportCountsSerializer(source="*", read_only=True)
    outcome = serializers.ChoiceField(
        choices=ImportJob.Outcome.choices,
        read_only=True,
        help_text=_(
            "What happened: status says succeeded for any file read to its end; outcome tells finished, "
            "finished_with_errors (some rows were left out) and nothing_imported apart, and refused."
        ),
    )
    links = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "format",
            "status",
            "outcome",
            "original_name",
            "progress_percent",
            "counts",
            "message",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field(ImportLinksSerializer)
    def get_links(self, job: ImportJob) -> dict:
        request = self.context.get("request")
        return {
            "status": reverse("api-imports-detail", args=[job.pk], request=request),
            "report": reverse("api-imports-report", args=[job.pk], request=request),
            "errors": reverse("api-imports-errors", args=[job.pk], request=request),
        }


class ImportJobCreateSerializer(InputSerializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=ImportJob.Format.choices)


class ImportRowErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportRowError
        fields = ["line", "column", "reason"]
        read_only_fields = fields


class ImportJobPagination(CursorPagination):
    ordering = "-created_at"


class RowErrorPagination(CursorPagination):
    ordering = ("line", "id")


class _ImportJobCreate:
    def create(self, request, *args, **kwargs):
        serializer = ImportJobCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = import_job_create(
            user=request.user,
            uploaded_file=serializer.validated_data["file"],
            format=serializer.validated_data["format"],
        )
        body = ImportJobSerializer(job, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["links"]["status"]})


@extend_schema_view(
    list=extend_schema(summary=_("List imports")),
    retrieve=extend_schema(summary=_("Follow an import")),
    create=extend_schema(
        summary=_("Upload a file to import"),
        description=_("Answers 202 at once; a worker imports the file. Follow links.status."),
        parameters=[IDEMPOTENCY_KEY],
        request={"multipart/form-data": ImportJobCreateSerializer},
        responses={202: ImportJobSerializer},
    ),
)
class ImportJobViewSet(
    IdempotentCreateMixin,
    _ImportJobCreate,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ImportJobSerializer
    permission_classes = [IsAuthenticated, CanImport]
    parser_classes = [parsers.MultiPartParser, parsers.FormParser]
    pagination_class = ImportJobPagination
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types, no user
            return ImportJob.objects.none()
        return selectors.import_job_visible_to(self.request.user).select_related("created_by")

    @extend_schema(
        summary=_("Download the rows that could not be imported, as CSV"),
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=_("line,column,reason"))},
    )
    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, CSVRenderer])
    def report(self, request, pk=None):
        job = self.get_object()
        response = HttpResponse(import_report_csv(job=job), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
        return response

    @extend_schema(summary=_("The rows that could not be imported"), responses=ImportRowErrorSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=RowErrorPagination)
    def errors(self, request, pk=None):
        job = self.get_object()
        page = self.paginate_queryset(ImportRowError.objects.filter(job=job))
        return self.get_paginated_response(ImportRowErrorSerializer(page, many=True).data)
