"""API of contact plans (mounted at /api/v1/): plans with their steps (CRUD, results, enrolling a
segment), enrolments (list, enrol a customer, end), and plans' tasks (list, complete with an outcome).

The same rules as the pages: every role reads plans; marketers and administrators write them (403
for an account manager, 404 for anyone without a role). Enrolments and tasks are those of the
customers the user may see (customers.selectors); a customer or row the user may not see answers as
if it did not exist. Errors come in the API's one shape, by field (``steps.1.template``).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

from customers import roles
from customers.selectors import customer_can_edit, customer_visible_to
from retention_crm.api import CreateWithOutputMixin, CursorPagination, IdempotentCreateMixin, InputSerializer
from retention_crm.ids import IdField
from segmentation.models import Segment

from ..models import ContactPlan, Enrolment, FollowUp, PlanStep
from ..models.plans import MAX_CONTROL_PERCENT, MAX_DELAY_DAYS, MAX_STEPS
from ..services import followup_complete
from . import results, selectors, services
from .validation import StepData, plan_problems

IDEMPOTENCY_HELP = _("Send a unique key to make a retry safe: the first answer is returned, nothing is created twice.")


def _service_errors(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})


# --- Plans ----------------------------------------------------------------------------------------


class StepInputSerializer(InputSerializer):
    kind = serializers.ChoiceField(choices=PlanStep.Kind.choices)
    delay_days = serializers.IntegerField(min_value=0, max_value=MAX_DELAY_DAYS, default=0)
    template_id = IdField(required=False, allow_null=True, help_text=_("A message template of the step's channel."))
    task_kind = serializers.ChoiceField(choices=PlanStep.TaskKind.choices, required=False, allow_blank=True, default="")
    task_note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    task_due_days = serializers.IntegerField(min_value=0, max_value=90, default=3)
    conditions = serializers.JSONField(
        required=False,
        default=dict,
        help_text=_('A segment-builder definition ({"op": "and", "rules": [...]}) or a list of rules; empty: none.'),
    )
    unless_purchased = serializers.BooleanField(required=False, default=False)
    branches = serializers.JSONField(
        required=False,
        default=dict,
        help_text=_('Task outcome -> "end" or a later step\'s position, e.g. {"not_interested": "end"}.'),
    )


class PlanInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    purpose = serializers.ChoiceField(choices=ContactPlan.Purpose.choices, default=ContactPlan.Purpose.PROMOTIONAL)
    trigger = serializers.ChoiceField(choices=ContactPlan.Trigger.choices)
    trigger_days = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_DELAY_DAYS)
    trigger_segment_id = IdField(required=False, allow_null=True)
    goal = serializers.ChoiceField(choices=ContactPlan.Goal.choices, required=False, allow_blank=True, default="")
    reenrol = serializers.ChoiceField(choices=ContactPlan.Reenrol.choices, default=ContactPlan.Reenrol.NEVER)
    reenrol_days = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=3650)
    control_percent = serializers.IntegerField(min_value=0, max_value=MAX_CONTROL_PERCENT, default=10)
    is_active = serializers.BooleanField(default=True)
    steps = StepInputSerializer(many=True, max_length=MAX_STEPS)

    def service_args(self) -> tuple[dict, list[StepData]]:
        data = dict(self.validated_data)
        steps = [
            StepData(
                kind=step["kind"],
                delay_days=step["delay_days"],
                template=step.get("template_id"),
                task_kind=step["task_kind"],
                task_note=step["task_note"],
                task_due_days=step["task_due_days"],
                conditions=step["conditions"],
                unless_purchased=step["unless_purchased"],
                branches=step["branches"],
            )
            for step in data.pop("steps")
        ]
        data["trigger_segment"] = data.pop("trigger_segment_id", None)
        return data, steps


class StepSerializer(serializers.ModelSerializer):
    template_id = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta:
        model = PlanStep
        fields = [
            "id",
            "position",
            "kind",
            "delay_days",
            "template_id",
            "task_kind",
            "task_note",
            "task_due_days",
            "conditions",
            "unless_purchased",
            "branches",
        ]
        read_only_fields = fields


class PlanSerializer(serializers.ModelSerializer):
    trigger_segment_id = serializers.IntegerField(allow_null=True, read_only=True)
    steps = serializers.SerializerMethodField()
    problems = serializers.SerializerMethodField(help_text=_("What stops the plan from running now (empty: nothing)."))

    class Meta:
        model = ContactPlan
        fields = [
            "id",
            "key",
            "name",
            "description",
            "purpose",
            "trigger",
            "trigger_days",
            "trigger_segment_id",
            "goal",
            "reenrol",
            "reenrol_days",
            "control_percent",
            "is_active",
            "steps",
            "problems",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(StepSerializer(many=True))
    def get_steps(self, plan) -> list[dict]:
        return StepSerializer(plan.steps.order_by("position"), many=True).data

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_problems(self, plan) -> list[str]:
        return plan_problems(plan)


class PlanPagination(CursorPagination):
    ordering = "-id"


class SegmentEnrolInputSerializer(InputSerializer):
    segment_id = IdField(help_text=_("The segment whose current members to enrol."))


class SegmentEnrolResultSerializer(serializers.Serializer):
    members = serializers.IntegerField()
    enrolled = serializers.IntegerField(help_text=_("Enrolments created, the control group included."))
    control = serializers.IntegerField(help_text=_("Held out at random, never contacted."))
    left_out = serializers.IntegerField(
        help_text=_("Already in the plan, no consent for a promotional plan, or kept out by the re-enrolment rule.")
    )


class UpliftSerializer(serializers.Serializer):
    treated = serializers.IntegerField()
    treated_converted = serializers.IntegerField()
    control = serializers.IntegerField()
    control_converted = serializers.IntegerField()
    treated_rate = serializers.FloatField(allow_null=True)
    control_rate = serializers.FloatField(allow_null=True)
    difference = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(
        allow_null=True, help_text=_("The low end of the difference's 95 percent confidence interval (Newcombe).")
    )
    high = serializers.FloatField(allow_null=True)


class StepResultSerializer(serializers.Serializer):
    step_id = serializers.IntegerField(source="step.pk")
    position = serializers.IntegerField(source="step.position")
    kind = serializers.CharField(source="step.kind")
    ran = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    messages = serializers.DictField(child=serializers.IntegerField(), help_text=_("Messages by state."))
    suppressed_reasons = serializers.DictField(child=serializers.IntegerField())
    tasks = serializers.IntegerField()
    tasks_done = serializers.IntegerField()
    tasks_on_time = serializers.IntegerField()
    outcomes = serializers.DictField(child=serializers.IntegerField())


class PlanResultsSerializer(serializers.Serializer):
    enrolled = serializers.IntegerField()
    control = serializers.IntegerField()
    open = serializers.IntegerField()
    unsubscribed = serializers.IntegerField()
    sent = serializers.IntegerField()
    suppressed = serializers.IntegerField()
    failed = serializers.IntegerField()
    tasks = serializers.IntegerField()
    tasks_done_on_time = serializers.IntegerField()
    purchased_within_30_days = UpliftSerializer(source="uplift")
    steps = StepResultSerializer(many=True)


@extend_schema_view(
    list=extend_schema(summary=_("List contact plans")),
    retrieve=extend_schema(summary=_("Read a contact plan")),
    create=extend_schema(
        summary=_("Create a contact plan"),
        request=PlanInputSerializer,
        responses={201: PlanSerializer},
        description=IDEMPOTENCY_HELP,
    ),
    update=extend_schema(summary=_("Change a contact plan"), request=PlanInputSerializer, responses=PlanSerializer),
    destroy=extend_schema(summary=_("Delete a contact plan that never enrolled anyone")),
)
class PlanViewSet(
    IdempotentCreateMixin,
    CreateWithOutputMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Contact plans with their steps: every role reads; marketers and administrators write."""

    serializer_class = PlanSerializer
    input_serializer_class = PlanInputSerializer
    permission_classes = [permissions.IsAuthenticated]
    pagination_class = PlanPagination
    filter_backends: list = []
    http_method_names = ["get", "post", "put", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.plan_visible_to(self.request.user).prefetch_related("steps")

    def _editor_only(self) -> None:
        if not selectors.plan_can_edit(self.request.user):
            raise PermissionDenied(_("Marketers and administrators change plans; you may read them."))

    def perform_create(self, serializer) -> ContactPlan:
        self._editor_only()
        data, steps = serializer.service_args()
        try:
            return services.plan_save(data=data, steps=steps, user=self.request.user)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None

    def update(self, request, *args, **kwargs):
        plan = self.get_object()
        self._editor_only()
        serializer = PlanInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data, steps = serializer.service_args()
        try:
            plan = services.plan_save(data=data, steps=steps, plan=plan, user=request.user)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return Response(PlanSerializer(plan).data)

    def destroy(self, request, *args, **kwargs):
        plan = self.get_object()
        self._editor_only()
        try:
            services.plan_delete(plan=plan)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary=_("Results of a contact plan"), responses=PlanResultsSerializer)
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        return Response(PlanResultsSerializer(results.plan_results(plan=self.get_object())).data)

    @extend_schema(
        summary=_("Enrol a segment's members in a contact plan"),
        request=SegmentEnrolInputSerializer,
        responses={201: SegmentEnrolResultSerializer},
    )
    @action(detail=True, methods=["post"], url_path="enrol-segment")
    def enrol_segment(self, request, pk=None):
        plan = self.get_object()
        self._editor_only()
        serializer = SegmentEnrolInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        segment = Segment.objects.filter(pk=serializer.validated_data["segment_id"]).first()
        if segment is None:
            raise ValidationError({"segment_id": [_("No segment has this id.")]})
        try:
            counts = services.segment_enrol(plan=plan, segment=segment, user=request.user)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return Response(SegmentEnrolResultSerializer(counts).data, status=status.HTTP_201_CREATED)


