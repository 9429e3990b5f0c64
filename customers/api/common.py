"""What the customers API modules share: the write rule, role permissions and the CSV renderer.

Strict input (InputSerializer) and POST answered with the output serializer (CreateWithOutputMixin)
are every app's: retention_crm.api."""

from django.utils.translation import gettext_lazy
from rest_framework import permissions, renderers
from rest_framework.settings import api_settings

from .. import roles, selectors
from ..models import Customer

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


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
        return roles.has_any_role(request.user)


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
        # An error body reaching a CSV client is JSON, and says so.
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return renderers.JSONRenderer().render(data)
