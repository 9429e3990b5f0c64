"""What every API endpoint shares: pagination, the error body, input and output, Idempotency-Key.

Every error answers with one shape::

    {"error": {"status": 400, "code": "invalid", "message": "…", "fields": {"email": ["…"]}}}

``fields`` is present for validation errors only.

One convention for input and output, in every app: what the client sends (body or query string)
is read by an ``InputSerializer`` subclass (unknown fields refused, errors flattened to dotted
names), validated with ``is_valid(raise_exception=True)``; the service is called with the
validated data; the answer is written by an output serializer (a ``ModelSerializer`` or a plain
``Serializer``). A viewset's POST does the same with ``CreateWithOutputMixin``.
"""

import hashlib
import json
from collections.abc import Mapping

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, filters, pagination, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from . import lists
from .models import IdempotencyKey


class CursorPagination(pagination.CursorPagination):
    """DRF's cursor pagination, its links and parameters, with a keyset behind it (retention_crm.lists):
    the order gets the primary key as tie-breaker and a cursor holds the whole position, so every
    page is one index range, however deep, and rows that share a value are never skipped."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None
        self.base_url = request.build_absolute_uri()
        self.order = lists.Order.of(queryset.model, self.get_ordering(request, queryset, view))
        cursor = request.query_params.get(self.cursor_query_param)
        try:
            where = lists.cursor_decode(self.order, cursor) if cursor else {}
        except lists.InvalidCursor:
            raise exceptions.NotFound(self.invalid_cursor_message) from None
        self.keyset_page = lists.page(queryset, self.order, size=self.page_size, **where)
        self.page = self.keyset_page.rows
        self.display_page_controls = self.keyset_page.has_next or self.keyset_page.has_previous
        return self.page

    def get_next_link(self):
        if not self.keyset_page.has_next:
            return None
        if self.keyset_page.next_after is None:  # the first page
            return remove_query_param(self.base_url, self.cursor_query_param)
        return self._link(after=self.keyset_page.next_after)

    def get_previous_link(self):
        if not self.keyset_page.has_previous:
            return None
        return self._link(before=self.keyset_page.previous_before)

    def _link(self, **position) -> str:
        cursor = lists.cursor_encode(self.order, **position)
        return replace_query_param(self.base_url, self.cursor_query_param, cursor)


class OrderingFilter(filters.OrderingFilter):
    """``?ordering=`` with one field: each field a list offers has an index that serves it (with
    the primary key as tie-breaker); a combination of fields would have none, so only the first counts."""

    def remove_invalid_fields(self, queryset, fields, view, request):
        return super().remove_invalid_fields(queryset, fields, view, request)[:1]


def _join(prefix: str, key) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    if key == api_settings.NON_FIELD_ERRORS_KEY and prefix:
        return prefix
    return f"{prefix}.{key}" if prefix else str(key)


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer errors as one level: ``{"lines[1].quantity": ["…"]}``.

    Without this, the error of a nested line would arrive as the text of a Python dict.
    """
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    if isinstance(detail, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            for name, messages in flatten_errors(value, _join(prefix, key)).items():
                flat.setdefault(name, []).extend(messages)
        return flat
    if isinstance(detail, list | tuple):
        if all(not isinstance(item, Mapping | list | tuple) for item in detail):
            return {prefix or non_field: [str(message) for message in detail]} if detail else {}
        flat = {}
        for index, item in enumerate(detail):
            for name, messages in flatten_errors(item, _join(prefix, index)).items():
                flat.setdefault(name, []).extend(messages)
        return flat
    return {prefix or non_field: [str(detail)]}


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


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    error = {"status": response.status_code, "code": "error", "message": ""}
    if isinstance(exc, exceptions.ValidationError):
        error["code"] = "invalid"
        error["message"] = _("Some of the data is not valid; see fields.")
        error["fields"] = flatten_errors(exc.detail)
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        error["code"] = codes if isinstance(codes, str) else "error"
        error["message"] = str(exc.detail) if not isinstance(exc.detail, dict | list) else str(exc)
    response.data = {"error": error}
    return response


def error_response(
    message: str, *, status_code: int = 400, code: str = "invalid", fields: dict | None = None
) -> Response:
    body = {"status": status_code, "code": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return Response({"error": body}, status=status_code)


def _request_hash(request) -> str:
    """What identifies a request body: its data, and the content (not just the name) of any file."""
    digest = hashlib.sha256(f"{request.method} {request.path}".encode())
    fields = {
        key: request.data.getlist(key) if hasattr(request.data, "getlist") else request.data[key]
        for key in request.data
        if key not in request.FILES
    }
    digest.update(json.dumps(fields, sort_keys=True, default=str).encode())
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            digest.update(name.encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


class IdempotentCreateMixin:
    """POST with an ``Idempotency-Key`` header: a retry returns the first answer, creating nothing.

    The key is scoped per user. Reusing a key for a different request body is refused (422), as
    it is almost always a client bug. Only successful answers are stored, so a request that failed
    validation can be corrected and retried with the same key.

    Retries that overlap (a client that timed out and sent again while the first was still being
    processed) wait for the first and replay its answer: the key is claimed, in the same
    transaction as the work, before the work starts. Until that transaction ends, a second
    request's claim waits on the unique index (PostgreSQL) or on the write lock (SQLite); then it
    finds the stored answer, or, if the first failed and its claim rolled back, does the work
    itself. A crashed request leaves no claim behind, since nothing of it was committed.
    """

    def create(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return super().create(request, *args, **kwargs)
        if len(key) > 255:
            return error_response(_("The Idempotency-Key header is longer than 255 characters."))
        digest = _request_hash(request)
        stored = IdempotencyKey.objects.filter(user=request.user, key=key).first()
        if stored is not None:
            return self._replay(stored, digest)
        try:
            with transaction.atomic():
                claim = IdempotencyKey.objects.create(
                    user=request.user,
                    key=key,
                    method=request.method,
                    path=request.path,
                    request_hash=digest,
                    status_code=0,  # in progress; nobody else can read the row before the answer is in it
                    body={},
                )
                response = super().create(request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    claim.status_code = response.status_code
                    claim.body = json.loads(json.dumps(response.data, default=str))
                    claim.save(update_fields=["status_code", "body"])
                else:
                    claim.delete()
        except IntegrityError:
            # An overlapping request with the same key finished first: answer as it did.
            stored = IdempotencyKey.objects.filter(user=request.user, key=key).first()
            if stored is None:
                raise
            return self._replay(stored, digest)
        return response

    @staticmethod
    def _replay(stored: IdempotencyKey, digest: str) -> Response:
        if stored.request_hash != digest:
            return error_response(
                _("This Idempotency-Key was already used for a different request."),
                status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
                code="idempotency_key_reused",
            )
        response = Response(stored.body, status=stored.status_code)
        response["Idempotent-Replayed"] = "true"
        return response


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


# --- The schema's error responses -------------------------------------------------------------------

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error of the API: exception_handler's shape.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "status": {"type": "integer"},
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "On a 400: what is wrong, by field (dotted names for nested ones).",
                },
            },
            "required": ["status", "code", "message"],
        }
    },
    "required": ["error"],
}
# What exception_handler (and the throttles, the idempotency keys and the id converters) answer on
# any operation: the schema says so once, here, rather than on each view.
ERROR_RESPONSES = {
    "400": "The request is not valid; `fields` says what is wrong.",
    "401": "No credentials, or credentials that are not valid.",
    "403": "The user's role does not allow this.",
    "404": "Nothing the user may see is there.",
    "429": "Too many requests, or a login locked out; Retry-After says when to try again.",
}
IDEMPOTENT_CONFLICT = "A request with the same Idempotency-Key is still being processed, or had other content."


def schema_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation documents the API's error responses
    in its error shape, so that a client (and schemathesis) knows every status code it may get."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status_code, description in ERROR_RESPONSES.items():
                responses.setdefault(status_code, {"description": description, "content": content})
            if any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", [])):
                responses.setdefault("409", {"description": IDEMPOTENT_CONFLICT, "content": content})
    return result
