"""Read-only admin pages: the figures are computed, never typed in."""

from django.contrib import admin

from .models import BookRange, CustomerMetrics, MetricSnapshot, ModelVersion, RecomputeRun


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["id", "as_of", "n_customers", "backtest_auc", "backtest_baseline_auc", "is_current", "created_at"]
    list_filter = ["is_current"]


@admin.register(CustomerMetrics)
class CustomerMetricsAdmin(ReadOnlyAdmin):
    list_display = ["customer", "as_of", "purchases", "rfm_segment", "churn_risk", "risk_level", "value_level"]
    list_filter = ["rfm_segment", "risk_level", "value_level", "pareto_top"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer", "model_version"]
    search_fields = ["customer__external_id", "customer__name"]
    # Counting a million rows on every page load is slow; the paginator shows "more" instead.
    show_full_result_count = False


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["as_of", "kind", "scope", "created_at"]
    list_filter = ["kind"]
    search_fields = ["scope"]


@admin.register(RecomputeRun)
class RecomputeRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "as_of", "status", "progress_percent", "customers_scored", "created_at", "finished_at"]
    list_filter = ["status"]
    raw_id_fields = ["model_version", "created_by"]


@admin.register(BookRange)
class BookRangeAdmin(ReadOnlyAdmin):
    """Book performance's custom ranges, computed by workers (metrics.services.book); a stuck one is
    failed by the next request for its range, and the finished ones go at the next refresh."""

    list_display = ["id", "start", "end", "window_days", "status", "progress_percent", "created_at", "finished_at"]
    list_filter = ["status"]
    exclude = ["sums"]
