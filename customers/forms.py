"""Forms of the browser UI. They parse and check input; the services validate the model and write."""

import zoneinfo

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from retention_crm import dates

from . import roles, selectors
from .models import Customer, ImportJob, Interaction, Tag

DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class ServiceErrorsMixin:
    """Puts a ValidationError raised by a service on the form: on the field it names, else on top."""

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)


# --- Customer list ------------------------------------------------------------------------------


class CustomerFilterForm(forms.Form):
    """The list's search box, filters and sort order, read from the query string."""

    ARCHIVED_CHOICES = [("active", _("Active")), ("archived", _("Archived")), ("all", _("All"))]
    SORT_CHOICES = [
        ("name", _("Name (A-Z)")),
        ("-name", _("Name (Z-A)")),
        ("country", _("Country")),
        ("-country", _("Country, descending")),
        ("acquired_at", _("Acquired, oldest first")),
        ("-acquired_at", _("Acquired, newest first")),
        ("created_at", _("Created, oldest first")),
        ("-created_at", _("Created, newest first")),
    ]

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    country = forms.ChoiceField(label=_("Country"), required=False)
    language = forms.ChoiceField(label=_("Language"), required=False)
    account_manager = forms.ModelChoiceField(
        label=_("Account manager"), queryset=None, required=False, empty_label=_("Any account manager")
    )
    tag = forms.ChoiceField(label=_("Tag"), required=False)
    archived = forms.ChoiceField(label=_("Status"), choices=ARCHIVED_CHOICES, required=False)
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORT_CHOICES, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        countries = selectors.customer_country_choices(user=user)
        self.fields["country"].choices = [("", _("Any country"))] + [(c, c) for c in countries]
        self.fields["language"].choices = [("", _("Any language"))] + list(settings.LANGUAGES)
        self.fields["account_manager"].queryset = selectors.account_manager_list()
        tags = Tag.objects.values_list("name", flat=True)
        self.fields["tag"].choices = [("", _("Any tag"))] + [(t, t) for t in tags]

    def _value(self, name: str, default=""):
        # A field with bad input is shown with its error and otherwise ignored, never a 500.
        self.is_valid()
        return self.cleaned_data.get(name) or default

    @property
    def search(self) -> str:
        return (self._value("q") or "").strip()

    @property
    def ordering(self) -> str:
        return self._value("sort", "name")

    @property
    def filters(self) -> dict:
        manager = self._value("account_manager", None)
        return {
            "country": self._value("country"),
            "language": self._value("language"),
            "account_manager": manager.pk if manager else None,
            "tag": self._value("tag"),
            "archived": self._value("archived", "active"),
        }


# --- Customer create / edit ---------------------------------------------------------------------


