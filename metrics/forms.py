"""Forms of the metrics pages. They parse the query string; the views decide what the user may see."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .charts import period_label

# The picker's groups, in the order the book-performance page shows them.
PERIOD_GROUPS = (("quarters", _("Quarters")), ("months", _("Months")), ("years", _("Years")))


def _field_choices(model, name: str) -> list[tuple[str, str]]:
    return [(value, label) for value, label in model._meta.get_field(name).choices if value]


class DashboardFilterForm(forms.Form):
    """Period, scope (country or account manager) and segment of the dashboard.

    The country and manager choices are only those the user may filter by; the view answers 404
    to a scope outside them before the form is built, so here a bad value is simply ignored.
    """

    period = forms.ChoiceField(label=_("Period"), required=False)
    country = forms.ChoiceField(label=_("Country"), required=False)
    manager = forms.TypedChoiceField(label=_("Account manager"), required=False, coerce=int, empty_value=None)
    rfm_segment = forms.ChoiceField(label=_("RFM segment"), required=False)
    value_level = forms.ChoiceField(label=_("Value"), required=False)
    risk_level = forms.ChoiceField(label=_("Risk"), required=False)

    def __init__(self, *args, periods: dict, countries: list[str], managers: list[tuple[int, str]], **kwargs):
        from .models import CustomerMetrics

        super().__init__(*args, **kwargs)
        # Grouped as on book performance (metrics.charts.period_offer): quarters, months, years.
        self.fields["period"].choices = [
            (label, [(period.key, period_label(period)) for period in periods[group]])
            for group, label in PERIOD_GROUPS
            if periods.get(group)
        ]
        self.fields["country"].choices = [("", _("All countries"))] + [(c, c) for c in countries]
        self.fields["manager"].choices = [("", _("All account managers"))] + list(managers)
        for name, empty in (
            ("rfm_segment", _("All RFM segments")),
            ("value_level", _("All value levels")),
            ("risk_level", _("All risk levels")),
        ):
            self.fields[name].choices = [("", empty)] + _field_choices(CustomerMetrics, name)

    def value(self, name: str):
        # A field with a bad value is shown with its error and otherwise ignored, never a 500.
        self.is_valid()
        return self.cleaned_data.get(name) or None

    @property
    def segment_filters(self) -> dict:
        return {name: self.value(name) for name in ("rfm_segment", "value_level", "risk_level")}
