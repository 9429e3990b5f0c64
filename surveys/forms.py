"""The builder's forms. They parse what the browser sends; the rules live in services.py."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import Question, Survey


class SurveyForm(forms.ModelForm):
    segment_id = forms.TypedChoiceField(label=_("Segment"), required=False, coerce=int, empty_value=None)

    class Meta:
        model = Survey
        fields = [
            "name",
            "audience",
            "anonymous",
            "fallback_language",
            "trigger",
            "trigger_days",
            "segment_id",
            "team",
            "recurrence",
            "min_gap_days",
            "reminder_after_days",
            "link_days",
            "resurvey_after_followup",
        ]
        widgets = {"fallback_language": forms.Select(choices=settings.LANGUAGES)}

    def __init__(self, *args, segments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment_id"].choices = [("", "—"), *segments]
        for field in self.fields.values():
            css = "form-check-input" if isinstance(field.widget, forms.CheckboxInput) else "form-control"
            if isinstance(field.widget, forms.Select):
                css = "form-select"
            field.widget.attrs.setdefault("class", css)


class NewSurveyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            ("custom", _("Custom")),
            ("nps", "NPS"),
            ("csat", "CSAT"),
            ("ces", "CES"),
            ("enps", "eNPS"),
            ("pulse", _("Pulse")),
        ],
    )
    audience = forms.ChoiceField(label=_("Who is asked"), choices=Survey._meta.get_field("audience").choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select" if isinstance(field.widget, forms.Select) else "form-control"


class QuestionForm(forms.Form):
    """A question: its kind, its text in each language, choices (one per line, per language), and
    the condition on the first question's answer."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Question.Kind.choices)
    required = forms.BooleanField(label=_("Required"), required=False)
    show_min = forms.IntegerField(label=_("Only when the first answer is at least"), required=False)
    show_max = forms.IntegerField(label=_("and at most"), required=False)

    def __init__(self, *args, editing: Question | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for code, name in settings.LANGUAGES:
            self.fields[f"text_{code}"] = forms.CharField(
                label=_("Text (%(language)s)") % {"language": name},
                required=False,
                max_length=500,
                widget=forms.TextInput(attrs={"lang": code}),
            )
            self.fields[f"choices_{code}"] = forms.CharField(
                label=_("Choices (%(language)s), one per line") % {"language": name},
                required=False,
                widget=forms.Textarea(attrs={"rows": 3, "lang": code}),
            )
        if editing is not None:
            self.fields["kind"].disabled = True
            self.initial.update(
                {
                    "kind": editing.kind,
                    "required": editing.required,
                    "show_min": editing.show_min,
                    "show_max": editing.show_max,
                }
            )
            for code, _name in settings.LANGUAGES:
                self.initial[f"text_{code}"] = editing.texts.get(code, "")
                self.initial[f"choices_{code}"] = "\n".join(c["labels"].get(code, "") for c in editing.choices)
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs["class"] = "form-check-input"
            elif isinstance(field.widget, forms.Select):
                field.widget.attrs["class"] = "form-select"
            else:
                field.widget.attrs["class"] = "form-control"

    def texts(self) -> dict[str, str]:
        return {code: self.cleaned_data.get(f"text_{code}", "") for code, _name in settings.LANGUAGES}

    def choices(self) -> list[dict]:
        """Choices aligned line by line across the languages; the value is the line's number."""
        lines = {
            code: [s.strip() for s in (self.cleaned_data.get(f"choices_{code}") or "").splitlines() if s.strip()]
            for code, _name in settings.LANGUAGES
        }
        count = max((len(v) for v in lines.values()), default=0)
        return [
            {"value": str(i + 1), "labels": {code: v[i] for code, v in lines.items() if i < len(v)}}
            for i in range(count)
        ]

    def add_service_errors(self, exc) -> None:
        errors = getattr(exc, "message_dict", None) or {"__all__": exc.messages}
        for field, messages in errors.items():
            target = field if field in self.fields else None
            if field == "texts":
                target = None
            for message in messages:
                self.add_error(target, message)
