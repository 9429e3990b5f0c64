"""API of message templates (mounted at /api/v1/): list, read, create and change them with the same
checks as the editor, preview one for a customer in a language, and send a transactional message
from one to a customer.

Administrators and marketers write templates; account managers read and preview them; anyone else
gets 404. A preview or a send is for a customer the caller may see (customer_visible_to): any
other customer id answers as if it did not exist. A send is idempotent with ``Idempotency-Key``.
"""

from uuid import uuid4

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.selectors import customer_visible_to
from retention_crm.api import CreateWithOutputMixin, IdempotentCreateMixin, InputSerializer, error_response

from ..models import MessageTemplate
from . import template_selectors as selectors
from . import template_services as services
from .rendering import RenderError, render_message
from .sending import message_output, send_template

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]
IDEMPOTENCY_HELP = _("Send a unique key to make a retry safe: the first answer is returned, nothing is created twice.")


class ContentSerializer(serializers.Serializer):
    subject = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    html = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    text = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)


class ContentInputSerializer(InputSerializer, ContentSerializer):
    pass


class MessageTemplateSerializer(serializers.ModelSerializer):
    # Plain text: the model's SlugField would give the schema a pattern that refuses the empty topic.
    topic = serializers.CharField(read_only=True, help_text=_("The preference-centre topic; empty: general."))
    contents = serializers.SerializerMethodField(help_text=_("The text per language code."))

    class Meta:
        model = MessageTemplate
        fields = [
            "id",
            "key",
            "name",
            "channel",
            "purpose",
            "topic",
            "fallback_language",
            "is_active",
            "track_links",
            "contents",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=ContentSerializer()))
    def get_contents(self, template) -> dict:
        return {c.language: ContentSerializer(c).data for c in template.contents.all()}


class MessageTemplateInputSerializer(InputSerializer):
    key = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200)
    channel = serializers.ChoiceField(choices=MessageTemplate.Channel.choices)
    purpose = serializers.ChoiceField(choices=MessageTemplate.Purpose.choices)
    topic = serializers.RegexField(
        r"^[-a-zA-Z0-9_]*$",
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("The preference-centre topic (letters, digits, - and _); empty: general."),
    )
    fallback_language = serializers.ChoiceField(choices=settings.LANGUAGES, default="en")
    is_active = serializers.BooleanField(required=False, default=True)
    track_links = serializers.BooleanField(
        required=False, default=True, help_text=_("Links in its emails go through the click-recording redirect.")
    )
    contents = serializers.DictField(
        child=ContentInputSerializer(),
        help_text=_(
            "The text per language code (en, id, ms, ca): subject, html and text. A language left out is "
            "one the template does not have."
        ),
    )

    def validate_contents(self, value):
        unknown = sorted(set(value) - set(LANGUAGE_CODES))
        if unknown:
            raise serializers.ValidationError(_("Unknown language codes: %(codes)s.") % {"codes": ", ".join(unknown)})
        return value


class PreviewQuerySerializer(InputSerializer):
    customer_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES, required=False, help_text=_("Default: the customer's language.")
    )


class RenderedSerializer(serializers.Serializer):
    language = serializers.CharField(help_text=_("The language rendered: the one asked for, or the fallback."))
    subject = serializers.CharField()
    html = serializers.CharField()
    text = serializers.CharField()


def _service_errors(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})