# --- Enrolments -----------------------------------------------------------------------------------


class EnrolmentSerializer(serializers.ModelSerializer):
    plan_id = serializers.IntegerField(read_only=True)
    customer_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Enrolment
        fields = [
            "id",
            "plan_id",
            "customer_id",
            "state",
            "is_control",
            "source",
            "enrolled_at",
            "next_position",
            "next_due_at",
            "ended_at",
            "end_reason",
        ]
        read_only_fields = fields


class EnrolmentCreateSerializer(InputSerializer):
    plan_id = IdField()
    customer_id = IdField()


class EnrolmentFilterSerializer(InputSerializer):
    plan_id = IdField(required=False)
    customer_id = IdField(required=False)
    state = serializers.ChoiceField(choices=Enrolment.State.choices, required=False)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)


class EnrolmentPagination(CursorPagination):
    ordering = "-id"


@extend_schema_view(
    list=extend_schema(summary=_("List plan enrolments"), parameters=[EnrolmentFilterSerializer]),
    retrieve=extend_schema(summary=_("Read a plan enrolment")),
    create=extend_schema(
        summary=_("Enrol a customer in a contact plan"),
        request=EnrolmentCreateSerializer,
        responses={201: EnrolmentSerializer},
        description=IDEMPOTENCY_HELP,
    ),
)
class EnrolmentViewSet(
    IdempotentCreateMixin,
    CreateWithOutputMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Enrolments of the customers you may see, newest first."""

    serializer_class = EnrolmentSerializer
    input_serializer_class = EnrolmentCreateSerializer
    permission_classes = [permissions.IsAuthenticated]
    pagination_class = EnrolmentPagination
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "action", None) == "list":
            query = EnrolmentFilterSerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            data = query.validated_data
            return selectors.enrolment_list(
                user=self.request.user,
                plan_id=data.get("plan_id"),
                customer_id=data.get("customer_id"),
                state=data.get("state", ""),
            )
        return selectors.enrolment_visible_to(self.request.user)

    def perform_create(self, serializer) -> Enrolment:
        user = self.request.user
        if not roles.has_any_role(user):
            raise NotFound()
        data = serializer.validated_data
        plan = selectors.plan_visible_to(user).filter(pk=data["plan_id"]).first()
        if plan is None:
            raise ValidationError({"plan_id": [_("No plan has this id.")]})
        customer = customer_visible_to(user).filter(pk=data["customer_id"]).first()
        if customer is None:
            raise ValidationError({"customer_id": [_("No customer has this id.")]})
        if not selectors.customer_may_enrol(user=user, customer=customer):
            raise PermissionDenied(_("You can see this customer but not enrol them."))
        try:
            return services.enrolment_create(plan=plan, customer=customer, user=user)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None

    @extend_schema(summary=_("End a plan enrolment"), request=None, responses=EnrolmentSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        enrolment = self.get_object()
        if not selectors.enrolment_may_change(user=request.user, enrolment=enrolment):
            raise PermissionDenied(_("You can see this enrolment but not end it."))
        services.enrolment_end(enrolment=enrolment)
        return Response(EnrolmentSerializer(enrolment).data)


# --- Plans' tasks ---------------------------------------------------------------------------------


class TaskSerializer(serializers.ModelSerializer):
    customer_id = serializers.IntegerField(read_only=True)
    plan_id = serializers.IntegerField(read_only=True)
    plan_step_id = serializers.IntegerField(read_only=True, allow_null=True)
    enrolment_id = serializers.IntegerField(read_only=True, allow_null=True)
    assigned_to = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "customer_id",
            "plan_id",
            "plan_step_id",
            "enrolment_id",
            "kind",
            "assigned_to",
            "due_at",
            "note",
            "state",
            "outcome",
            "done_at",
            "cancelled_at",
        ]
        read_only_fields = fields


class TaskFilterSerializer(InputSerializer):
    state = serializers.ChoiceField(choices=FollowUp.State.choices, required=False)
    plan_id = IdField(required=False)
    mine = serializers.BooleanField(required=False, default=False, help_text=_("Only those assigned to you."))
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)


class TaskCompleteSerializer(InputSerializer):
    outcome = serializers.ChoiceField(
        choices=FollowUp.Outcome.choices, help_text=_("How it went: the plan may end or branch on it.")
    )


class TaskPagination(CursorPagination):
    ordering = ("due_at", "id")


@extend_schema_view(
    list=extend_schema(summary=_("List plans' tasks"), parameters=[TaskFilterSerializer]),
    retrieve=extend_schema(summary=_("Read a plan's task")),
)
class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Tasks that contact plans gave account managers (follow-ups with a plan), soonest first."""

    serializer_class = TaskSerializer
    permission_classes = [permissions.IsAuthenticated]
    pagination_class = TaskPagination
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "action", None) == "list":
            query = TaskFilterSerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            data = query.validated_data
            return selectors.task_list(
                user=self.request.user, state=data.get("state", ""), plan_id=data.get("plan_id"), mine=data["mine"]
            )
        return selectors.task_list(user=self.request.user)

    @extend_schema(
        summary=_("Complete a plan's task with its outcome"), request=TaskCompleteSerializer, responses=TaskSerializer
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        task = self.get_object()
        if not customer_can_edit(user=request.user, customer=task.customer):
            raise PermissionDenied(_("You can see this customer but not change their tasks."))
        serializer = TaskCompleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            task = followup_complete(followup=task, outcome=serializer.validated_data["outcome"])
        except DjangoValidationError as exc:
            raise ValidationError({"state": exc.messages}) from None
        return Response(TaskSerializer(task).data)
