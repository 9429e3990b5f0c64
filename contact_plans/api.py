"""API of the worklist, follow-ups, snoozes and book performance (mounted at /api/v1/).

The same rules as the screens: the worklist is the requesting account manager's (administrators
pass ?manager=); follow-ups and snoozes are written for customers the user may edit; a customer or
follow-up the user may not see answers 404, as if it did not exist.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, pagination, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, Throttled, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from customers import roles
from customers.models import Customer
from customers.selectors import account_manager_list, customer_can_edit, customer_editable_by, customer_visible_to
from metrics import api as metrics_api
from metrics.analytics import book
from metrics.models import BookRange, Level
from metrics.services import book as book_services
from retention_crm import dates
from retention_crm.api import CreateWithOutputMixin, IdempotentCreateMixin, InputSerializer
from retention_crm.ids import IdField

from . import selectors as followup_selectors
from . import services as contact_services
from . import worklist
from .models import FollowUp, WorklistSnooze

IDEMPOTENCY_HELP = _("Send a unique key to make a retry safe: the first answer is returned, nothing is created twice.")


# --- Worklist -----------------------------------------------------------------------------------


class WorklistQuerySerializer(InputSerializer):
    manager = serializers.IntegerField(required=False, help_text=_("Administrators: whose book (a user id)."))
    risk_level = serializers.ChoiceField(choices=Level.choices, required=False)
    value_level = serializers.ChoiceField(choices=Level.choices, required=False)
    with_reasons = serializers.BooleanField(required=False, default=False, help_text=_("Only rows with a reason."))
    include_snoozed = serializers.BooleanField(required=False, default=False)
    page = serializers.IntegerField(required=False, min_value=1)


class WorklistRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    external_id = serializers.CharField()
    name = serializers.CharField()
    company = serializers.CharField()
    priority = serializers.FloatField(source="wl_priority", help_text=_("Higher needs attention sooner."))
    value_level = serializers.CharField(source="wl_value_level", allow_null=True)
    risk_level = serializers.CharField(source="wl_risk_level", allow_null=True)
    churn_risk = serializers.FloatField(source="wl_churn_risk", allow_null=True)
    previous_churn_risk = serializers.FloatField(source="wl_previous_churn_risk", allow_null=True)
    last_purchase = serializers.DateField(source="last_purchase_on", allow_null=True)
    next_followup_at = serializers.DateTimeField(source="wl_next_followup", allow_null=True)
    snoozed_until = serializers.DateField(source="wl_snoozed_until", allow_null=True)
    last_contact_at = serializers.DateTimeField(
        source="wl_contact_at", allow_null=True, help_text=_("The last call or meeting logged.")
    )
    last_contact_kind = serializers.CharField(source="wl_contact_kind", allow_null=True)
    last_contact_by = serializers.CharField(source="wl_contact_by", allow_null=True)
    last_contact_outcome = serializers.CharField(source="wl_contact_outcome", allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())


class WorklistPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = WorklistRowSerializer(many=True)


class WorklistPagination(pagination.PageNumberPagination):
    # Numbered pages rather than the API's usual cursor: the order is a computed priority, not a column.
    page_size = worklist.PAGE_SIZE


class WorklistApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary=_("My worklist"),
        description=_(
            "The customers of your book, those needing attention first, each with the reasons. "
            "Ordered by last purchase until the first metrics recompute."
        ),
        parameters=[WorklistQuerySerializer],
        responses=WorklistPageSerializer,
    )
    def get(self, request):
        query = WorklistQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        try:
            manager = worklist.worklist_manager(viewer=request.user, manager_id=data.get("manager"))
        except worklist.WorklistNotAllowed:
            raise NotFound(_("No such worklist.")) from None
        if manager is None:
            raise ValidationError({"manager": [_("Give the id of the account manager whose book to list.")]})
        filters = worklist.WorklistFilters(
            risk_level=data.get("risk_level", ""),
            value_level=data.get("value_level", ""),
            with_reasons=data["with_reasons"],
            include_snoozed=data["include_snoozed"],
        )
        ranked = worklist.metrics_exist()
        shown = worklist.worklist_rows_queryset(viewer=request.user, manager=manager, ranked=ranked)
        customers = worklist.worklist_queryset(
            viewer=request.user, manager=manager, filters=filters, ranked=ranked, rows=shown
        )
        # Ranked on the keys, then the page's rows read whole (contact_plans.worklist.worklist_page_rows).
        paginator = WorklistPagination()
        keys = paginator.paginate_queryset(customers.values_list("pk", "wl_priority"), request, view=self)
        priorities = dict(keys)
        rows = worklist.rows_with_reasons(worklist.worklist_page_rows(shown, priorities, priorities))
        return paginator.get_paginated_response(WorklistRowSerializer(rows, many=True).data)


# --- Follow-ups ---------------------------------------------------------------------------------


class FollowUpSerializer(serializers.ModelSerializer):
    customer_id = serializers.IntegerField(read_only=True)
    assigned_to = serializers.SlugRelatedField(slug_field="username", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    plan_id = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text=_("The contact plan whose step created it; null when planned by hand."),
    )

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "customer_id",
            "assigned_to",
            "kind",
            "plan_id",
            "due_at",
            "note",
            "state",
            "outcome",
            "created_by",
            "created_at",
            "done_at",
            "cancelled_at",
        ]
        read_only_fields = fields


class FollowUpCreateSerializer(InputSerializer):
    customer_id = serializers.PrimaryKeyRelatedField(
        source="customer",
        queryset=Customer.objects.none(),
        help_text=_("Id of the customer."),
        error_messages={"does_not_exist": _("No customer has the id {pk_value}.")},
    )
    due_at = serializers.DateTimeField(validators=[dates.planned("due_at")], help_text=dates.HELP[dates.PLANNED])
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
    assigned_to = serializers.PrimaryKeyRelatedField(
        queryset=account_manager_list(),
        required=False,
        help_text=_("User id of an account manager; the customer's account manager (or you) when left out."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["customer_id"].queryset = customer_visible_to(request.user)

    def validate_due_at(self, value):
        if timezone.localdate(value) < timezone.localdate():
            raise serializers.ValidationError(_("Choose a time from today on."))
        return value


class FollowUpFilterSerializer(InputSerializer):
    state = serializers.ChoiceField(choices=FollowUp.State.choices, required=False)
    customer_id = IdField(required=False)
    mine = serializers.BooleanField(required=False, default=False, help_text=_("Only those assigned to you."))
    cursor = serializers.CharField(required=False)


class FollowUpPagination(pagination.CursorPagination):
    ordering = ("due_at", "id")


@extend_schema_view(
    list=extend_schema(summary=_("List follow-ups"), parameters=[FollowUpFilterSerializer]),
    retrieve=extend_schema(summary=_("Read a follow-up")),
    create=extend_schema(
        summary=_("Schedule a follow-up"),
        request=FollowUpCreateSerializer,
        responses={201: FollowUpSerializer},
        description=IDEMPOTENCY_HELP,
    ),
)
class FollowUpViewSet(
    IdempotentCreateMixin,
    CreateWithOutputMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Follow-ups of the customers you may see, soonest first; you change those of customers you may edit.

    Who may see a customer but not edit it (a marketer) gets 403 on a change; anyone else 404 (or,
    for a new follow-up, "no customer has the id"), as if the customer did not exist.
    """

    serializer_class = FollowUpSerializer
    input_serializer_class = FollowUpCreateSerializer
    permission_classes = [permissions.IsAuthenticated]
    pagination_class = FollowUpPagination
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "action", None) == "list":
            query = FollowUpFilterSerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            return followup_selectors.followup_list(
                user=self.request.user,
                state=query.validated_data.get("state"),
                customer_id=query.validated_data.get("customer_id"),
                mine=query.validated_data["mine"],
            )
        return followup_selectors.followup_visible_to(self.request.user).select_related("assigned_to", "created_by")

    def perform_create(self, serializer) -> FollowUp:
        data = serializer.validated_data
        customer = data["customer"]
        user = self.request.user
        if not customer_can_edit(user=user, customer=customer):
            raise PermissionDenied(_("You can see this customer but not plan contacts with them."))
        assigned_to = data.get("assigned_to") or customer.account_manager or user
        if assigned_to != user and not roles.is_administrator(user):
            raise ValidationError({"assigned_to": [_("You can assign a follow-up to yourself only.")]})
        return contact_services.followup_schedule(
            customer=customer, assigned_to=assigned_to, due_at=data["due_at"], note=data["note"], created_by=user
        )

    def _close(self, request, service):
        followup = self.get_object()
        if not customer_can_edit(user=request.user, customer=followup.customer):
            raise PermissionDenied(_("You can see this customer but not change their follow-ups."))
        try:
            followup = service(followup=followup)
        except DjangoValidationError as exc:
            raise ValidationError({"state": exc.messages}) from None
        return Response(FollowUpSerializer(followup).data)

    @extend_schema(summary=_("Mark a follow-up done"), request=None, responses=FollowUpSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._close(request, contact_services.followup_complete)

    @extend_schema(summary=_("Cancel a follow-up"), request=None, responses=FollowUpSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._close(request, contact_services.followup_cancel)


# --- Snoozes ------------------------------------------------------------------------------------


class SnoozeCreateSerializer(InputSerializer):
    customer_id = serializers.PrimaryKeyRelatedField(
        source="customer",
        queryset=Customer.objects.none(),
        error_messages={"does_not_exist": _("No customer has the id {pk_value}.")},
    )
    until = serializers.DateField(
        validators=[dates.planned("until")],
        help_text=format_lazy(
            "{} {}", _("The customer is back on the worklist on this day."), dates.HELP[dates.PLANNED]
        ),
    )
    reason = serializers.CharField(max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["customer_id"].queryset = customer_visible_to(request.user)


class SnoozeSerializer(serializers.ModelSerializer):
    customer_id = serializers.IntegerField(read_only=True)
    user = serializers.SlugRelatedField(slug_field="username", read_only=True, help_text=_("Whose worklist."))

    class Meta:
        model = WorklistSnooze
        fields = ["id", "customer_id", "user", "until", "reason", "created_at"]
        read_only_fields = fields


class SnoozeCreateApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary=_("Snooze a worklist row"),
        description=_(
            "Hide a customer from their account manager's worklist until a day; a new snooze replaces the open one."
        ),
        request=SnoozeCreateSerializer,
        responses={201: SnoozeSerializer},
    )
    def post(self, request):
        serializer = SnoozeCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        customer = data["customer"]
        if not customer_editable_by(request.user).filter(pk=customer.pk).exists():
            raise PermissionDenied(_("You can see this customer but not change their worklist."))
        if customer.account_manager is None:
            raise ValidationError({"customer_id": [_("This customer is in nobody's book.")]})
        try:
            snooze = contact_services.worklist_snooze(
                customer=customer,
                user=customer.account_manager,
                until=data["until"],
                reason=data["reason"],
                created_by=request.user,
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return Response(SnoozeSerializer(snooze).data, status=status.HTTP_201_CREATED)


# --- Book performance ---------------------------------------------------------------------------


class BookQuerySerializer(InputSerializer):
    start = serializers.DateField(
        required=False, help_text=_("First day; with end. Default: the last complete quarter.")
    )
    end = serializers.DateField(required=False, help_text=_("The day after the last day (the period is [start, end))."))

    def validate(self, attrs):
        if ("start" in attrs) != ("end" in attrs):
            raise serializers.ValidationError({"end": [_("Give both start and end, or neither.")]})
        if "start" in attrs:
            try:
                attrs["period"] = book.period_custom(attrs["start"], attrs["end"])
            except book.PeriodEmpty:
                raise serializers.ValidationError({"end": [_("The end must be after the start.")]}) from None
            except book.PeriodTooLong:
                raise serializers.ValidationError({"end": [_("Choose a period of at most two years.")]}) from None
        else:
            attrs["period"] = book.period_default(timezone.localdate())
        return attrs


# A client refused because too many ranges are being computed is asked to come back this much later.
BOOK_RANGES_BUSY_SECONDS = 60


class BookPerformanceApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary=_("Book performance"),
        description=_(
            "Retention, churn, net revenue retention, upsell and revenue of each account manager's book "
            "over [start, end), and of the whole base. Account managers get their own book only, unless "
            "every book is open to them. The months, quarters and years of the page's picker are served "
            "from what the nightly run computed (200). Any other range is computed by a worker: the first "
            "request answers 202 with the job (Location: the job to poll, which carries the report once "
            "it has succeeded), and every request for the range until the next nightly run answers 200. "
            "While ten ranges are being computed, a new one answers 429 (Retry-After)."
        ),
        parameters=[BookQuerySerializer],
        responses={
            200: OpenApiResponse(metrics_api.BookReportSerializer, description=_("The report.")),
            202: OpenApiResponse(
                metrics_api.BookRangeSerializer,
                description=_("Being computed: the job, also in the Location header. Poll it, or ask again later."),
            ),
        },
    )
    def get(self, request):
        if not roles.has_any_role(request.user):
            raise NotFound(_("No such report."))
        query = BookQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            answer = book_services.book_range_report(user=request.user, period=query.validated_data["period"])
        except book_services.BookRangesBusy:
            raise Throttled(
                wait=BOOK_RANGES_BUSY_SECONDS,
                detail=str(_("Too many ranges are being computed; ask again in a minute.")),
            ) from None
        if isinstance(answer, BookRange):
            body = metrics_api.BookRangeSerializer(answer, context={"request": request}).data
            headers = {"Location": body["links"]["status"], "Retry-After": "5"}
            return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)
        return Response(metrics_api.book_report_data(answer))
