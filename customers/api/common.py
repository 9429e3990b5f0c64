"""What the customers API modules share: strict input, flat error keys and the write rule."""

from collections.abc import Mapping

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import permissions, renderers, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings

from retention_crm.api import flatten_errors

from .. import roles, selectors
from ..models import Customer

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


class FlatErrorsMixin:
    # is_valid(raise_exception=True) raises the errors flattened, with dotted field names.
    # (A comment, not a docstring: drf-spectacular would show it as every serializer's description.)

    def is_valid(self, *, raise_exception=False):
        valid = super().is_valid(raise_exception=False)
        if not valid and raise_exception:
            raise serializers.ValidationError(flatten_errors(self.errors))
        return valid


class StrictFieldsMixin:
    # Refuse fields the serializer does not know: a typo ("emial") must not pass silently.

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, Mapping) else []
        errors = {name: [_("Unknown field.")] for name in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not errors or not isinstance(exc.detail, Mapping):
                raise
            raise serializers.ValidationError({**exc.detail, **errors})
        if errors:
            raise serializers.ValidationError(errors)
        return value


class InputSerializer(StrictFieldsMixin, FlatErrorsMixin, serializers.Serializer):
    pass


def customer_of(obj) -> Customer:
    return obj if isinstance(obj, Customer) else obj.customer


def can_write(user) -> bool:
    """Roles that may write customer data at all; which customers is the object check's business."""
    return roles.is_administrator(user) or roles.is_account_manager(user)


class CustomerDataPermission(permissions.BasePermission):
    """Reads follow visibility (the querysets); writes need a customer the user may edit.

    Objects outside visibility never reach the object check: ``get_object`` answers 404 first,
    so a stranger learns nothing. A customer the user can see but not edit answers 403.
    """

    message = gettext_lazy("You can see this customer's data but not change it.")

    def has_permission(self, request, view):
        if getattr(view, "action", None) == "create":
            return can_write(request.user)
        return True

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        return selectors.customer_can_edit(user=request.user, customer=customer_of(obj))


class HasAnyRole(permissions.BasePermission):
    message = gettext_lazy("Your account has no role in this CRM.")

    def has_permission(self, request, view):
        user = request.user
        return roles.is_administrator(user) or roles.is_account_manager(user) or roles.is_marketer(user)


class AdministratorWrites(permissions.BasePermission):
    message = gettext_lazy("Only administrators can change this.")

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or roles.is_administrator(request.user)


class CanImport(permissions.BasePermission):
    message = gettext_lazy("Only administrators and account managers can import data.")

    def has_permission(self, request, view):
        return can_write(request.user)


class CSVRenderer(renderers.BaseRenderer):
    """Lets a client ask for ``Accept: text/csv``; the CSV views answer with an HttpResponse."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str | bytes):
            return data
        # An error body reaching a CSV client is still readable as JSON text.
        return renderers.JSONRenderer().render(data)


class CreateWithOutputMixin:
    """POST validated by ``input_serializer_class``, answered with ``serializer_class``.

    ``perform_create`` returns the created object. Sits under ``IdempotentCreateMixin`` in the
    class bases, so a replayed request never reaches it.
    """

    input_serializer_class: type[serializers.Serializer]

    def get_serializer_class(self):
        if getattr(self, "action", None) == "create":
            return self.input_serializer_class
        return super().get_serializer_class()

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = self.perform_create(serializer)
        output = self.serializer_class(instance, context=self.get_serializer_context())
        return Response(output.data, status=status.HTTP_201_CREATED)