class CustomerForm(ServiceErrorsMixin, forms.ModelForm):
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=1000,
        help_text=_("Separate tags with commas, e.g. vip, wholesale."),
    )
    referred_by = forms.CharField(
        label=_("Referred by"),
        required=False,
        max_length=64,
        help_text=_("The external id of the customer who referred this one."),
    )
    time_zone = forms.ChoiceField(label=_("Time zone"), initial="UTC")

    class Meta:
        model = Customer
        fields = [
            "external_id",
            "name",
            "email",
            "phone",
            "company",
            "country",
            "language",
            "time_zone",
            "account_manager",
            "acquired_at",
            "acquisition_source",
            "birth_date",
            "marketing_consent",
            "consent_at",
            "consent_source",
            "notes",
        ]
        widgets = {
            "acquired_at": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "consent_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL_FORMAT),
            "notes": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["time_zone"].choices = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]
        self.fields["consent_at"].help_text = _("Left empty, the time of saving is recorded.")
        if roles.is_administrator(user):
            self.fields["account_manager"].queryset = selectors.account_manager_list()
            self.fields["account_manager"].label_from_instance = lambda u: u.get_full_name() or u.username
        else:
            # An account manager works their own book: new customers go into it, and handing a
            # customer over to someone else is an administrator's decision.
            del self.fields["account_manager"]
        if self.instance.pk:
            self.initial["tags"] = ", ".join(tag.name for tag in self.instance.tags.all())
            self.initial["referred_by"] = self.instance.referred_by.external_id if self.instance.referred_by else ""
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = self._layout()

    def _layout(self) -> Layout:
        account = ["account_manager"] if "account_manager" in self.fields else []
        return Layout(
            Fieldset(
                _("Identity"),
                Row(Column("external_id", css_class="col-md-4"), Column("name", css_class="col-md-8")),
                Row(Column("company"), Column("tags")),
            ),
            Fieldset(
                _("Contact"),
                Row(Column("email"), Column("phone")),
                Row(Column("country"), Column("language"), Column("time_zone")),
                Row(Column("birth_date", css_class="col-md-4")),
            ),
            Fieldset(
                _("Account"),
                Row(*[Column(name) for name in [*account, "acquired_at", "acquisition_source", "referred_by"]]),
            ),
            Fieldset(
                _("Marketing consent"),
                "marketing_consent",
                Row(Column("consent_at"), Column("consent_source")),
            ),
            Fieldset(_("Notes"), "notes"),
        )

    def clean_tags(self) -> list[str]:
        names = [name.strip() for name in self.cleaned_data["tags"].split(",")]
        too_long = [name for name in names if len(name) > 50]
        if too_long:
            raise ValidationError(_("A tag can have at most 50 characters: %(tag)s") % {"tag": too_long[0][:60]})
        if any(";" in name for name in names):
            # The CSV export joins tags with semicolons; one inside a tag would split it on re-import.
            raise ValidationError(_("A tag cannot contain a semicolon (;)."))
        return [name for name in names if name]

    def clean_referred_by(self) -> Customer | None:
        external_id = self.cleaned_data["referred_by"].strip()
        if not external_id:
            return None
        referrer = selectors.customer_visible_to(self.user).filter(external_id=external_id).first()
        if referrer is None:
            raise ValidationError(
                _("No customer with the external id “%(external_id)s” was found."), params={"external_id": external_id}
            )
        if self.instance.pk and referrer.pk == self.instance.pk:
            raise ValidationError(_("A customer cannot refer themselves."))
        return referrer

    def _post_clean(self):
        # The service runs the model's full validation (uniqueness, constraints) on the real row;
        # constructing the instance here would change the caller's customer before the service sees it.
        pass

    def service_data(self) -> dict:
        """Keyword arguments for services.customer_create / customer_update."""
        return {
            name: self.cleaned_data[name] for name in [*self.Meta.fields, "referred_by", "tags"] if name in self.fields
        }


# --- Interactions -------------------------------------------------------------------------------