@extend_schema_view(
    list=extend_schema(summary=_("List message templates")),
    retrieve=extend_schema(summary=_("Read a message template")),
    create=extend_schema(
        summary=_("Create a message template"),
        request=MessageTemplateInputSerializer,
        responses={201: MessageTemplateSerializer},
        description=IDEMPOTENCY_HELP,
    ),
    update=extend_schema(
        summary=_("Change a message template"),
        request=MessageTemplateInputSerializer,
        responses=MessageTemplateSerializer,
    ),
)
class MessageTemplateViewSet(
    IdempotentCreateMixin,
    CreateWithOutputMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Message templates. Saving checks every language (syntax, placeholders, subjects) and refuses the
    whole template with each problem under ``contents.<language>.<part>``, naming the line."""

    serializer_class = MessageTemplateSerializer
    input_serializer_class = MessageTemplateInputSerializer
    filter_backends: list = []
    http_method_names = ["get", "post", "put", "head", "options"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not selectors.template_can_read(request.user):
            raise NotFound()

    def get_queryset(self):
        return selectors.template_list(user=self.request.user)

    def _editor_only(self) -> None:
        if not selectors.template_can_edit(self.request.user):
            raise PermissionDenied(_("Marketers and administrators change templates; you may read and preview them."))

    def perform_create(self, serializer) -> MessageTemplate:
        self._editor_only()
        data = dict(serializer.validated_data)
        try:
            return services.message_template_create(contents=data.pop("contents"), created_by=self.request.user, **data)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None

    def update(self, request, *args, **kwargs):
        template = self.get_object()
        self._editor_only()
        serializer = MessageTemplateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        try:
            template, _changed = services.message_template_update(
                template=template, contents=data.pop("contents"), updated_by=request.user, **data
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        template = self.get_queryset().get(pk=template.pk)
        return Response(MessageTemplateSerializer(template).data)

    @extend_schema(
        summary=_("Preview a message template for a customer"),
        parameters=[PreviewQuerySerializer],
        responses=RenderedSerializer,
    )
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        template = self.get_object()
        query = PreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        customer = get_object_or_404(customer_visible_to(request.user), pk=query.validated_data["customer_id"])
        try:
            rendered = render_message(template, customer, language=query.validated_data.get("language"))
        except RenderError as exc:
            return error_response(str(exc), status_code=422, code="render_failed")
        return Response(RenderedSerializer(rendered).data)


# --- Sending --------------------------------------------------------------------------------------


class SendInputSerializer(InputSerializer):
    customer_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text=_("Id of the customer."))


class MessageQueuedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    template_id = serializers.IntegerField(allow_null=True)
    channel = serializers.CharField()
    purpose = serializers.CharField()
    language = serializers.CharField()
    source_key = serializers.CharField()
    state = serializers.CharField(help_text=_("queued, sending, sent, failed or suppressed (with the reason)."))
    reason = serializers.CharField(allow_blank=True, help_text=_("Why it failed or was suppressed."))
    due_at = serializers.DateTimeField(allow_null=True)


class _Send:
    def create(self, request, pk: int):
        template = get_object_or_404(selectors.template_list(user=request.user), pk=pk)
        serializer = SendInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = get_object_or_404(customer_visible_to(request.user), pk=serializer.validated_data["customer_id"])
        if template.purpose != MessageTemplate.Purpose.TRANSACTIONAL:
            return error_response(
                _(
                    "This template is promotional: promotional messages go out through campaigns, with consent and "
                    "the frequency cap, not one at a time through the API."
                ),
                code="promotional_template",
            )
        if not template.is_active:
            return error_response(
                _("This template is inactive: activate it to send with it."), code="inactive_template"
            )
        # The key makes the outbox's idempotency the request's: a retry with the same Idempotency-Key
        # finds the same message even if the stored answer were lost.
        key = request.headers.get("Idempotency-Key", "").strip() or uuid4().hex
        try:
            message = send_template(
                template=template, customer=customer, source_key=f"api:{request.user.pk}:{key}", created_by=request.user
            )
        except RenderError as exc:
            return error_response(str(exc), status_code=422, code="render_failed")
        return Response(MessageQueuedSerializer(message_output(message)).data, status=status.HTTP_201_CREATED)


class MessageTemplateSendApi(IdempotentCreateMixin, _Send, APIView):
    @extend_schema(
        summary=_("Send a transactional message from a template"),
        description=_(
            "Render the template in the customer's language and put the message in the outbox, which sends it "
            "(or records why not: no address, bounced, opted out). Transactional templates only. "
        )
        + str(IDEMPOTENCY_HELP),
        request=SendInputSerializer,
        responses={201: MessageQueuedSerializer},
    )
    def post(self, request, pk: int):
        return self.create(request, pk=pk)
