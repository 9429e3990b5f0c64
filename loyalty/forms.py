from django import forms
from django.utils.translation import gettext_lazy as _


class AdjustmentForm(forms.Form):
    points = forms.IntegerField(
        label=_("Points"),
        help_text=_("Negative to take points away."),
        min_value=-(10**9),
        max_value=10**9,
        error_messages={"invalid": _("Enter a whole number of points.")},
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def add_service_errors(self, exc) -> None:
        for field, messages in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
