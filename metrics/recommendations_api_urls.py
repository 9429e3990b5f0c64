"""The routes of "bought together" (metrics.recommendations_api), mounted at /api/v1/ by retention_crm.urls
beside the customers' and products' own."""

from django.urls import path

from . import recommendations_api

urlpatterns = [
    path(
        "customers/<id:customer_id>/recommendations/",
        recommendations_api.CustomerRecommendationsApi.as_view(),
        name="api-customer-recommendations",
    ),
    path(
        "products/<id:product_id>/related/", recommendations_api.ProductRelatedApi.as_view(), name="api-product-related"
    ),
]
