"""Forms of the template editor and the preview: they parse what the browser sends; the services
check the template (syntax, placeholders, subjects) and save it."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from customers.forms import ServiceErrorsMixin

from ..models import MessageTemplate
from .template_services import PARTS

LANGUAGES = settings.LANGUAGES


class MessageTemplateForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    key = forms.SlugField(
        label=_("Key"), max_length=64, help_text=_("How code and the API name it, e.g. order-thank-you.")
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=MessageTemplate.Channel.choices)
    purpose = forms.ChoiceField(
        label=_("Purpose"),
        choices=MessageTemplate.Purpose.choices,
        help_text=_("Promotional messages need marketing consent and count towards the frequency cap."),
    )
    topic = forms.SlugField(
        label=_("Topic"),
        max_length=64,
        required=False,
        help_text=_("The preference-centre topic customers can opt out of; empty for general messages."),
    )
    fallback_language = forms.ChoiceField(
        label=_("Fallback language"),
        choices=LANGUAGES,
        help_text=_("Used for customers whose language the template is not written in."),
    )
    is_active = forms.BooleanField(
        label=_("Active"), required=False, help_text=_("An inactive template sends nothing.")
    )
    track_links = forms.BooleanField(
        label=_("Track link clicks"),
        required=False,
        help_text=_("Links in the email go through a redirect that records the click."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for code, _language in LANGUAGES:
            self.fields[f"{code}_subject"] = forms.CharField(label=_("Subject"), required=False, max_length=200)
            self.fields[f"{code}_html"] = forms.CharField(
                label=_("HTML body"), required=False, widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "true"})
            )
            self.fields[f"{code}_text"] = forms.CharField(
                label=_("Plain-text body"),
                required=False,
                widget=forms.Textarea(attrs={"rows": 6}),
                help_text=_("Email: generated from the HTML when left empty. SMS: the message."),
            )
            for part in PARTS:
                self.fields[f"{code}_{part}"].widget.attrs["lang"] = code

    @classmethod
    def initial_for(cls, template: MessageTemplate) -> dict:
        initial = {
            name: getattr(template, name)
            for name in ("name", "key", "channel", "purpose", "topic", "fallback_language", "is_active", "track_links")
        }
        for content in template.contents.all():
            for part in PARTS:
                initial[f"{content.language}_{part}"] = getattr(content, part)
        return initial

    def template_fields(self) -> dict:
        data = self.cleaned_data
        return {
            name: data[name]
            for name in ("name", "key", "channel", "purpose", "topic", "fallback_language", "is_active", "track_links")
        }

    def contents(self) -> dict:
        return {code: {part: self.cleaned_data.get(f"{code}_{part}", "") for part in PARTS} for code, _n in LANGUAGES}

    def add_service_errors(self, error) -> None:
        # The services name a language's part "contents.ca.html"; here it is the field "ca_html".
        if hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                if field.startswith("contents."):
                    field = "_".join(field.split(".")[1:3])
                self.add_error(field if field in self.fields else None, messages)
        else:
            self.add_error(None, error)

    def main_fields(self):
        return [self[name] for name in ("name", "key", "channel", "purpose", "topic", "fallback_language")]

    def languages(self):
        """Per language: its code, name, fields and whether any has an error (the editor's tabs)."""
        for code, name in LANGUAGES:
            fields = [self[f"{code}_{part}"] for part in PARTS]
            yield {"code": code, "name": name, "fields": fields, "has_errors": any(f.errors for f in fields)}


class PreviewForm(forms.Form):
    q = forms.CharField(label=_("Find a customer"), required=False, max_length=100)
    customer = forms.IntegerField(label=_("Customer"), required=False, min_value=1, max_value=2**63 - 1)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES, required=False)
