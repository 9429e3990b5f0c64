"""Forms of the team pages: they parse input; the services check and write."""

from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Employee, OneToOne, Team

DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class ServiceErrorsMixin:
    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, messages in error.message_dict.items():
            self.add_error(name if name in self.fields else None, messages)


class EmployeeForm(ServiceErrorsMixin, forms.ModelForm):
    class Meta:
        model = Employee
        fields = ["name", "email", "language", "team", "user", "joined_at", "left_at"]
        widgets = {
            "joined_at": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "left_at": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["user"].label = _("Login (to run or attend one-to-ones)")

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        others = Employee.objects.filter(email__iexact=email).exclude(pk=self.instance.pk)
        if others.exists():
            raise ValidationError(_("Another employee has this email."))
        return email


class TeamForm(ServiceErrorsMixin, forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "lead"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = Employee.objects.active().order_by("name")


class EmployeeFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.order_by("name"), required=False, empty_label=_("Any team")
    )
    left = forms.BooleanField(
        label=_("Include those who left"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


class EmployeeImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8, with a header row; at most 2 MB."))


class OneToOneStartForm(ServiceErrorsMixin, forms.Form):
    person = forms.ModelChoiceField(label=_("With"), queryset=Employee.objects.none())
    every_weeks = forms.TypedChoiceField(label=_("How often"), choices=OneToOne.Every.choices, coerce=int, initial=2)
    first_at = forms.DateTimeField(
        label=_("First meeting"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL_FORMAT),
    )

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = members
        if not self.is_bound:
            self.initial.setdefault(
                "first_at",
                (timezone.localtime() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0),
            )


class TextForm(ServiceErrorsMixin, forms.Form):
    text = forms.CharField(label=_("Text"), max_length=500)


class NotesForm(forms.Form):
    text = forms.CharField(
        label=_("Notes"), required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 5})
    )


class ActionForm(ServiceErrorsMixin, forms.Form):
    text = forms.CharField(label=_("Action"), max_length=500)
    owner = forms.ModelChoiceField(
        label=_("Who"),
        queryset=Employee.objects.none(),
        empty_label=None,
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, series: OneToOne, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = Employee.objects.filter(pk__in=[series.lead_id, series.person_id])
        self.initial.setdefault("owner", series.person_id)


class RescheduleForm(forms.Form):
    scheduled_at = forms.DateTimeField(
        label=_("Planned for"),
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control"}, format=DATETIME_LOCAL_FORMAT
        ),
    )
