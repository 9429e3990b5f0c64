"""Query-string filters of the customers API (django-filter FilterSets)."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from retention_crm.ids import IdFilter

from .models import Customer, Interaction, Order, Product


class CustomerFilter(django_filters.FilterSet):
    ARCHIVED_CHOICES = (("false", _("Active only")), ("true", _("Archived only")), ("all", _("Both")))

    country = django_filters.CharFilter(lookup_expr="iexact")
    language = django_filters.ChoiceFilter(choices=Customer._meta.get_field("language").choices)
    account_manager = django_filters.CharFilter(
        field_name="account_manager__username", help_text=_("Username of the account manager.")
    )
    tag = django_filters.CharFilter(field_name="tags__name", help_text=_("Name of a tag."))
    archived = django_filters.ChoiceFilter(
        choices=ARCHIVED_CHOICES,
        method="filter_archived",
        empty_label=None,
        help_text=_("Active customers unless asked otherwise."),
    )
    acquired_at = django_filters.DateFromToRangeFilter(
        help_text=_("acquired_at_after and acquired_at_before, dates, both inclusive.")
    )
    external_id = django_filters.CharFilter()

    class Meta:
        model = Customer
        fields = ["country", "language", "account_manager", "tag", "archived", "acquired_at", "external_id"]

    @property
    def qs(self):
        queryset = super().qs
        # Archived customers stay out of lists unless asked for, as in the web UI.
        if not self.form.cleaned_data.get("archived"):
            queryset = queryset.filter(archived_at__isnull=True)
        return queryset

    def filter_archived(self, queryset, name, value):
        if value == "true":
            return queryset.filter(archived_at__isnull=False)
        if value == "false":
            return queryset.filter(archived_at__isnull=True)
        return queryset


class ProductFilter(django_filters.FilterSet):
    class Meta:
        model = Product
        fields = ["sku", "category"]


class OrderFilter(django_filters.FilterSet):
    customer = django_filters.CharFilter(
        field_name="customer__external_id", help_text=_("External id of the customer.")
    )
    customer_id = IdFilter()
    ordered_at = django_filters.IsoDateTimeFromToRangeFilter(
        help_text=_("ordered_at_after and ordered_at_before, ISO 8601 date-times, both inclusive.")
    )

    class Meta:
        model = Order
        fields = ["customer", "customer_id", "ordered_at", "kind", "status", "currency"]


class InteractionFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id", help_text=_("Id of the customer."))
    customer_external_id = django_filters.CharFilter(field_name="customer__external_id")
    open = django_filters.BooleanFilter(
        method="filter_open", help_text=_("true: unresolved complaints and support tickets; false: the rest.")
    )
    occurred_at = django_filters.IsoDateTimeFromToRangeFilter(
        help_text=_("occurred_at_after and occurred_at_before, ISO 8601 date-times, both inclusive.")
    )

    class Meta:
        model = Interaction
        fields = ["customer", "customer_external_id", "kind", "direction", "channel", "open", "occurred_at"]

    def filter_open(self, queryset, name, value):
        is_open = Q(kind__in=Interaction.TRACKED_KINDS, resolved_at__isnull=True)
        return queryset.filter(is_open) if value else queryset.exclude(is_open)


class CaseFilter(django_filters.FilterSet):
    """The complaints API's filters (cases: complaints, support contacts, reviews)."""

    customer = IdFilter(field_name="customer_id", help_text=_("Id of the customer."))
    kind = django_filters.ChoiceFilter(choices=[(k.value, k.label) for k in Interaction.TRACKED_KINDS])
    status = django_filters.ChoiceFilter(choices=Interaction.Status.choices)
    priority = django_filters.ChoiceFilter(choices=Interaction.Priority.choices)
    owner = django_filters.CharFilter(field_name="owner__username", help_text=_("Username of the owner."))
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", help_text=_("true: open or in progress past the due time; false: the rest.")
    )
    occurred_at = django_filters.IsoDateTimeFromToRangeFilter(
        help_text=_("occurred_at_after and occurred_at_before, ISO 8601 date-times, both inclusive.")
    )

    class Meta:
        model = Interaction
        fields = ["customer", "kind", "status", "priority", "owner", "overdue", "occurred_at"]

    def filter_overdue(self, queryset, name, value):
        from django.utils import timezone

        overdue = Q(status__in=Interaction.PENDING_STATUSES, due_at__lt=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)
