"""Complaints, support contacts and reviews (cases): list, read, record, change, resolve, reopen.

Reads follow the visibility rule (a case of a customer you may not see is a 404); changes need a
customer you may edit (403 when you may only see it). A resolved case moves again only through
``reopen``: a PATCH of its status is refused.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from retention_crm import dates
from retention_crm.api import CreateWithOutputMixin, IdempotentCreateMixin, InputSerializer

from .. import roles, selectors, services
from ..filters import CaseFilter
from ..models import CASE_PENDING_STATUS_CHOICES, Customer, Interaction
from .orders import IDEMPOTENCY_KEY


class CaseSerializer(serializers.ModelSerializer):
    customer_external_id = serializers.CharField(source="customer.external_id", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)
    hours_to_resolve = serializers.SerializerMethodField(
        help_text=_("Hours from arrival to resolution; null while open.")
    )

    class Meta:
        model = Interaction
        fields = [
            "id",
            "customer_id",
            "customer_external_id",
            "kind",
            "status",
            "priority",
            "owner",
            "subject",
            "body",
            "channel",
            "direction",
            "occurred_at",
            "due_at",
            "is_overdue",
            "resolved_at",
            "resolved_by",
            "resolution",
            "hours_to_resolve",
            "rating",
            "review_source",
            "sentiment",
            "author",
            "created_at",
        ]
        read_only_fields = fields

    def get_hours_to_resolve(self, case) -> float | None:
        spent = case.time_to_resolve
        return None if spent is None else round(spent.total_seconds() / 3600, 2)


def _owner_field(**extra):
    return serializers.SlugRelatedField(
        slug_field="username",
        queryset=selectors.case_owner_choices(),
        error_messages={"does_not_exist": _("No account manager or administrator has the username “{value}”.")},
        **extra,
    )


class CaseCreateSerializer(InputSerializer):
    customer_id = serializers.PrimaryKeyRelatedField(
        source="customer",
        queryset=Customer.objects.none(),
        help_text=_("Id of the customer."),
        error_messages={"does_not_exist": _("No customer has the id {pk_value}.")},
    )
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in Interaction.TRACKED_KINDS])
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField(required=False, allow_blank=True, default="", max_length=50_000)
    channel = serializers.ChoiceField(choices=Interaction.Channel.choices, default=Interaction.Channel.OTHER)
    occurred_at = serializers.DateTimeField(
        required=False,
        validators=[dates.happened("occurred_at")],
        help_text=format_lazy("{} {}", _("Now when left out."), dates.HELP[dates.HAPPENED]),
    )
    priority = serializers.ChoiceField(choices=Interaction.Priority.choices, default=Interaction.Priority.NORMAL)
    owner = _owner_field(required=False, help_text=_("Username; the customer's account manager when left out."))
    due_at = serializers.DateTimeField(
        required=False, help_text=_("When left out: 4 hours (urgent), 1 day (high), 3 days (normal), 7 days (low).")
    )
    rating = serializers.IntegerField(required=False, min_value=1, max_value=5, help_text=_("Reviews only."))
    review_source = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    sentiment = serializers.ChoiceField(choices=Interaction.Sentiment.choices, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["customer_id"].queryset = selectors.customer_visible_to(request.user)


class CaseUpdateSerializer(InputSerializer):
    owner = _owner_field(required=False, allow_null=True, help_text=_("Username, or null for nobody."))
    priority = serializers.ChoiceField(choices=Interaction.Priority.choices, required=False)
    due_at = serializers.DateTimeField(required=False)
    status = serializers.ChoiceField(
        choices=CASE_PENDING_STATUS_CHOICES,
        required=False,
        help_text=_("open or in_progress; resolve with POST …/resolve/, reopen a resolved case with …/reopen/."),
    )


class CaseResolveSerializer(InputSerializer):
    resolution = serializers.CharField(max_length=5000, help_text=_("What was done for the customer."))


class CaseReopenSerializer(InputSerializer):
    status = serializers.ChoiceField(choices=CASE_PENDING_STATUS_CHOICES, default=Interaction.Status.OPEN)


@extend_schema_view(
    list=extend_schema(summary=_("List complaints, support contacts and reviews")),
    retrieve=extend_schema(summary=_("Read a complaint")),
    create=extend_schema(
        summary=_("Record a complaint, support contact or review"),
        request=CaseCreateSerializer,
        responses={201: CaseSerializer},
        parameters=[IDEMPOTENCY_KEY],
    ),
    partial_update=extend_schema(
        summary=_("Change a complaint's owner, priority, due time or status"),
        request=CaseUpdateSerializer,
        responses=CaseSerializer,
    ),
)
class ComplaintViewSet(
    IdempotentCreateMixin,
    CreateWithOutputMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Cases of the customers you may see (administrators and account managers; anyone else sees none)."""

    serializer_class = CaseSerializer
    input_serializer_class = CaseCreateSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = CaseFilter
    search_fields = ["subject"]
    ordering_fields = ["id", "occurred_at"]
    ordering = ["-occurred_at", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def _may_use(self) -> bool:
        user = self.request.user
        return roles.is_administrator(user) or roles.is_account_manager(user)

    def get_queryset(self):
        if not self._may_use():
            return Interaction.objects.none()
        return selectors.case_visible_to(self.request.user).select_related("customer", "owner", "resolved_by", "author")

    def _editable(self) -> Interaction:
        case = self.get_object()
        if not selectors.case_editable_by(self.request.user).filter(pk=case.pk).exists():
            raise PermissionDenied(_("You can see this customer but not change their cases."))
        return case

    def perform_create(self, serializer) -> Interaction:
        if not self._may_use():
            raise PermissionDenied(_("Only administrators and account managers record cases."))
        data = dict(serializer.validated_data)
        if not selectors.customer_can_edit(user=self.request.user, customer=data["customer"]):
            raise PermissionDenied(_("You can see this customer but not record cases for them."))
        return services.interaction_log(author=self.request.user, direction=Interaction.Direction.INBOUND, **data)

    def partial_update(self, request, pk=None):
        case = self._editable()
        query = CaseUpdateSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        if "status" in data and case.status == Interaction.Status.RESOLVED:
            raise ValidationError({"status": [_("This case is resolved. Reopen it on purpose with POST …/reopen/.")]})
        update = {key: data[key] for key in ("owner", "priority", "due_at") if key in data}
        if update:
            case, _changed = services.complaint_update(complaint=case, by=request.user, **update)
        if "status" in data:
            case = services.complaint_status_set(complaint=case, status=data["status"], by=request.user)
        return Response(CaseSerializer(self.get_queryset().get(pk=case.pk)).data)

    @extend_schema(
        summary=_("Resolve a complaint with its resolution"), request=CaseResolveSerializer, responses=CaseSerializer
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        case = self._editable()
        query = CaseResolveSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        try:
            case = services.complaint_resolve(
                complaint=case, resolution=query.validated_data["resolution"], by=request.user
            )
        except DjangoValidationError as exc:
            raise ValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else {"status": exc.messages}
            ) from None
        return Response(CaseSerializer(self.get_queryset().get(pk=case.pk)).data)

    @extend_schema(summary=_("Reopen a resolved complaint"), request=CaseReopenSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        case = self._editable()
        query = CaseReopenSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        if case.status != Interaction.Status.RESOLVED:
            raise ValidationError({"status": [_("Only a resolved case is reopened.")]})
        case = services.complaint_status_set(
            complaint=case, status=query.validated_data["status"], by=request.user, reopen=True
        )
        return Response(CaseSerializer(self.get_queryset().get(pk=case.pk)).data)
