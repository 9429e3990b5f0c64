"""Routes of the contact plan pages (namespace "plans"), mounted at /plans/ by retention_crm.urls."""

from django.urls import path

from . import views

app_name = "plans"

urlpatterns = [
    path("", views.plan_list_page, name="list"),
    path("new/", views.plan_create_page, name="create"),
    path("<id:pk>/", views.plan_detail_page, name="detail"),
    path("<id:pk>/edit/", views.plan_edit_page, name="edit"),
    path("<id:pk>/results.csv", views.plan_results_csv, name="results_csv"),
    path("<id:pk>/active/", views.plan_toggle_view, name="toggle"),
    path("<id:pk>/enrol-segment/", views.plan_enrol_segment_view, name="enrol_segment"),
    path("customer/<id:customer_pk>/enrol/", views.enrol_customer_view, name="enrol_customer"),
    path("enrolments/<id:pk>/end/", views.enrolment_end_view, name="enrolment_end"),
]
