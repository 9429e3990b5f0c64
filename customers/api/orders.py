"""Orders: list and read with their lines; create with lines; refund and cancel."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.validators import UniqueValidator

from retention_crm.api import IdempotentCreateMixin

from .. import selectors, services
from ..filters import OrderFilter
from ..models import Customer, Order, OrderLine, Product
from .common import CreateWithOutputMixin, CustomerDataPermission, InputSerializer

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=_("A retry with the same key returns the first answer and creates nothing."),
)


class OrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)

    class Meta:
        model = OrderLine
        fields = ["line_number", "sku", "product_name", "quantity", "unit_price", "amount"]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    customer = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "external_id",
            "customer",
            "customer_id",
            "ordered_at",
            "currency",
            "kind",
            "status",
            "gross_amount",
            "refunded_amount",
            "net_amount",
            "lines",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class OrderLineInputSerializer(InputSerializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(
        max_length=255, required=False, help_text=_("Needed only when the SKU is new: the product is created.")
    )
    # Far beyond any real order line, and well inside the 32-bit column.
    quantity = serializers.IntegerField(
        min_value=-1_000_000,
        max_value=1_000_000,
        help_text=_("Positive on a purchase; the sign is ignored on a refund."),
    )
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=0)


class OrderCreateSerializer(InputSerializer):
    """An order to record: customer by external id, lines by SKU."""

    external_id = serializers.CharField(
        max_length=64,
        validators=[
            UniqueValidator(queryset=Order.objects.all(), message=_("An order with this external id already exists."))
        ],
    )
    customer = serializers.SlugRelatedField(
        slug_field="external_id",
        queryset=Customer.objects.none(),
        help_text=_("External id of the customer."),
        error_messages={"does_not_exist": _("No customer has the external id “{value}”.")},
    )
    ordered_at = serializers.DateTimeField()
    currency = serializers.CharField(
        default=settings.WORKSPACE_CURRENCY,
        validators=[RegexValidator(r"^[A-Z]{3}\Z", _("Use a three-letter ISO 4217 code such as GBP."))],
    )
    kind = serializers.ChoiceField(choices=Order.Kind.choices, default=Order.Kind.PURCHASE)
    status = serializers.ChoiceField(choices=Order.Status.choices, default=Order.Status.PLACED)
    lines = OrderLineInputSerializer(many=True, allow_empty=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["customer"].queryset = selectors.customer_visible_to(request.user)

    def validate(self, attrs):
        errors = {}
        skus = {line["sku"] for line in attrs["lines"]}
        known = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
        for index, line in enumerate(attrs["lines"]):
            if line["quantity"] == 0:
                errors[f"lines[{index}].quantity"] = [_("The quantity cannot be zero.")]
            elif line["quantity"] < 0 and attrs["kind"] == Order.Kind.PURCHASE:
                errors[f"lines[{index}].quantity"] = [_("The quantity must be positive on a purchase.")]
            if line["sku"] not in known and not line.get("name"):
                errors[f"lines[{index}].sku"] = [
                    _("No product has the SKU “%(sku)s”; give the line a name to create it.") % {"sku": line["sku"]}
                ]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class OrderRefundSerializer(InputSerializer):
    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("How much was given back; the whole order when left out."),
    )


@extend_schema_view(
    list=extend_schema(summary=_("List orders")),
    retrieve=extend_schema(summary=_("Read an order with its lines")),
    create=extend_schema(
        summary=_("Record an order with its lines"),
        description=_("A line with an unknown SKU and a name creates the product."),
        parameters=[IDEMPOTENCY_KEY],
        request=OrderCreateSerializer,
        responses={201: OrderSerializer},
    ),
)
class OrderViewSet(
    IdempotentCreateMixin,
    CreateWithOutputMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = OrderSerializer
    input_serializer_class = OrderCreateSerializer
    permission_classes = [IsAuthenticated, CustomerDataPermission]
    filterset_class = OrderFilter
    # Each ordering has its index over ten million orders (lists read one in the order they return):
    # the date and the id (the order of creation). Sorting by amount has none, so it is not offered.
    ordering_fields = ["id", "ordered_at"]
    ordering = ["-ordered_at", "-id"]

    def get_queryset(self):
        lines = OrderLine.objects.select_related("product").order_by("line_number")
        return (
            selectors.order_visible_to(self.request.user)
            .select_related("customer")
            .prefetch_related(Prefetch("lines", queryset=lines))
        )

    def perform_create(self, serializer):
        data = serializer.validated_data
        if not selectors.customer_can_edit(user=self.request.user, customer=data["customer"]):
            raise PermissionDenied(_("You can see this customer but not record orders for them."))
        try:
            with transaction.atomic():
                lines = [
                    {
                        "product": services.product_get_or_create(sku=line["sku"], name=line.get("name", "")),
                        "quantity": line["quantity"],
                        "unit_price": line["unit_price"],
                    }
                    for line in data["lines"]
                ]
                order = services.order_create(
                    external_id=data["external_id"],
                    customer=data["customer"],
                    ordered_at=data["ordered_at"],
                    lines=lines,
                    currency=data["currency"],
                    kind=data["kind"],
                    status=data["status"],
                )
        except IntegrityError:
            # Lost a race with another request recording the same order.
            raise serializers.ValidationError({"external_id": [_("An order with this external id already exists.")]})
        return self.get_queryset().get(pk=order.pk)

    @extend_schema(summary=_("Refund an order, in full or in part"), request=OrderRefundSerializer)
    @action(detail=True, methods=["post"])
    def refund(self, request, pk=None):
        order = self.get_object()
        serializer = OrderRefundSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        amount = serializer.validated_data.get("amount")
        if order.kind != Order.Kind.PURCHASE or order.status == Order.Status.CANCELLED:
            raise serializers.ValidationError(_("Only a purchase that was not cancelled can be refunded."))
        if amount is not None and amount > order.gross_amount:
            raise serializers.ValidationError({"amount": [_("The refund cannot be more than the order's amount.")]})
        services.order_set_status(order=order, status=Order.Status.REFUNDED, refunded_amount=amount)
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(summary=_("Cancel an order"), request=None)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        order = self.get_object()
        services.order_set_status(order=order, status=Order.Status.CANCELLED)
        return Response(self.get_serializer(self.get_object()).data)
