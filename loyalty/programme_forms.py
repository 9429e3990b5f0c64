"""Forms of the programme's settings pages; the checks are the services' (loyalty.programme)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from customers.forms import DATETIME_LOCAL_FORMAT

from . import contests, programme
from .models import Contest, EarningRule, Programme, Reward, Tier


def _when(required: bool = True) -> forms.DateTimeField:
    return forms.DateTimeField(
        required=required,
        input_formats=[DATETIME_LOCAL_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL_FORMAT),
    )


class _ServiceChecked(forms.ModelForm):
    """Runs the service's check in clean(), so that its reasons sit beside their fields (and the
    database's constraints, which say less, are not asked about fields already refused)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.declared_fields:  # the date fields declared here keep the model's labels
            self.fields[name].label = capfirst(self._meta.model._meta.get_field(name).verbose_name)

    def service_check(self, instance) -> None:
        raise NotImplementedError

    def clean(self):
        data = super().clean()
        candidate = type(self.instance)(pk=self.instance.pk, **{f: data.get(f) for f in self._meta.fields})
        try:
            self.service_check(candidate)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                if field in self.fields and field not in self.errors:
                    for message in messages:
                        self.add_error(field, message)
        return data


class EarningRuleForm(_ServiceChecked):
    starts_at = _when()
    ends_at = _when(required=False)

    class Meta:
        model = EarningRule
        fields = ["kind", "name", "value", "sku", "category", "starts_at", "ends_at"]

    def __init__(self, *args, in_force: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["value"].help_text = _(
            "Points per currency unit, a multiplier (2 doubles the points) or a bonus in points, by kind."
        )
        self.fields["sku"].required = self.fields["category"].required = False
        if in_force:
            # Orders have earned by this rule: its kind stays, and a change starts from a date on.
            self.fields["kind"].disabled = True
            self.fields["starts_at"].label = _("Change from")
            self.fields["starts_at"].help_text = _("Now or later: orders placed before keep the points they earned.")

    def service_check(self, rule) -> None:
        programme.earning_rule_check(
            kind=rule.kind,
            value=rule.value,
            sku=rule.sku or "",
            category=rule.category or "",
            starts_at=rule.starts_at,
            ends_at=rule.ends_at,
        )


class TierForm(_ServiceChecked):
    class Meta:
        model = Tier
        fields = ["name", "threshold", "discount_percent", "earn_multiplier", "benefits"]
        widgets = {"benefits": forms.Textarea(attrs={"rows": 3})}

    def service_check(self, tier) -> None:
        tier.name = tier.name or ""
        programme.tier_check(tier=tier)


class RewardForm(_ServiceChecked):
    valid_from = _when(required=False)
    valid_until = _when(required=False)

    class Meta:
        model = Reward
        fields = [
            "name",
            "description",
            "points_cost",
            "stock",
            "per_customer_limit",
            "valid_from",
            "valid_until",
            "code_valid_days",
            "active",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stock"].help_text = _("Leave empty for unlimited.")
        self.fields["per_customer_limit"].help_text = _("Leave empty for no limit.")

    def service_check(self, reward) -> None:
        programme.reward_check(reward=reward)


class ProgrammeForm(_ServiceChecked):
    shop_url = forms.URLField(required=False, assume_scheme="https", max_length=200)

    class Meta:
        model = Programme
        fields = programme.PROGRAMME_SETTINGS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["point_value"].help_text = _("What one point costs the business: the outstanding liability.")
        self.fields["expiry_days"].help_text = _("Leave empty for points that never expire; the oldest go first.")
        self.fields["referral_wait_days"].help_text = _(
            "The referral is rewarded when the referred customer's first purchase has not been refunded "
            "within this many days."
        )
        self.fields["shop_url"].help_text = _(
            "Where a referral link sends the visitor, with ?ref= and the code. Empty: the link shows the code."
        )
        self.fields["birthday_bonus_points"].help_text = _(
            "Given once a year on the member's birthday (28 February for 29 February outside leap years). 0: none."
        )

    def service_check(self, candidate) -> None:
        programme.programme_check(programme=candidate)


class ContestForm(_ServiceChecked):
    starts_at = _when()
    ends_at = _when()

    class Meta:
        model = Contest
        fields = [
            "name",
            "description",
            "prize",
            "starts_at",
            "ends_at",
            "entry_rule",
            "min_amount",
            "points_per_entry",
            "winners_count",
            "winner_method",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Left out (an older form, a script): a draw, as before rankings existed.
        self.fields["winner_method"].required = False

    def clean_winner_method(self):
        return self.cleaned_data.get("winner_method") or Contest.WinnerMethod.DRAW

    def service_check(self, contest) -> None:
        contest.name, contest.prize = contest.name or "", contest.prize or ""
        contests.contest_check(contest=contest)


class ResultsPeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end"):
            if data["end"] < data["start"]:
                self.add_error("end", _("The period must end on or after its first day."))
            elif (data["end"] - data["start"]).days > 3660:
                self.add_error("end", _("A period of at most ten years."))
        return data