class InteractionForm(ServiceErrorsMixin, forms.Form):
    """A call, meeting, note (or email, complaint, ticket) logged by hand from the customer page."""

    KINDS = [
        Interaction.Kind.CALL,
        Interaction.Kind.MEETING,
        Interaction.Kind.NOTE,
        Interaction.Kind.EMAIL,
        Interaction.Kind.COMPLAINT,
        Interaction.Kind.SUPPORT_TICKET,
    ]

    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(k.value, k.label) for k in KINDS],
        initial=Interaction.Kind.CALL,
        widget=forms.RadioSelect,
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    direction = forms.ChoiceField(
        label=_("Direction"), choices=Interaction.Direction.choices, initial=Interaction.Direction.OUTBOUND
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=Interaction.Channel.choices, initial=Interaction.Channel.PHONE
    )
    occurred_at = forms.DateTimeField(
        validators=[dates.happened("occurred_at")],
        label=_("When"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL_FORMAT),
    )
    sentiment = forms.TypedChoiceField(
        label=_("Sentiment"),
        choices=[("", _("Not recorded"))] + list(Interaction.Sentiment.choices),
        coerce=int,
        empty_value=None,
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("occurred_at", timezone.localtime().replace(second=0, microsecond=0))


# --- Imports ------------------------------------------------------------------------------------

# What each format expects; shown next to the upload form.
IMPORT_FORMAT_HELP = {
    ImportJob.Format.CUSTOMERS_CSV: _(
        "CSV (UTF-8) with a header row. Required: external_id, name. Optional: email, phone, company, country, "
        "language, time_zone, account_manager (username), acquired_at (YYYY-MM-DD), birth_date (YYYY-MM-DD), "
        "acquisition_source, "
        "referred_by (external id), tags (separated by semicolons), marketing_consent (true/false), consent_at, "
        "consent_source, notes. The customer export has exactly these columns."
    ),
    ImportJob.Format.ORDERS_CSV: _(
        "CSV (UTF-8) with a header row, one row per order line. Required: order_id, customer_id (the customer's "
        "external id), ordered_at (ISO 8601), sku, quantity, unit_price. Optional: product_name, category, "
        "currency, kind (purchase or refund), status (placed, refunded or cancelled), refunded_amount (of a "
        "refunded purchase; empty: in full). The orders export has these columns."
    ),
    ImportJob.Format.ONLINE_RETAIL: _(
        "The UCI Online Retail invoice lines (CSV, may be gzipped): InvoiceNo, StockCode, Description, Quantity, "
        "InvoiceDate, UnitPrice, CustomerID, Country. Invoices starting with C are refunds; lines without a "
        "CustomerID are skipped."
    ),
    ImportJob.Format.CDNOW: _(
        "The CDNOW purchase file: whitespace-separated customer_id, date (YYYYMMDD), number_of_cds and "
        "dollar_value, one purchase per line (the master file with its header, or the sample without)."
    ),
}


class ImportUploadForm(ServiceErrorsMixin, forms.Form):
    file = forms.FileField(label=_("File"))
    format = forms.ChoiceField(label=_("Format"), choices=ImportJob.Format.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("At most %(limit)s; larger files go through the command line.") % {
            "limit": filesizeformat(settings.IMPORT_MAX_UPLOAD_BYTES)
        }

    @staticmethod
    def format_help() -> list[tuple[str, str, str]]:
        """(format, label, what it expects) of every format; the page links each to its sample file."""
        return [(value, ImportJob.Format(value).label, IMPORT_FORMAT_HELP[value]) for value in ImportJob.Format.values]


# --- Complaints page (cases: complaints, support contacts, reviews) ------------------------------


class UserChoiceField(forms.ModelChoiceField):
    """A user shown by their name (their username when they have none)."""

    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


class CaseFilterForm(forms.Form):
    """The complaints page's tabs, filters and sort order, read from the query string."""

    VIEW_CHOICES = [
        ("open", _("Open")),
        ("overdue", _("Overdue")),
        ("mine", _("Mine")),
        ("resolved", _("Resolved")),
        ("all", _("All")),
    ]
    SORT_CHOICES = [
        ("due_at", _("Due first")),
        ("-occurred_at", _("Newest first")),
        ("occurred_at", _("Oldest first")),
    ]
    UNASSIGNED = "none"

    view = forms.ChoiceField(choices=VIEW_CHOICES, required=False)
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    priority = forms.ChoiceField(label=_("Priority"), required=False)
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORT_CHOICES, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("Any kind"))] + [
            (kind.value, kind.label) for kind in Interaction.TRACKED_KINDS
        ]
        self.fields["priority"].choices = [("", _("Any priority"))] + list(Interaction.Priority.choices)
        self.fields["owner"].choices = [("", _("Anyone")), (self.UNASSIGNED, _("Nobody"))] + [
            (str(user.pk), user.get_full_name() or user.username) for user in selectors.case_owner_choices()
        ]

    def arguments(self) -> dict:
        """case_list's arguments (a field with bad input is shown with its error and ignored)."""
        self.is_valid()
        data = self.cleaned_data
        owner = data.get("owner") or ""
        return {
            "view": data.get("view") or "open",
            "kind": data.get("kind") or "",
            "priority": data.get("priority") or "",
            "owner_id": int(owner) if owner.isdigit() else None,
            "unassigned": owner == self.UNASSIGNED,
            "search": (data.get("q") or "").strip(),
            "ordering": data.get("sort") or "due_at",
        }


