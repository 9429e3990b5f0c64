"""The API of "bought together" (metrics.recommendations), mounted at /api/v1/ by retention_crm.urls:

- ``GET /api/v1/customers/<id>/recommendations/``: what to offer a customer the user may see (others:
  404, as if they did not exist);
- ``GET /api/v1/products/<id>/related/``: the products bought with a product. Every role reads the
  catalogue, and these are counts over all baskets, never any customer's.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import Product
from customers.selectors import customer_visible_to
from retention_crm.api import InputSerializer

from . import conf, recommendations
from .api import HasMetricsRole

# The most a list may hold: what each product keeps of its pairs.
LIMIT_MAX = 50


class LimitQuerySerializer(InputSerializer):
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=LIMIT_MAX,
        help_text=_("How many products, 1 to 50 (default: 5 for a customer, every one kept for a product)."),
    )


class RecommendedProductSerializer(serializers.Serializer):
    product_id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    url = serializers.CharField(help_text=_("The shop's page of the product; empty when none is configured."))
    price = serializers.DecimalField(
        max_digits=12, decimal_places=4, allow_null=True, help_text=_("The latest unit price paid; null if never sold.")
    )
    currency = serializers.CharField()
    score = serializers.FloatField(help_text=_("Higher is better; comparable within one list only."))
    reason = serializers.ChoiceField(
        choices=[recommendations.BOUGHT_TOGETHER, recommendations.POPULAR],
        help_text=_(
            '"bought_together": often bought with what the customer bought; "popular": a best-seller filling the list.'
        ),
    )


class CustomerRecommendationsSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    computed_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When the pairs were last computed (with the nightly metrics); null: never.")
    )
    results = RecommendedProductSerializer(many=True)


class RelatedProductSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    product_id = serializers.IntegerField(source="product.id")
    sku = serializers.CharField(source="product.sku")
    name = serializers.CharField(source="product.name")
    url = serializers.SerializerMethodField()
    price = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    currency = serializers.CharField()
    together = serializers.IntegerField(help_text=_("Baskets holding both products."))
    score = serializers.FloatField(help_text=_("Cosine: together / sqrt(baskets of each); higher is better."))

    def get_url(self, related) -> str:
        return recommendations.product_url(related.product.sku)


class ProductRelatedSerializer(serializers.Serializer):
    product_id = serializers.IntegerField()
    computed_at = serializers.DateTimeField(allow_null=True)
    results = RelatedProductSerializer(many=True)


def _limit(request) -> int | None:
    query = LimitQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data.get("limit")


@extend_schema(
    summary=_("What to offer a customer"),
    description=_(
        "The products most often bought with what the customer bought and that they do not have yet, best first; "
        "best-sellers fill the list when those are too few. Only customers you may see (others: 404)."
    ),
    parameters=[LimitQuerySerializer],
    responses=CustomerRecommendationsSerializer,
)
class CustomerRecommendationsApi(APIView):
    # No role check of its own: someone without a role sees no customer, so gets the 404 of a
    # customer they may not see, as everywhere a customer is named.
    permission_classes = [permissions.IsAuthenticated]

    def get(self, request, customer_id: int):
        customer = get_object_or_404(customer_visible_to(request.user).only("id"), pk=customer_id)
        limit = _limit(request) or conf.get("RECOMMEND_LIMIT")
        items = recommendations.customer_recommendations(customer_id=customer.pk, limit=limit)
        body = {
            "customer_id": customer.pk,
            "computed_at": recommendations.recommendations_computed_at(),
            "results": [{**item.__dict__, "url": item.url} for item in items],
        }
        return Response(CustomerRecommendationsSerializer(body).data)


@extend_schema(
    summary=_("Products bought with a product"),
    description=_("Best first, as the last nightly recompute counted them over every basket."),
    parameters=[LimitQuerySerializer],
    responses=ProductRelatedSerializer,
)
class ProductRelatedApi(APIView):
    permission_classes = [permissions.IsAuthenticated, HasMetricsRole]

    def get(self, request, product_id: int):
        product = get_object_or_404(Product.objects.only("id"), pk=product_id)
        related = recommendations.product_related(product_id=product.pk, limit=_limit(request))
        body = {
            "product_id": product.pk,
            "computed_at": recommendations.recommendations_computed_at(),
            "results": related,
        }
        return Response(ProductRelatedSerializer(body).data)
