"""Routes of campaigns (namespace "campaigns"), mounted at /campaigns/ by retention_crm.urls."""

from django.urls import path

from . import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_create, name="create"),
    path("<id:pk>/", views.campaign_detail, name="detail"),
    path("<id:pk>/edit/", views.campaign_edit, name="edit"),
    path("<id:pk>/schedule/", views.campaign_schedule, name="schedule"),
    path("<id:pk>/unschedule/", views.campaign_unschedule, name="unschedule"),
    path("<id:pk>/cancel/", views.campaign_cancel, name="cancel"),
    path("<id:pk>/delete/", views.campaign_delete, name="delete"),
    path("<id:pk>/preview/<str:language>/", views.campaign_preview_body, name="preview_body"),
    path("<id:pk>/results/", views.campaign_results, name="results"),
    path("<id:pk>/results.csv", views.campaign_results_csv, name="results_csv"),
]
