"""Routes of the message templates in the browser (namespace "message_templates"), mounted at
/messages/ by retention_crm.urls."""

from django.urls import path

from . import template_views

app_name = "message_templates"

urlpatterns = [
    path("templates/", template_views.template_list, name="list"),
    path("templates/new/", template_views.template_create, name="create"),
    path("templates/<id:pk>/", template_views.template_edit, name="edit"),
    path("templates/<id:pk>/preview/", template_views.template_preview, name="preview"),
    path("templates/<id:pk>/preview/body/", template_views.template_preview_body, name="preview_body"),
    path("templates/<id:pk>/test-send/", template_views.template_test_send, name="test_send"),
    path("placeholders/", template_views.placeholder_list, name="placeholders"),
]
