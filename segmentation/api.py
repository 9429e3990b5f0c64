"""Segments API: read every segment; create, change and delete rule segments (administrators and
marketers); members and entry/exit events (customers the caller may see); preview a definition;
the conditions a definition can use.

Definition errors answer 400 in the shared error body, one key per place in the tree::

    {"error": {"status": 400, "code": "invalid", "message": "…",
               "fields": {"definition.rules[1].value": ["“abc” is text where a number is needed."]}}}
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import filters, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from customers import roles
from retention_crm import segment_conditions as sc
from retention_crm.api import CreateWithOutputMixin, CursorPagination, IdempotentCreateMixin, InputSerializer

from . import selectors, services
from .conditions import definition_describe, segment_definition_clean
from .models import Segment, SegmentEvent, SegmentMembership

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=_("A retry with the same key returns the first answer and creates nothing."),
)


@extend_schema_field(
    {
        "type": "object",
        "description": "A group: {op: and|or, rules: [rule | group]}; a rule: {field, operator, value, days?}. "
        "Fields and operators: GET /api/v1/segments/conditions/.",
        "example": {"op": "and", "rules": [{"field": "metrics.churn_risk", "operator": "gt", "value": 0.7}]},
    }
)
class DefinitionField(serializers.JSONField):
    pass


class SegmentSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True, help_text=_("The name in the caller's language."))
    definition = DefinitionField(read_only=True)
    definition_text = serializers.SerializerMethodField(help_text=_("The definition in words."))
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    member_count = serializers.SerializerMethodField(
        help_text=_("Current members the caller may see (an account manager: those of her book).")
    )

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "display_name",
            "description",
            "kind",
            "key",
            "definition",
            "definition_text",
            "is_active",
            "member_count",
            "refreshed_at",
            "refresh_error",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_member_count(self, segment: Segment) -> int:
        request = self.context.get("request")
        if request is None:
            return segment.member_count
        if "visible_counts" not in self.context:
            # One count query for a whole page of segments (the list's serializer is this one's parent).
            page = getattr(self.parent, "instance", None)
            ids = [s.pk for s in page] if page is not None else [segment.pk]
            self.context["visible_counts"] = selectors.segment_member_counts_visible(user=request.user, segment_ids=ids)
        counts = self.context["visible_counts"]
        return segment.member_count if counts is None else counts.get(segment.pk, 0)

    def get_definition_text(self, segment: Segment) -> str:
        return definition_describe(segment.definition) if segment.definition else ""


class SegmentInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    definition = DefinitionField()
    is_active = serializers.BooleanField(required=False, default=True)


class SegmentPatchSerializer(InputSerializer):
    name = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    definition = DefinitionField(required=False)
    is_active = serializers.BooleanField(required=False)


class MemberSerializer(serializers.ModelSerializer):
    customer_id = serializers.IntegerField(source="customer.id", read_only=True)
    external_id = serializers.CharField(source="customer.external_id", read_only=True)
    name = serializers.CharField(source="customer.name", read_only=True)
    email = serializers.CharField(source="customer.email", read_only=True)
    account_manager = serializers.CharField(
        source="customer.account_manager.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = SegmentMembership
        fields = ["customer_id", "external_id", "name", "email", "account_manager", "entered_at"]
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    external_id = serializers.CharField(source="customer.external_id", read_only=True)

    class Meta:
        model = SegmentEvent
        fields = ["id", "customer_id", "external_id", "kind", "at"]
        read_only_fields = fields


class PreviewInputSerializer(InputSerializer):
    definition = DefinitionField()


class OptionalPreviewInputSerializer(InputSerializer):
    definition = DefinitionField(required=False, help_text=_("Default: the segment's own definition."))


class SampleCustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    name = serializers.CharField()


class PreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text=_("Customers the caller may see who match now."))
    matches_nobody = serializers.BooleanField()
    definition = DefinitionField(help_text=_("The definition, normalised."))
    definition_text = serializers.CharField()
    sample = SampleCustomerSerializer(many=True)


class ChoiceSerializer(serializers.Serializer):
    value = serializers.JSONField()
    label = serializers.CharField()


class OperatorSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()


class ConditionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    group = serializers.CharField()
    group_label = serializers.CharField()
    value_type = serializers.ChoiceField(choices=sc.VALUE_TYPES)
    operators = OperatorSerializer(many=True)
    choices = ChoiceSerializer(many=True, allow_null=True, help_text=_("Allowed values, for choice fields."))
    window = serializers.CharField(help_text=_("“optional” or “required”: the rule takes “days”; empty: it does not."))
    min_value = serializers.FloatField(allow_null=True)
    max_value = serializers.FloatField(allow_null=True)
    help_text = serializers.CharField()


class RefreshQueuedSerializer(serializers.Serializer):
    queued = serializers.BooleanField()


class SegmentPermission(permissions.BasePermission):
    """Reads: any role (the queryset is empty without one, so a stranger gets 404s). Writes:
    administrators and marketers, and never on a built-in segment."""

    message = _("Only administrators and marketers can change segments.")

    def has_permission(self, request, view):
        if view.action in ("conditions", "preview"):
            # Not about one segment, so no 404 to give; they list names (segments, managers).
            return roles.has_any_role(request.user)
        if view.action == "create":
            return selectors.segment_can_edit(request.user)
        return True  # reads, and the object check after a 404 for what the user cannot see

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS or view.action == "preview_for":
            return True
        if not selectors.segment_can_edit(request.user):
            return False
        if obj.is_builtin and view.action != "refresh":
            self.message = _("Built-in segments cannot be changed or deleted.")
            return False
        return True


class MemberPagination(CursorPagination):
    ordering = "-id"


class EventPagination(CursorPagination):
    # Newest first, read from the index on (segment, at, id); a refresh gives all its events one time.
    ordering = ("-at", "-id")


def _preview_body(user, definition: dict) -> dict:
    preview = selectors.segment_preview(user=user, definition=definition)
    return {
        "count": preview.count,
        "matches_nobody": preview.matches_nobody,
        "definition": definition,
        "definition_text": definition_describe(definition),
        "sample": [{"id": c.pk, "external_id": c.external_id, "name": c.name} for c in preview.sample],
    }


def _condition_body(condition: sc.Condition) -> dict:
    choices = None
    if condition.choices is not None:
        choices = [{"value": value, "label": str(label)} for value, label in condition.choices()]
    group = sc.group_of(condition)
    return {
        "key": condition.key,
        "label": str(condition.label),
        "group": condition.group,
        "group_label": str(group.label),
        "value_type": condition.value_type,
        "operators": [{"key": op, "label": str(sc.OPERATORS[op])} for op in condition.operators],
        "choices": choices,
        "window": condition.window,
        "min_value": condition.min_value,
        "max_value": condition.max_value,
        "help_text": str(condition.help_text),
    }


@extend_schema_view(
    list=extend_schema(summary=_("List segments")),
    retrieve=extend_schema(summary=_("Read a segment")),
    create=extend_schema(
        summary=_("Create a rule segment"),
        description=_("The definition is checked in full; the first refresh of the members is queued."),
        parameters=[IDEMPOTENCY_KEY],
        request=SegmentInputSerializer,
        responses={201: SegmentSerializer},
    ),
    update=extend_schema(
        summary=_("Replace a rule segment"), request=SegmentInputSerializer, responses=SegmentSerializer
    ),
    partial_update=extend_schema(
        summary=_("Change some of a rule segment"), request=SegmentPatchSerializer, responses=SegmentSerializer
    ),
    destroy=extend_schema(
        summary=_("Delete a rule segment"),
        description=_("Refused (400) while another segment's definition uses it."),
    ),
)
class SegmentViewSet(IdempotentCreateMixin, CreateWithOutputMixin, viewsets.ModelViewSet):
    serializer_class = SegmentSerializer
    input_serializer_class = SegmentInputSerializer
    permission_classes = [permissions.IsAuthenticated, SegmentPermission]
    pagination_class = CursorPagination
    filter_backends = [filters.SearchFilter]
    search_fields = ["name"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types, no user
            return Segment.objects.none()
        return selectors.segment_visible_to(self.request.user).select_related("created_by")

    def update(self, request, *args, **kwargs):
        segment = self.get_object()
        partial = kwargs.get("partial", False)
        serializer = (SegmentPatchSerializer if partial else SegmentInputSerializer)(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        current = {
            "name": segment.name,
            "description": segment.description,
            "definition": segment.definition,
            "is_active": segment.is_active,
        }
        segment = services.segment_update(segment=segment, **{**current, **data})
        return Response(self.get_serializer(segment).data)

    def perform_create(self, serializer) -> Segment:
        return services.segment_create(user=self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.segment_delete(segment=instance)

    @extend_schema(summary=_("Current members the caller may see"), responses=MemberSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=MemberPagination)
    def members(self, request, pk=None):
        segment = self.get_object()
        memberships = selectors.segment_memberships_visible(user=request.user, segment=segment)
        page = self.paginate_queryset(memberships)
        return self.get_paginated_response(MemberSerializer(page, many=True).data)

    @extend_schema(
        summary=_("Entries and exits (customers the caller may see), newest first"),
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATETIME, description=_("Only events at or after this time.")),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=["entered", "exited"]),
        ],
        responses=EventSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=EventPagination)
    def events(self, request, pk=None):
        segment = self.get_object()
        rows = selectors.segment_events(user=request.user, segment=segment)
        if request.query_params.get("since"):
            try:
                since = serializers.DateTimeField().run_validation(request.query_params["since"])
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"since": exc.detail})
            rows = rows.filter(at__gte=since)
        kind = request.query_params.get("kind")
        if kind:
            if kind not in SegmentEvent.Kind.values:
                raise serializers.ValidationError({"kind": [_("Use “entered” or “exited”.")]})
            rows = rows.filter(kind=kind)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(EventSerializer(page, many=True).data)

    @extend_schema(
        summary=_("Preview a definition: how many customers match, and a few of them"),
        request=PreviewInputSerializer,
        responses=PreviewSerializer,
    )
    @action(detail=False, methods=["post"])
    def preview(self, request):
        serializer = PreviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        definition = self._clean(serializer.validated_data["definition"])
        return Response(_preview_body(request.user, definition))

    @extend_schema(
        operation_id="segments_preview_for_segment",
        summary=_("Preview a definition for this segment (default: its own)"),
        description=_("As /segments/preview/, and a definition that uses this segment's own members is refused."),
        request=OptionalPreviewInputSerializer,
        responses=PreviewSerializer,
    )
    @action(detail=True, methods=["post"], url_path="preview")
    def preview_for(self, request, pk=None):
        segment = self.get_object()
        serializer = OptionalPreviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        definition = self._clean(serializer.validated_data.get("definition", segment.definition), segment_id=segment.pk)
        return Response(_preview_body(request.user, definition))

    @staticmethod
    def _clean(definition, *, segment_id=None) -> dict:
        try:
            return segment_definition_clean(definition, segment_id=segment_id)
        except ValidationError as exc:
            raise serializers.ValidationError(
                {f"definition.{k}" if k != "definition" else k: v for k, v in exc.message_dict.items()}
            )

    @extend_schema(summary=_("Queue a refresh of the members"), request=None, responses={202: RefreshQueuedSerializer})
    @action(detail=True, methods=["post"])
    def refresh(self, request, pk=None):
        segment = self.get_object()
        services.segment_refresh_queue(segment_id=segment.pk)
        return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary=_("The conditions a definition can use"),
        description=_("Keys, labels, value types, operators, choices and whether the rule takes “days”."),
        responses=ConditionSerializer(many=True),
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def conditions(self, request):
        return Response([_condition_body(condition) for condition in sc.all_conditions()])
