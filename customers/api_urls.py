"""The customers app's API routes, mounted at /api/v1/ by retention_crm.urls."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api.auth import TokenObtainApi
from .api.complaints import ComplaintViewSet
from .api.customers import CustomerViewSet
from .api.imports import ImportJobViewSet
from .api.interactions import InteractionViewSet
from .api.orders import OrderViewSet
from .api.products import ProductViewSet

router = SimpleRouter()
router.register("customers", CustomerViewSet, basename="api-customers")
router.register("products", ProductViewSet, basename="api-products")
router.register("orders", OrderViewSet, basename="api-orders")
router.register("interactions", InteractionViewSet, basename="api-interactions")
router.register("imports", ImportJobViewSet, basename="api-imports")
router.register("complaints", ComplaintViewSet, basename="api-complaints")

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="api-token"),
    *router.urls,
]
