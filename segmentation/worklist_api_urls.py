"""API routes of the worklist, follow-ups and book performance, mounted at /api/v1/ by retention_crm.urls."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import worklist_api

router = SimpleRouter()
router.register("followups", worklist_api.FollowUpViewSet, basename="api-followups")

urlpatterns = [
    path("worklist/", worklist_api.WorklistApi.as_view(), name="api-worklist"),
    path("worklist/snoozes/", worklist_api.SnoozeCreateApi.as_view(), name="api-worklist-snoozes"),
    path("book-performance/", worklist_api.BookPerformanceApi.as_view(), name="api-book-performance"),
    *router.urls,
]
