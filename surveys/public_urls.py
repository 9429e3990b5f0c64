"""The public answer page (namespace "surveys_public"), mounted at /a/ by retention_crm.urls."""

from django.urls import path

from . import public_views

app_name = "surveys_public"

urlpatterns = [
    path("<str:token>/", public_views.answer_view, name="answer"),
]
