from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create, name="create"),
    path("export/customers.csv", views.export_customers, name="export_customers"),
    path("export/orders.csv", views.export_orders, name="export_orders"),
    path("<id:pk>/", views.customer_detail, name="detail"),
    path("<id:pk>/edit/", views.customer_edit, name="edit"),
    path("<id:pk>/archive/", views.customer_archive, name="archive"),
    path("<id:pk>/restore/", views.customer_restore, name="restore"),
    path("<id:pk>/interactions/", views.interaction_log, name="interaction_log"),
    path(
        "<id:pk>/interactions/<id:interaction_pk>/resolve/",
        views.interaction_resolve,
        name="interaction_resolve",
    ),
    path("imports/", views.imports, name="imports"),
    path("imports/<uuid:job_id>/", views.import_detail, name="import_detail"),
    path("imports/<uuid:job_id>/progress/", views.import_progress, name="import_progress"),
    path("imports/<uuid:job_id>/report.csv", views.import_report, name="import_report"),
]
