"""API of the outbox (mounted at /api/v1/): messages (list, read) and a customer's contact
preferences per channel and topic (read, change).

Scoped by the visibility rule: an account manager sees the messages and preferences of her own
book; a customer or message the user may not see answers 404. Changing preferences needs the
right to edit the customer (a marketer may read them: 403 on a change).
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from contact_plans.models import Channel, Message
from customers.selectors import customer_can_edit, customer_visible_to
from retention_crm.api import InputSerializer
from retention_crm.ids import IdField

from . import outbox_selectors
from .unsubscribe import contact_preferences_of, contact_preferences_update, topics


class MessageSerializer(serializers.ModelSerializer):
    customer_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Message
        fields = [
            "id", "customer_id", "channel", "purpose", "topic", "recipient", "subject", "html", "text",
            "language", "template_id", "source_key", "due_at", "state", "reason", "error", "attempts",
            "resent_count", "provider_id", "message_id", "created_at", "sent_at",
        ]  # fmt: skip
        read_only_fields = fields


class MessageFilterSerializer(InputSerializer):
    customer_id = IdField(required=False)
    state = serializers.ChoiceField(choices=Message.State.choices, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)


@extend_schema_view(
    list=extend_schema(summary=_("List messages"), parameters=[MessageFilterSerializer]),
    retrieve=extend_schema(summary=_("Read a message")),
)
class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Messages of the outbox to the customers you may see, newest first, with their state and its reason."""

    serializer_class = MessageSerializer
    permission_classes = [permissions.IsAuthenticated]
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "action", None) == "list":
            query = MessageFilterSerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            data = query.validated_data
            return outbox_selectors.message_list(
                user=self.request.user,
                customer_id=data.get("customer_id"),
                state=data.get("state", ""),
                channel=data.get("channel", ""),
            )
        return outbox_selectors.message_visible_to(self.request.user)


class ChannelPreferenceSerializer(serializers.Serializer):
    subscribed = serializers.BooleanField(help_text=_("False: unsubscribed from this channel."))
    topics = serializers.DictField(child=serializers.BooleanField(), help_text=_("Topic -> subscribed."))
    address_status = serializers.CharField(
        read_only=True, help_text=_('"bounced", "complained" or "stopped" when the address is blocked.')
    )


class ContactPreferencesSerializer(serializers.Serializer):
    marketing_consent = serializers.BooleanField(read_only=True)
    email = ChannelPreferenceSerializer()
    sms = ChannelPreferenceSerializer()


class ChannelChangeSerializer(InputSerializer):
    subscribed = serializers.BooleanField(required=False)
    topics = serializers.DictField(child=serializers.BooleanField(), required=False)

    def validate_topics(self, value):
        known = {code for code, _label in topics()}
        unknown = sorted(set(value) - known)
        if unknown:
            raise serializers.ValidationError(_("Unknown topic(s): %(topics)s.") % {"topics": ", ".join(unknown)})
        return value


class ContactPreferencesChangeSerializer(InputSerializer):
    email = ChannelChangeSerializer(required=False)
    sms = ChannelChangeSerializer(required=False)


def _preferences_body(customer) -> dict:
    answers = contact_preferences_of(customer)
    body = {"marketing_consent": customer.marketing_consent}
    for channel in Channel.values:
        body[channel] = {
            "subscribed": answers[(channel, "")],
            "topics": {code: answers[(channel, code)] for code, _label in topics()},
            "address_status": outbox_selectors.address_status_of(customer, channel),
        }
    return body


class ContactPreferencesApi(APIView):
    """A customer's contact preferences per channel and topic, and whether an address is blocked."""

    permission_classes = [permissions.IsAuthenticated]

    def _customer(self, request, customer_pk: int):
        return get_object_or_404(customer_visible_to(request.user), pk=customer_pk)

    @extend_schema(summary=_("Read a customer's contact preferences"), responses=ContactPreferencesSerializer)
    def get(self, request, customer_pk: int) -> Response:
        return Response(ContactPreferencesSerializer(_preferences_body(self._customer(request, customer_pk))).data)

    @extend_schema(
        summary=_("Change a customer's contact preferences"),
        request=ContactPreferencesChangeSerializer,
        responses=ContactPreferencesSerializer,
    )
    def patch(self, request, customer_pk: int) -> Response:
        customer = self._customer(request, customer_pk)
        if not customer_can_edit(user=request.user, customer=customer):
            raise PermissionDenied(_("You can see this customer but not change their contact preferences."))
        change = ContactPreferencesChangeSerializer(data=request.data)
        change.is_valid(raise_exception=True)
        changes = {}
        for channel, wanted in change.validated_data.items():
            if "subscribed" in wanted:
                changes[(channel, "")] = wanted["subscribed"]
            for topic, subscribed in wanted.get("topics", {}).items():
                changes[(channel, topic)] = subscribed
        contact_preferences_update(customer=customer, changes=changes)
        return Response(ContactPreferencesSerializer(_preferences_body(customer)).data)
