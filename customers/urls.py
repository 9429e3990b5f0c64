from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create_view, name="create"),
    path("export/customers.csv", views.export_customers, name="export_customers"),
    path("export/orders.csv", views.export_orders, name="export_orders"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/archive/", views.customer_archive_view, name="archive"),
    path("<int:pk>/restore/", views.customer_restore_view, name="restore"),
    path("<int:pk>/interactions/", views.interaction_log_view, name="interaction_log"),
    path(
        "<int:pk>/interactions/<int:interaction_pk>/resolve/",
        views.interaction_resolve_view,
        name="interaction_resolve",
    ),
    path("imports/", views.imports, name="imports"),
    path("imports/<uuid:job_id>/", views.import_detail, name="import_detail"),
    path("imports/<uuid:job_id>/progress/", views.import_progress, name="import_progress"),
    path("imports/<uuid:job_id>/report.csv", views.import_report, name="import_report"),
]
