"""API of campaigns (mounted at /api/v1/campaigns/): list, read, create, change and delete (drafts),
schedule, cancel, the audience preview and the results.

Marketers and administrators write; account managers read (the audience and results count the
customers of their book); anyone else gets 404. Bad input answers 400 in the project's error shape,
naming each field (``template_id``, ``segment_id``, ``send_on``...).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

from retention_crm.api import CreateWithOutputMixin, IdempotentCreateMixin, InputSerializer
from segmentation.models import Segment

from ..models import Campaign, MessageTemplate
from . import selectors, services

# A service's field names, as the API spells them.
API_FIELD = {"template": "template_id", "segment": "segment_id"}


@extend_schema_field({"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "10:00"})
class LocalTimeField(serializers.TimeField):
    """A local time of day as HH:MM (a time without an offset: each customer's own zone applies)."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", input_formats=["%H:%M"], **kwargs)


class CampaignSerializer(serializers.ModelSerializer):
    send_time = LocalTimeField(
        read_only=True, help_text=_("The local time of the send (HH:MM), in each customer's time zone.")
    )
    template_id = serializers.IntegerField(
        allow_null=True, help_text=_("The message template; null when it was deleted.")
    )
    segment_id = serializers.IntegerField(allow_null=True, help_text=_("The segment; null when it was deleted."))
    problems = serializers.SerializerMethodField(help_text=_("What keeps a scheduled campaign from sending."))

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "kind",
            "template_id",
            "segment_id",
            "recurrence",
            "send_on",
            "send_time",
            "control_percent",
            "track_links",
            "state",
            "next_send_on",
            "problems",
            "created_at",
            "updated_at",
            "cancelled_at",
        ]
        read_only_fields = fields

    def get_problems(self, campaign) -> list[str]:
        return [str(problem) for problem in selectors.campaign_problems(campaign)]


class CampaignInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Campaign.Kind.choices, default=Campaign.Kind.NEWSLETTER)
    template_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text=_("An email template's id."))
    segment_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    recurrence = serializers.ChoiceField(choices=Campaign.Recurrence.choices, default=Campaign.Recurrence.ONCE)
    send_on = serializers.DateField(help_text=_("The date of the (first) send."))
    send_time = LocalTimeField(help_text=_("The local time of the send (HH:MM), in each customer's time zone."))
    control_percent = serializers.IntegerField(min_value=0, max_value=50, default=10)
    track_links = serializers.BooleanField(default=True)


class CampaignCreateSerializer(CampaignInputSerializer):
    schedule = serializers.BooleanField(default=False, help_text=_("Schedule it at once (else it is a draft)."))


