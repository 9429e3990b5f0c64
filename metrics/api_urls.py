"""The metrics API routes, mounted at /api/v1/metrics/ by retention_crm.urls."""

from django.urls import path

from . import api

urlpatterns = [
    path("summary/", api.MetricsSummaryApi.as_view(), name="api-metrics-summary"),
    path("timeseries/", api.MetricsTimeseriesApi.as_view(), name="api-metrics-timeseries"),
    path("cohorts/", api.MetricsCohortsApi.as_view(), name="api-metrics-cohorts"),
    path("pareto/", api.MetricsParetoApi.as_view(), name="api-metrics-pareto"),
    path("clv-distribution/", api.MetricsClvDistributionApi.as_view(), name="api-metrics-clv-distribution"),
    path("rfm/", api.MetricsRfmApi.as_view(), name="api-metrics-rfm"),
    path("value-risk/", api.MetricsValueRiskApi.as_view(), name="api-metrics-value-risk"),
    path("customers/", api.CustomerMetricsListApi.as_view(), name="api-metrics-customers"),
    path("customers/<id:customer_id>/", api.CustomerMetricsDetailApi.as_view(), name="api-metrics-customer"),
    path("models/", api.ModelVersionListApi.as_view(), name="api-metrics-models"),
    path("recompute/", api.RecomputeCreateApi.as_view(), name="api-metrics-recompute"),
    path("recompute/<id:run_id>/", api.RecomputeDetailApi.as_view(), name="api-metrics-recompute-detail"),
    path("book-ranges/<id:range_id>/", api.BookRangeDetailApi.as_view(), name="api-metrics-book-range"),
]
