"""The campaign form: it parses what the browser sends; the services check the campaign (a template
that exists and is email, a segment with customers, a moment in the future) and save it."""

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.forms import ServiceErrorsMixin
from segmentation.models import Segment

from ..models import Campaign
from .selectors import template_choices


class CampaignForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=Campaign.Kind.choices)
    template = forms.ModelChoiceField(
        label=_("Message template"),
        queryset=None,
        empty_label=_("Choose a template"),
        error_messages={"invalid_choice": _("That template no longer exists.")},
    )
    segment = forms.ModelChoiceField(
        label=_("Segment"),
        queryset=None,
        empty_label=_("Choose a segment"),
        error_messages={"invalid_choice": _("That segment no longer exists.")},
    )
    recurrence = forms.ChoiceField(label=_("Repeat"), choices=Campaign.Recurrence.choices)
    send_on = forms.DateField(
        label=_("Send on"), widget=forms.DateInput(attrs={"type": "date"}), help_text=_("The date of the first send.")
    )
    send_time = forms.TimeField(
        label=_("Local time"),
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text=_("Each customer receives it at this time in their own time zone."),
    )
    control_percent = forms.IntegerField(
        label=_("Control group (%)"),
        min_value=0,
        max_value=50,
        initial=10,
        help_text=_("This share of the audience, chosen at random, receives nothing, to measure the campaign against."),
    )
    track_links = forms.BooleanField(
        label=_("Track link clicks"),
        required=False,
        initial=True,
        help_text=_("Links in the email go through a redirect that records the click."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = template_choices()
        self.fields["template"].label_from_instance = lambda template: template.display_name
        self.fields["segment"].queryset = Segment.objects.order_by("kind", "name")
        self.fields["segment"].label_from_instance = lambda segment: segment.display_name

    @staticmethod
    def initial_for(campaign: Campaign) -> dict:
        return {
            name: getattr(campaign, name)
            for name in (
                "name",
                "kind",
                "template",
                "segment",
                "recurrence",
                "send_on",
                "send_time",
                "control_percent",
                "track_links",
            )
        }
