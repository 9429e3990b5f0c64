"""Interactions: the timeline of calls, emails, complaints…; list, read, log and resolve."""

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
from retention_crm.api import FlatErrorsMixin, IdempotentCreateMixin, StrictFieldsMixin

from .. import selectors, services
from ..filters import InteractionFilter
from ..models import Customer, Interaction
from .common import CustomerDataPermission
from .complaints import CaseResolveSerializer
from .orders import IDEMPOTENCY_KEY

# The fields of a case shown here read-only: they change through /api/v1/complaints/.
CASE_FIELDS = ("status", "priority", "owner", "due_at", "is_overdue", "resolved_by", "resolution")


class InteractionSerializer(StrictFieldsMixin, FlatErrorsMixin, serializers.ModelSerializer):
    """One exchange with a customer, given by external id (customer) or id (customer_id)."""

    customer = serializers.SlugRelatedField(
        slug_field="external_id",
        queryset=Customer.objects.none(),
        required=False,
        help_text=_("External id of the customer; or give customer_id."),
        error_messages={"does_not_exist": _("No customer has the external id “{value}”.")},
    )
    customer_id = serializers.PrimaryKeyRelatedField(
        source="customer",
        queryset=Customer.objects.none(),
        required=False,
        help_text=_("Id of the customer; or give customer (the external id)."),
        error_messages={"does_not_exist": _("No customer has the id {pk_value}.")},
    )
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    # A case's own fields (complaints, support tickets, reviews), as /api/v1/complaints/ shows them;
    # null on other interactions. Changed only through /api/v1/complaints/ (docs/complaints.md).
    status = serializers.ChoiceField(
        choices=Interaction.Status.choices,
        read_only=True,
        allow_null=True,
        help_text=_("A case's status; null for other interactions."),
    )
    priority = serializers.ChoiceField(
        choices=Interaction.Priority.choices,
        read_only=True,
        allow_null=True,
        help_text=_("A case's priority; null for other interactions."),
    )
    owner = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text=_("Username of who deals with the case.")
    )
    due_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text=_("When the case should be resolved.")
    )
    is_overdue = serializers.BooleanField(
        read_only=True, allow_null=True, help_text=_("Whether an open case is past its due time.")
    )
    resolution = serializers.CharField(
        read_only=True, allow_null=True, help_text=_("What was done for the customer; null until resolved.")
    )
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    occurred_at = serializers.DateTimeField(
        required=False,
        validators=[dates.happened("occurred_at")],
        help_text=format_lazy("{} {}", _("Now when left out."), dates.HELP[dates.HAPPENED]),
    )

    class Meta:
        model = Interaction
        fields = [
            "id",
            "customer",
            "customer_id",
            "kind",
            "direction",
            "channel",
            "subject",
            "body",
            "occurred_at",
            "author",
            "sentiment",
            "outcome",
            "status",
            "priority",
            "owner",
            "due_at",
            "is_overdue",
            "resolved_at",
            "resolved_by",
            "resolution",
            "is_open",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "author",
            *CASE_FIELDS,
            "resolved_at",
            "is_open",
            "created_at",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            visible = selectors.customer_visible_to(request.user)
            self.fields["customer"].queryset = visible
            self.fields["customer_id"].queryset = visible

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not instance.is_case:
            data.update(dict.fromkeys(CASE_FIELDS))
        elif instance.resolved_at is None:
            data["resolution"] = None
        return data

    def validate(self, attrs):
        if isinstance(self.initial_data, dict):
            sent = sorted(name for name in CASE_FIELDS if name in self.initial_data)
            if sent:
                message = _("Read-only here: record a case and change it through /api/v1/complaints/.")
                raise serializers.ValidationError({name: [message] for name in sent})
        given = [name for name in ("customer", "customer_id") if name in self.initial_data]
        if not given:
            raise serializers.ValidationError({"customer": [_("Give the customer's external id or customer_id.")]})
        if len(given) > 1:
            raise serializers.ValidationError({"customer": [_("Give either customer or customer_id, not both.")]})
        return attrs


@extend_schema_view(
    list=extend_schema(summary=_("List interactions")),
    retrieve=extend_schema(summary=_("Read an interaction")),
    create=extend_schema(summary=_("Log an interaction"), parameters=[IDEMPOTENCY_KEY]),
)
class InteractionViewSet(
    IdempotentCreateMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = InteractionSerializer
    permission_classes = [IsAuthenticated, CustomerDataPermission]
    filterset_class = InteractionFilter
    search_fields = ["subject"]
    # Each ordering has its index; the id is the order in which interactions were logged.
    ordering_fields = ["id", "occurred_at"]
    ordering = ["-occurred_at", "-id"]

    def get_queryset(self):
        return selectors.interaction_visible_to(self.request.user).select_related(
            "customer", "author", "owner", "resolved_by"
        )

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        if not selectors.customer_can_edit(user=self.request.user, customer=data["customer"]):
            raise PermissionDenied(_("You can see this customer but not log interactions with them."))
        serializer.instance = services.interaction_log(author=self.request.user, **data)

    @extend_schema(
        summary=_("Resolve a complaint, support ticket or review with its resolution"),
        request=CaseResolveSerializer,
        responses=InteractionSerializer,
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """As POST /api/v1/complaints/{id}/resolve/: a case is resolved with what was done for the
        customer (a missing or blank ``resolution`` is a 400 naming it), once (a resolved case is
        reopened first, through the complaints API)."""
        interaction = self.get_object()
        if not interaction.is_case:
            raise ValidationError(_("Only complaints, support tickets and reviews can be resolved."))
        query = CaseResolveSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        try:
            case = services.complaint_resolve(
                complaint=interaction, resolution=query.validated_data["resolution"], by=request.user
            )
        except DjangoValidationError as exc:
            raise ValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else {"status": exc.messages}
            ) from None
        return Response(self.get_serializer(self.get_queryset().get(pk=case.pk)).data)
