"""The segmentation app's API routes, mounted at /api/v1/segments/ by retention_crm.urls."""

from rest_framework.routers import SimpleRouter

from .api import SegmentViewSet

router = SimpleRouter()
router.register("", SegmentViewSet, basename="api-segments")

urlpatterns = router.urls
