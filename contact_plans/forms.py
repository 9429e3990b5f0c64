"""Forms of the follow-up and snooze actions (customer page card and worklist rows)."""

from datetime import datetime, time

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.forms import ServiceErrorsMixin

# A contact planned for a day is due when the working day starts, in the user's time zone.
DUE_TIME = time(9, 0)


class FollowUpForm(ServiceErrorsMixin, forms.Form):
    due_on = forms.DateField(label=_("Due on"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), required=False, max_length=1000)

    def clean_due_on(self):
        due_on = self.cleaned_data["due_on"]
        if due_on < timezone.localdate():
            raise forms.ValidationError(_("Choose today or a later day."))
        return due_on

    @property
    def due_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.cleaned_data["due_on"], DUE_TIME))


class SnoozeForm(ServiceErrorsMixin, forms.Form):
    until = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("Reason"), max_length=200)
