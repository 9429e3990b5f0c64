"""Products: readable by every role, written by administrators (also as an upsert by SKU)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.validators import UniqueValidator

from retention_crm.api import FlatErrorsMixin, StrictFieldsMixin

from ..filters import ProductFilter
from ..models import Product
from .common import AdministratorWrites, HasAnyRole


class ProductSerializer(StrictFieldsMixin, FlatErrorsMixin, serializers.ModelSerializer):
    """A product of the catalogue; margin is a share of the price, 0 to 1."""

    class Meta:
        model = Product
        fields = ["id", "sku", "name", "category", "margin"]
        read_only_fields = ["id"]
        extra_kwargs = {
            "sku": {
                "validators": [
                    UniqueValidator(
                        queryset=Product.objects.all(), message=_("A product with this SKU already exists.")
                    )
                ]
            },
            "margin": {"min_value": 0, "max_value": 1},
        }


class ProductUpsertSerializer(ProductSerializer):
    class Meta(ProductSerializer.Meta):
        fields = ["id", "name", "category", "margin"]


@extend_schema_view(
    list=extend_schema(summary=_("List products")),
    retrieve=extend_schema(summary=_("Read a product")),
    create=extend_schema(summary=_("Create a product (administrators)")),
    update=extend_schema(summary=_("Replace a product (administrators)")),
    partial_update=extend_schema(summary=_("Change a product (administrators)")),
)
class ProductViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Plain CRUD on the catalogue; products are never deleted as order lines point at them."""

    queryset = Product.objects.all()
    serializer_class = ProductSerializer
    permission_classes = [IsAuthenticated, HasAnyRole, AdministratorWrites]
    filterset_class = ProductFilter
    search_fields = ["sku", "name"]
    ordering_fields = ["id", "sku", "name"]
    ordering = ["sku"]

    @extend_schema(
        summary=_("Create or replace a product by SKU (administrators)"),
        parameters=[OpenApiParameter("sku", OpenApiTypes.STR, OpenApiParameter.PATH)],
        request=ProductUpsertSerializer,
        responses={
            200: OpenApiResponse(ProductSerializer, description=_("Updated.")),
            201: OpenApiResponse(ProductSerializer, description=_("Created.")),
        },
    )
    @action(detail=False, methods=["put"], url_path=r"by-sku/(?P<sku>[^/]+)")
    def by_sku(self, request, sku=None):
        product = Product.objects.filter(sku=sku).first()
        created = product is None
        serializer = ProductUpsertSerializer(product, data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        product = serializer.save(sku=sku) if created else serializer.save()
        return Response(
            ProductSerializer(product).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
