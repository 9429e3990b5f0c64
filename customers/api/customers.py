"""Customers: list, read, create, change, archive (DELETE), restore, and look up by external id."""

import zoneinfo
from functools import cache

from django.db import IntegrityError
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.validators import UniqueValidator

from retention_crm import dates
from retention_crm.api import FlatErrorsMixin, IdempotentCreateMixin, StrictFieldsMixin

from .. import roles, selectors, services
from ..filters import CustomerFilter
from ..models import Customer
from .common import CustomerDataPermission


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class TagListField(serializers.ListField):
    """Tags as a list of their names, in and out."""

    child = serializers.CharField(max_length=50)

    def to_representation(self, data):
        return [tag.name for tag in data.all()]


class CustomerSerializer(StrictFieldsMixin, FlatErrorsMixin, serializers.ModelSerializer):
    """A customer. Unknown fields are refused; account managers may only assign to themselves."""

    account_manager = serializers.SlugRelatedField(
        slug_field="username",
        queryset=selectors.account_manager_list(),
        required=False,
        allow_null=True,
        help_text=_("Username of an account manager."),
    )
    referred_by = serializers.SlugRelatedField(
        slug_field="external_id",
        queryset=Customer.objects.none(),
        required=False,
        allow_null=True,
        help_text=_("External id of the customer who referred this one."),
    )
    tags = TagListField(required=False)

    class Meta:
        model = Customer
        fields = [
            "id",
            "external_id",
            "name",
            "email",
            "phone",
            "company",
            "country",
            "language",
            "time_zone",
            "account_manager",
            "acquired_at",
            "acquisition_source",
            "birth_date",
            "referred_by",
            "tags",
            "marketing_consent",
            "consent_at",
            "consent_source",
            "notes",
            "archived_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "archived_at", "created_at", "updated_at"]
        extra_kwargs = {
            "acquired_at": {"help_text": dates.HELP[dates.HAPPENED]},
            "birth_date": {"help_text": dates.HELP[dates.BORN]},
            "consent_at": {"help_text": dates.HELP[dates.HAPPENED]},
            "external_id": {
                "validators": [
                    UniqueValidator(
                        queryset=Customer.objects.all(),
                        message=_("A customer with this external id already exists."),
                    )
                ]
            },
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "referred_by" in self.fields:
            # A referrer the user cannot see does not exist, as far as they can tell.
            self.fields["referred_by"].queryset = selectors.customer_visible_to(request.user)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if instance.referred_by_id is None or request is None:
            return data
        # A referrer in a book the user cannot see is not named (CustomerViewSet annotates this).
        visible = getattr(instance, "referrer_visible", None)
        if visible is None:
            visible = selectors.customer_is_visible(user=request.user, customer_id=instance.referred_by_id)
        if not visible:
            data["referred_by"] = None
        return data

    def validate_time_zone(self, value: str) -> str:
        if value not in _time_zones():
            raise serializers.ValidationError(_("Unknown time zone; use an IANA name such as Europe/London."))
        return value

    def validate_account_manager(self, value):
        user = self.context["request"].user
        if not roles.is_administrator(user) and value != user:
            raise serializers.ValidationError(_("Account managers can only assign customers to their own book."))
        return value

    def validate_referred_by(self, value):
        if value is not None and self.instance is not None and value.pk == self.instance.pk:
            raise serializers.ValidationError(_("A customer cannot refer themselves."))
        return value


def _duplicate_external_id() -> serializers.ValidationError:
    return serializers.ValidationError({"external_id": [_("A customer with this external id already exists.")]})


@extend_schema_view(
    list=extend_schema(summary=_("List customers")),
    retrieve=extend_schema(summary=_("Read a customer")),
    create=extend_schema(
        summary=_("Create a customer"),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description=_("A retry with the same key returns the first answer and creates nothing."),
            )
        ],
    ),
    update=extend_schema(summary=_("Replace a customer's details")),
    partial_update=extend_schema(summary=_("Change some of a customer's details")),
    destroy=extend_schema(
        summary=_("Archive a customer"),
        description=_("Customers are never deleted through the API: DELETE archives (restore undoes it)."),
    ),
)
class CustomerViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    serializer_class = CustomerSerializer
    permission_classes = [IsAuthenticated, CustomerDataPermission]
    filterset_class = CustomerFilter
    search_fields = ["name", "email", "company", "=external_id"]
    # Only non-null columns: cursor pagination cannot step past a NULL position.
    ordering_fields = ["id", "name", "external_id", "country", "created_at", "updated_at"]
    ordering = ["name", "id"]

    def get_queryset(self):
        visible = selectors.customer_visible_to(self.request.user)
        return (
            visible.select_related("account_manager", "referred_by")
            .prefetch_related("tags")
            .annotate(referrer_visible=Exists(visible.filter(pk=OuterRef("referred_by_id"))))
        )

    def filter_queryset(self, queryset):
        # Filters shape lists; a customer addressed by id is found whether archived or not.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        tags = data.pop("tags", ())
        if not roles.is_administrator(self.request.user):
            data.setdefault("account_manager", self.request.user)
        try:
            serializer.instance = services.customer_create(tags=tags, **data)
        except IntegrityError:
            # Lost a race with another request creating the same external id.
            raise _duplicate_external_id()

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        tags = data.pop("tags", None)
        try:
            serializer.instance, _changed = services.customer_update(customer=serializer.instance, tags=tags, **data)
        except IntegrityError:
            raise _duplicate_external_id()

    def perform_destroy(self, instance):
        services.customer_archive(customer=instance)

    @extend_schema(summary=_("Restore an archived customer"), request=None, responses=CustomerSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        customer = services.customer_restore(customer=self.get_object())
        return Response(self.get_serializer(customer).data)

    @extend_schema(
        summary=_("Read a customer by external id"),
        description=_("For integrations that know the shop's or billing system's key, not ours."),
        parameters=[OpenApiParameter("external_id", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses=CustomerSerializer,
    )
    @action(detail=False, methods=["get"], url_path=r"by-external-id/(?P<external_id>[^/]+)")
    def by_external_id(self, request, external_id=None):
        customer = get_object_or_404(self.get_queryset(), external_id=external_id)
        self.check_object_permissions(request, customer)
        return Response(self.get_serializer(customer).data, status=status.HTTP_200_OK)
