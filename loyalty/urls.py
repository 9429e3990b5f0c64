"""Routes of the loyalty pages (namespace "loyalty"), mounted at /loyalty/ by retention_crm.urls."""

from django.urls import path

from . import views

app_name = "loyalty"

urlpatterns = [
    path("customer/<id:customer_pk>/enrol/", views.member_enrol_view, name="enrol"),
    path("customer/<id:customer_pk>/adjust/", views.points_adjust_view, name="adjust"),
    path("s/<str:token>/", views.standing_view, name="standing"),
    path("s/<str:token>/redeem/", views.standing_redeem_view, name="standing_redeem"),
]
