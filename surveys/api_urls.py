"""API routes of surveys, mounted at /api/v1/surveys/ by retention_crm.urls."""

from django.urls import path

from . import api

urlpatterns = [
    path("", api.SurveyListApi.as_view(), name="api-surveys"),
    path("<id:pk>/", api.SurveyDetailApi.as_view(), name="api-survey"),
    path("<id:pk>/results/", api.SurveyResultsApi.as_view(), name="api-survey-results"),
    path("invitations/", api.InvitationListApi.as_view(), name="api-survey-invitations"),
    path("responses/", api.ResponseListApi.as_view(), name="api-survey-responses"),
]
