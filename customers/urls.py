from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list_view, name="list"),
    path("new/", views.customer_create_view, name="create"),
    path("export/customers.csv", views.customer_export_view, name="export_customers"),
    path("export/orders.csv", views.order_export_view, name="export_orders"),
    path("<id:pk>/", views.customer_detail_view, name="detail"),
    path("<id:pk>/edit/", views.customer_edit_view, name="edit"),
    path("<id:pk>/archive/", views.customer_archive_view, name="archive"),
    path("<id:pk>/restore/", views.customer_restore_view, name="restore"),
    path("<id:pk>/interactions/", views.interaction_log_view, name="interaction_log"),
    path(
        "<id:pk>/interactions/<id:interaction_pk>/resolve/",
        views.interaction_resolve_view,
        name="interaction_resolve",
    ),
    path("imports/", views.import_list_view, name="imports"),
    path("imports/<uuid:job_id>/", views.import_detail_view, name="import_detail"),
    path("imports/<uuid:job_id>/progress/", views.import_progress_view, name="import_progress"),
    path("imports/<uuid:job_id>/report.csv", views.import_report_view, name="import_report"),
    path("imports/samples/<str:format>/", views.import_sample_view, name="import_sample"),
]
