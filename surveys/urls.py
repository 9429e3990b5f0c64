"""Routes of the survey pages (namespace "surveys"), mounted at /surveys/ by retention_crm.urls."""

from django.urls import path

from . import results_views, views

app_name = "surveys"

urlpatterns = [
    path("", views.survey_list, name="list"),
    path("from-template/", views.survey_from_template, name="from_template"),
    path("new/", views.survey_new, name="new"),
    path("results/", results_views.results_view, name="results"),
    path("<id:pk>/", views.survey_detail, name="detail"),
    path("<id:pk>/questions/", views.question_add, name="question_add"),
    path("<id:pk>/questions/<id:question_pk>/", views.question_edit, name="question_edit"),
    path("<id:pk>/questions/<id:question_pk>/delete/", views.question_delete, name="question_delete"),
    path("<id:pk>/activate/", views.survey_activate, name="activate"),
    path("<id:pk>/close/", views.survey_close, name="close"),
    path("<id:pk>/send/", views.survey_send, name="send"),
    path("customer/<id:customer_pk>/invite/", views.survey_invite_customer, name="invite_customer"),
]
