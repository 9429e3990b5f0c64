"""API routes of the worklist, snoozes, follow-ups and book performance, mounted at /api/v1/ by
retention_crm.urls."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("followups", api.FollowUpViewSet, basename="api-followups")

urlpatterns = [
    path("worklist/", api.WorklistApi.as_view(), name="api-worklist"),
    path("worklist/snoozes/", api.SnoozeCreateApi.as_view(), name="api-worklist-snoozes"),
    path("book-performance/", api.BookPerformanceApi.as_view(), name="api-book-performance"),
    *router.urls,
]
