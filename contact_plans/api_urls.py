"""API routes of the worklist, snoozes, follow-ups and book performance, mounted at /api/v1/ by
retention_crm.urls."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api
from .campaigns import api as campaign_api
from .messaging import outbox_api, template_api
from .plans import api as plans_api

router = SimpleRouter()
router.register("followups", api.FollowUpViewSet, basename="api-followups")
router.register("messages", outbox_api.MessageViewSet, basename="api-messages")
router.register("campaigns", campaign_api.CampaignViewSet, basename="api-campaigns")
router.register("message-templates", template_api.MessageTemplateViewSet, basename="api-message-templates")
router.register("plans", plans_api.PlanViewSet, basename="api-plans")
router.register("plan-enrolments", plans_api.EnrolmentViewSet, basename="api-plan-enrolments")
router.register("plan-tasks", plans_api.TaskViewSet, basename="api-plan-tasks")

urlpatterns = [
    path("worklist/", api.WorklistApi.as_view(), name="api-worklist"),
    path("worklist/snoozes/", api.SnoozeCreateApi.as_view(), name="api-worklist-snoozes"),
    path("book-performance/", api.BookPerformanceApi.as_view(), name="api-book-performance"),
    path(
        "message-templates/<id:pk>/send/",
        template_api.MessageTemplateSendApi.as_view(),
        name="api-message-template-send",
    ),
    path(
        "customers/<id:customer_pk>/contact-preferences/",
        outbox_api.ContactPreferencesApi.as_view(),
        name="api-contact-preferences",
    ),
    *router.urls,
]
