from django.contrib import admin

from .models import AccountAssignment, Customer, ImportJob, ImportRowError, Interaction, Order, OrderLine, Product, Tag


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ["product"]


class AccountAssignmentInline(admin.TabularInline):
    model = AccountAssignment
    extra = 0
    raw_id_fields = ["manager"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["external_id", "name", "email", "country", "language", "account_manager", "archived_at"]
    list_filter = ["language", "marketing_consent", "account_manager", "country"]
    search_fields = ["external_id", "name", "email", "company"]
    raw_id_fields = ["referred_by", "account_manager"]
    filter_horizontal = ["tags"]
    inlines = [AccountAssignmentInline]
    # The list is paged by primary key order; counting a million rows on every page load is wasteful.
    show_full_result_count = False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["external_id", "customer", "ordered_at", "kind", "status", "net_amount", "currency"]
    list_filter = ["kind", "status", "currency"]
    search_fields = ["external_id", "customer__external_id"]
    raw_id_fields = ["customer"]
    date_hierarchy = "ordered_at"
    inlines = [OrderLineInline]
    show_full_result_count = False


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "category", "margin"]
    search_fields = ["sku", "name"]
    list_filter = ["category"]


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["subject", "customer", "kind", "direction", "channel", "occurred_at", "resolved_at"]
    list_filter = ["kind", "direction", "channel"]
    raw_id_fields = ["customer", "author"]
    date_hierarchy = "occurred_at"


class ImportRowErrorInline(admin.TabularInline):
    model = ImportRowError
    extra = 0
    readonly_fields = ["line", "column", "reason"]
    can_delete = False
    max_num = 0


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["original_name", "format", "status", "created_by", "created_at", "rows_read", "error_count"]
    list_filter = ["format", "status"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]
    inlines = [ImportRowErrorInline]


admin.site.register(Tag)