class CampaignPatchSerializer(CampaignInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
            field.default = serializers.empty


class CampaignLeftOutSerializer(serializers.Serializer):
    reason = serializers.CharField(
        help_text=_("The outbox's reason: no_consent, unsubscribed, bounced, frequency_cap...")
    )
    label = serializers.CharField()
    count = serializers.IntegerField()
    examples = serializers.SerializerMethodField(help_text=_("A few of these customers (id and name)."))

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_examples(self, item) -> list[dict]:
        return [{"id": customer.pk, "name": customer.name} for customer in item.examples]


class CampaignAudienceSerializer(serializers.Serializer):
    members = serializers.IntegerField(help_text=_("Customers in the segment (that the caller may see)."))
    sendable = serializers.IntegerField(help_text=_("Those the outbox would send to now."))
    control = serializers.IntegerField(help_text=_("About this many would be held out as the control group."))
    to_send = serializers.IntegerField()
    left_out = CampaignLeftOutSerializer(many=True)


class CampaignUpliftSerializer(serializers.Serializer):
    treated = serializers.IntegerField(help_text=_("Recipients whose message was sent."))
    treated_converted = serializers.IntegerField(help_text=_("Of them, those who purchased within 30 days."))
    control = serializers.IntegerField(help_text=_("Control-group members the outbox could have sent to."))
    control_converted = serializers.IntegerField()
    treated_rate = serializers.FloatField(allow_null=True)
    control_rate = serializers.FloatField(allow_null=True)
    difference = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(
        allow_null=True, help_text=_("The low end of the difference's confidence interval (at the 95 percent level).")
    )
    high = serializers.FloatField(allow_null=True)


class CampaignReasonCountSerializer(serializers.Serializer):
    reason = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class CampaignResultsSerializer(serializers.Serializer):
    audience = serializers.IntegerField()
    in_control = serializers.IntegerField()
    sent = serializers.IntegerField()
    queued = serializers.IntegerField(help_text=_("Waiting in the outbox."))
    suppressed = serializers.IntegerField()
    suppressed_by_reason = serializers.SerializerMethodField()
    failed = serializers.IntegerField()
    withdrawn = serializers.IntegerField(help_text=_("Withdrawn when the campaign was cancelled."))
    unsubscribed = serializers.IntegerField()
    clicked = serializers.IntegerField(help_text=_("Customers who clicked a link."))
    clicks = serializers.IntegerField()
    uplift = CampaignUpliftSerializer(help_text=_("Purchased within 30 days of the send, against the control group."))
    window_complete = serializers.BooleanField(help_text=_("30 days have passed since the last send."))

    @extend_schema_field(CampaignReasonCountSerializer(many=True))
    def get_suppressed_by_reason(self, results) -> list[dict]:
        return [{"reason": code, "label": label, "count": n} for code, label, n in results.suppressed_by_reason]


def _service_errors(exc: DjangoValidationError) -> ValidationError:
    if not hasattr(exc, "error_dict"):
        return ValidationError({"non_field_errors": exc.messages})
    return ValidationError({API_FIELD.get(field, field): messages for field, messages in exc.message_dict.items()})


def _objects(data: dict) -> dict:
    """The ids of the input as the template and segment the services take (400 for unknown ones)."""
    fields = dict(data)
    errors = {}
    if "template_id" in fields:
        fields["template"] = MessageTemplate.objects.filter(pk=fields.pop("template_id")).first()
        if fields["template"] is None:
            errors["template_id"] = [_("There is no message template with this id.")]
    if "segment_id" in fields:
        fields["segment"] = Segment.objects.filter(pk=fields.pop("segment_id")).first()
        if fields["segment"] is None:
            errors["segment_id"] = [_("There is no segment with this id.")]
    if errors:
        raise ValidationError(errors)
    return fields


@extend_schema_view(
    list=extend_schema(summary=_("List campaigns")),
    retrieve=extend_schema(summary=_("Read a campaign")),
    create=extend_schema(
        summary=_("Create a campaign"), request=CampaignCreateSerializer, responses={201: CampaignSerializer}
    ),
    update=extend_schema(
        summary=_("Change a draft or scheduled campaign"), request=CampaignInputSerializer, responses=CampaignSerializer
    ),
    partial_update=extend_schema(
        summary=_("Change some fields of a draft or scheduled campaign"),
        request=CampaignPatchSerializer,
        responses=CampaignSerializer,
    ),
    destroy=extend_schema(summary=_("Delete a draft campaign")),
)
class CampaignViewSet(
    IdempotentCreateMixin,
    CreateWithOutputMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Campaigns: a template sent to a segment at a local time, once, weekly or monthly, with a
    control group. Creating checks what a send needs when ``schedule`` is true."""

    serializer_class = CampaignSerializer
    input_serializer_class = CampaignCreateSerializer
    filter_backends: list = []
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not selectors.campaign_can_read(request.user):
            raise NotFound()

    def get_queryset(self):
        return selectors.campaign_list(user=self.request.user)

    def _manager_only(self) -> None:
        if not selectors.campaign_can_manage(self.request.user):
            raise PermissionDenied(_("Marketers and administrators manage campaigns; you may read them."))

    def perform_create(self, serializer) -> Campaign:
        self._manager_only()
        data = dict(serializer.validated_data)
        schedule = data.pop("schedule", False)
        try:
            return services.campaign_create(created_by=self.request.user, schedule=schedule, **_objects(data))
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None

    def _update(self, request, serializer_class):
        campaign = self.get_object()
        self._manager_only()
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            campaign, _changed = services.campaign_update(campaign=campaign, **_objects(serializer.validated_data))
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return Response(CampaignSerializer(self.get_queryset().get(pk=campaign.pk)).data)

    def update(self, request, *args, **kwargs):
        return self._update(request, CampaignInputSerializer)

    def partial_update(self, request, *args, **kwargs):
        return self._update(request, CampaignPatchSerializer)

    def perform_destroy(self, instance) -> None:
        self._manager_only()
        try:
            services.campaign_delete(campaign=instance)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None

    @extend_schema(summary=_("Schedule a draft campaign"), request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def schedule(self, request, pk=None):
        campaign = self.get_object()
        self._manager_only()
        try:
            campaign = services.campaign_schedule(campaign=campaign)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return Response(CampaignSerializer(self.get_queryset().get(pk=campaign.pk)).data)

    @extend_schema(
        summary=_("Cancel a campaign"),
        request=None,
        responses=CampaignSerializer,
        description=_(
            "No further send starts, and the messages still waiting in the outbox are "
            "withdrawn (how many: the Withdrawn header)."
        ),
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        campaign = self.get_object()
        self._manager_only()
        try:
            withdrawn = services.campaign_cancel(campaign=campaign)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        response = Response(CampaignSerializer(self.get_queryset().get(pk=campaign.pk)).data, status=status.HTTP_200_OK)
        response["Withdrawn"] = str(withdrawn)
        return response

    @extend_schema(summary=_("Preview a campaign's audience"), responses=CampaignAudienceSerializer)
    @action(detail=True, methods=["get"])
    def audience(self, request, pk=None):
        campaign = self.get_object()
        preview = selectors.audience_preview(user=request.user, campaign=campaign)
        if preview is None:
            raise ValidationError({"non_field_errors": [_("The campaign needs a template and a segment.")]})
        return Response(CampaignAudienceSerializer(preview).data)

    @extend_schema(summary=_("A campaign's results"), responses=CampaignResultsSerializer)
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        campaign = self.get_object()
        return Response(
            CampaignResultsSerializer(selectors.campaign_results(user=request.user, campaign=campaign)).data
        )
