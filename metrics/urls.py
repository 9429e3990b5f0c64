from django.urls import path

from . import views

app_name = "metrics"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("customers/", views.cell_customers, name="cell_customers"),
    path("model-health/", views.model_health, name="model_health"),
    path("charts/<slug:kind>.csv", views.chart_csv, name="chart_csv"),
    path("recompute/", views.recompute, name="recompute"),
    path("recompute/progress/", views.recompute_progress, name="recompute_progress"),
]
