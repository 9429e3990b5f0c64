"""The complaints page (cases: complaints, support contacts, reviews), mounted at /complaints/."""

from django.urls import path

from . import complaint_views as views

app_name = "complaints"

urlpatterns = [
    path("", views.case_list_view, name="list"),
    path("new/", views.case_create_view, name="create"),
    path("export.csv", views.case_export_view, name="export"),
    path("<id:pk>/", views.case_detail_view, name="detail"),
    path("<id:pk>/update/", views.case_update_view, name="update"),
    path("<id:pk>/status/", views.case_status_view, name="status"),
    path("<id:pk>/resolve/", views.case_resolve_view, name="resolve"),
    path("inbound/<id:pk>/attach/", views.inbound_attach_view, name="inbound_attach"),
    path("inbound/<id:pk>/discard/", views.inbound_discard_view, name="inbound_discard"),
]