class CaseForm(ServiceErrorsMixin, forms.Form):
    """A complaint, support contact or review recorded by hand (the complaints page)."""

    customer = forms.CharField(
        label=_("Customer"),
        max_length=254,
        help_text=_("The customer's external id or email address."),
    )
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[(kind.value, kind.label) for kind in Interaction.TRACKED_KINDS], initial="complaint"
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    channel = forms.ChoiceField(label=_("Channel"), choices=Interaction.Channel.choices, initial="email")
    occurred_at = forms.DateTimeField(
        validators=[dates.happened("occurred_at")],
        label=_("Received"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL_FORMAT),
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Interaction.Priority.choices, initial="normal")
    owner = UserChoiceField(
        label=_("Owner"),
        queryset=None,
        required=False,
        empty_label=_("The customer's account manager"),
    )
    rating = forms.TypedChoiceField(
        label=_("Rating (reviews)"),
        choices=[("", _("No rating"))] + [(n, "★" * n) for n in range(1, 6)],
        coerce=int,
        empty_value=None,
        required=False,
    )
    review_source = forms.CharField(
        label=_("Posted on (reviews)"), max_length=64, required=False, help_text=_("Google, Trustpilot, the shop…")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["owner"].queryset = selectors.case_owner_choices()
        if not self.is_bound:
            self.initial.setdefault("occurred_at", timezone.localtime().replace(second=0, microsecond=0))

    def clean_customer(self):
        value = self.cleaned_data["customer"].strip()
        editable = selectors.customer_editable_by(self.user)
        matches = list(editable.filter(external_id=value)[:1]) or list(editable.filter(email__iexact=value)[:2])
        if not matches:
            raise ValidationError(
                _("No customer of yours has the external id or email “%(value)s”."), params={"value": value}
            )
        if len(matches) > 1:
            raise ValidationError(_("Several customers have this email: give the external id."))
        return matches[0]

    def clean(self):
        data = super().clean()
        if data.get("kind") != Interaction.Kind.REVIEW and (data.get("rating") or data.get("review_source")):
            self.add_error("rating", _("Only a review has a rating and a source."))
        return data


class CaseUpdateForm(ServiceErrorsMixin, forms.Form):
    owner = UserChoiceField(label=_("Owner"), queryset=None, required=False, empty_label=_("Nobody"))
    priority = forms.ChoiceField(label=_("Priority"), choices=Interaction.Priority.choices)
    due_at = forms.DateTimeField(
        label=_("Due"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL_FORMAT)
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = selectors.case_owner_choices()


class CaseStatusForm(ServiceErrorsMixin, forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=[(s.value, s.label) for s in Interaction.PENDING_STATUSES])
    reopen = forms.BooleanField(required=False)


class CaseResolveForm(ServiceErrorsMixin, forms.Form):
    resolution = forms.CharField(
        label=_("Resolution"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What was done for the customer."),
    )


class InboundAttachForm(ServiceErrorsMixin, forms.Form):
    customer = forms.CharField(label=_("Customer's external id"), max_length=64)

    def clean_customer(self):
        value = self.cleaned_data["customer"].strip()
        customer = Customer.objects.filter(external_id=value).first()
        if customer is None:
            raise ValidationError(_("No customer has the external id “%(value)s”."), params={"value": value})
        return customer
