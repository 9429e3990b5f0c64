"""Forms of the follow-up and snooze actions (customer page card and worklist rows), of the worklist
and of the book-performance pages: they parse the query string and the inline actions; the
services validate and write."""

import calendar
from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.forms import ServiceErrorsMixin
from customers.models import Interaction
from customers.selectors import account_manager_list
from metrics.models import Level
from retention_crm import dates

from .worklist import WorklistFilters

# A contact planned for a day is due when the working day starts, in the user's time zone.
DUE_TIME = time(9, 0)


# The days a follow-up or a snooze is most often set to, one click each (the buttons of the forms
# submit the preset; the date field is then left empty). A month is a calendar month.
def _next_month(day: date) -> date:
    """The same day of the next month, or its last day (31 January: 28 or 29 February)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


DATE_PRESETS = {
    "tomorrow": (_("Tomorrow"), lambda day: day + timedelta(days=1)),
    "next_week": (_("Next week"), lambda day: day + timedelta(weeks=1)),
    "next_month": (_("Next month"), _next_month),
}


def preset_date(key: str, *, today: date | None = None) -> date:
    return DATE_PRESETS[key][1](today or timezone.localdate())


class DatePresetMixin:
    """A date field (``date_field``) that a preset button may fill instead: ``preset`` wins over the
    typed date, so a click on "Next week" does what it says whatever the field held."""

    date_field = ""

    def _add_preset_field(self) -> None:
        self.fields[self.date_field].required = False
        self.fields["preset"] = forms.ChoiceField(
            choices=[(key, label) for key, (label, _delta) in DATE_PRESETS.items()], required=False
        )

    def presets(self) -> list[tuple[str, str]]:
        return [(key, str(label)) for key, (label, _delta) in DATE_PRESETS.items()]

    def _clean_preset_date(self, cleaned: dict) -> None:
        # The preset has no place of its own on the form: its error is the date's.
        for error in self.errors.pop("preset", []):
            self.add_error(self.date_field, error)
        if cleaned.get("preset"):
            cleaned[self.date_field] = preset_date(cleaned["preset"])
            self.errors.pop(self.date_field, None)
        elif cleaned.get(self.date_field) is None and self.date_field not in self.errors:
            self.add_error(self.date_field, _("Choose a day, or tomorrow, next week or next month."))


class FollowUpForm(DatePresetMixin, ServiceErrorsMixin, forms.Form):
    date_field = "due_on"

    due_on = forms.DateField(
        label=_("Due on"), widget=forms.DateInput(attrs={"type": "date"}), validators=[dates.planned("due_on")]
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=1000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_preset_field()

    def clean(self):
        cleaned = super().clean()
        self._clean_preset_date(cleaned)
        due_on = cleaned.get("due_on")
        if due_on is not None and due_on < timezone.localdate():
            self.add_error("due_on", _("Choose today or a later day."))
        return cleaned

    @property
    def due_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.cleaned_data["due_on"], DUE_TIME))


class SnoozeForm(DatePresetMixin, ServiceErrorsMixin, forms.Form):
    date_field = "until"

    until = forms.DateField(
        label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}), validators=[dates.planned("until")]
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_preset_field()

    def clean(self):
        cleaned = super().clean()
        self._clean_preset_date(cleaned)
        return cleaned


class RescheduleForm(FollowUpForm):
    """A follow-up moved to another day (the follow-ups page): the day, or a preset, and no note."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["note"]


LEVEL_CHOICES = [("", _("Any"))] + list(Level.choices)


class WorklistFilterForm(forms.Form):
    manager = forms.ModelChoiceField(
        label=_("Account manager"), queryset=None, required=False, empty_label=_("Choose an account manager")
    )
    risk = forms.ChoiceField(label=_("Risk"), choices=LEVEL_CHOICES, required=False)
    value = forms.ChoiceField(label=_("Value"), choices=LEVEL_CHOICES, required=False)
    reasons = forms.BooleanField(label=_("Only with reasons"), required=False)
    snoozed = forms.BooleanField(label=_("Include snoozed"), required=False)

    def __init__(self, *args, may_pick_manager: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if may_pick_manager:
            self.fields["manager"].queryset = account_manager_list()
        else:
            del self.fields["manager"]

    @property
    def manager_id(self) -> int | None:
        # Read even when the field is not offered: asking for a colleague's list must answer 404, not
        # silently show one's own as if it were theirs.
        raw = self.data.get("manager") or ""
        return int(raw) if raw.isdigit() else None

    @property
    def filters(self) -> WorklistFilters:
        self.is_valid()  # cleaned_data keeps the valid fields even when another one is not
        data = self.cleaned_data
        return WorklistFilters(
            risk_level=data.get("risk") or "",
            value_level=data.get("value") or "",
            with_reasons=bool(data.get("reasons")),
            include_snoozed=bool(data.get("snoozed")),
        )


class LogContactForm(ServiceErrorsMixin, forms.Form):
    """A call or meeting logged from a worklist row: a kind, how it went, a subject and notes, now."""

    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(Interaction.Kind.CALL.value, _("Call")), (Interaction.Kind.MEETING.value, _("Meeting"))],
        initial=Interaction.Kind.CALL,
    )
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Interaction.Outcome.choices)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=5000, widget=forms.Textarea)

    @property
    def channel(self) -> str:
        return (
            Interaction.Channel.PHONE
            if self.cleaned_data["kind"] == Interaction.Kind.CALL
            else Interaction.Channel.IN_PERSON
        )


class BookReassignForm(ServiceErrorsMixin, forms.Form):
    """Move the customers of one book that match the filters to another manager's book."""

    from_manager = forms.ModelChoiceField(label=_("From the book of"), queryset=None)
    to_manager = forms.ModelChoiceField(label=_("To the book of"), queryset=None)
    risk = forms.ChoiceField(label=_("Risk"), choices=LEVEL_CHOICES, required=False)
    value = forms.ChoiceField(label=_("Value"), choices=LEVEL_CHOICES, required=False)
    country = forms.CharField(label=_("Country"), max_length=64, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_manager"].queryset = account_manager_list()
        self.fields["to_manager"].queryset = account_manager_list()

    def clean(self):
        data = super().clean()
        if data.get("from_manager") and data.get("from_manager") == data.get("to_manager"):
            raise forms.ValidationError(_("Choose two different account managers."))
        return data

    @property
    def candidate_filters(self) -> dict:
        data = self.cleaned_data
        return {
            "from_manager": data["from_manager"],
            "risk_level": data.get("risk") or "",
            "value_level": data.get("value") or "",
            "country": (data.get("country") or "").strip(),
        }
