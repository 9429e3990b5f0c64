"""The core of the CRM: customers, what they bought, and every exchange with them.

Nothing here imports another app of the project; other apps react to changes through
``retention_crm.events``.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from retention_crm import dates


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class CustomerQuerySet(models.QuerySet):
    def active(self):
        return self.filter(archived_at__isnull=True)


class Customer(models.Model):
    class ConsentSource(models.TextChoices):
        WEB_FORM = "web_form", _("Web form")
        CHECKOUT = "checkout", _("Checkout")
        EMAIL = "email", _("Email confirmation")
        PHONE = "phone", _("Phone call")
        IN_PERSON = "in_person", _("In person")
        IMPORT = "import", _("Import")
        API = "api", _("API")

    external_id = models.CharField(
        _("external id"), max_length=64, unique=True, help_text=_("The key shops, POS and billing use.")
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    country = models.CharField(_("country"), max_length=64, blank=True, db_index=True)
    language = models.CharField(_("preferred language"), max_length=8, choices=settings.LANGUAGES, default="en")
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="book",
    )
    acquired_at = models.DateField(
        _("acquisition date"), null=True, blank=True, validators=[dates.happened("acquired_at")]
    )
    acquisition_source = models.CharField(_("acquisition source"), max_length=64, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True, validators=[dates.born("birth_date")])
    referred_by = models.ForeignKey(
        "self",
        verbose_name=_("referred by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referrals",
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    consent_at = models.DateTimeField(
        _("consent given at"), null=True, blank=True, validators=[dates.happened("consent_at")]
    )
    consent_source = models.CharField(_("consent given by"), max_length=20, choices=ConsentSource.choices, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    # The import that created the customer or last changed their row (None: never written by an
    # import), so that a subscriber of customers.imported reaches them (selectors.import_job_customers).
    import_job = models.ForeignKey(
        "ImportJob",
        verbose_name=_("written by import"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="customers",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["account_manager", "name"]),
            # Every order the customer list and API offer, read from an index with the id as
            # tie-breaker (retention_crm.lists): for the whole base, and for one account manager's book.
            models.Index(fields=["name", "id"], name="customer_name_id"),
            models.Index(fields=["country", "id"], name="customer_country_id"),
            models.Index(fields=["acquired_at", "id"], name="customer_acquired_id"),
            models.Index(fields=["created_at", "id"], name="customer_created_id"),
            models.Index(fields=["updated_at", "id"], name="customer_updated_id"),
            models.Index(fields=["account_manager", "id"], name="customer_am_id"),
            models.Index(fields=["account_manager", "name", "id"], name="customer_am_name_id"),
            models.Index(fields=["account_manager", "country", "id"], name="customer_am_country_id"),
            models.Index(fields=["account_manager", "acquired_at", "id"], name="customer_am_acquired_id"),
            models.Index(fields=["account_manager", "created_at", "id"], name="customer_am_created_id"),
            models.Index(fields=["account_manager", "updated_at", "id"], name="customer_am_updated_id"),
            # Every filter has an index too, so that a rare value (a language few speak, the archived)
            # is found without reading the table: the filters compare country and external id
            # ignoring case, and search for text anywhere in name, email and company (trigrams,
            # PostgreSQL only; see retention_crm.migration_operations).
            models.Index(fields=["language"], name="customer_language"),
            models.Index(fields=["archived_at"], condition=Q(archived_at__isnull=False), name="customer_archived"),
            models.Index(Upper("country"), name="customer_country_upper"),
            models.Index(Upper("external_id"), name="customer_external_id_upper"),
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="customer_name_trgm"),
            GinIndex(OpClass(Upper("email"), name="gin_trgm_ops"), name="customer_email_trgm"),
            GinIndex(OpClass(Upper("company"), name="gin_trgm_ops"), name="customer_company_trgm"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(marketing_consent=False) | (Q(consent_at__isnull=False) & ~Q(consent_source="")),
                name="customer_consent_has_date_and_source",
            ),
            models.CheckConstraint(condition=~Q(referred_by=F("id")), name="customer_not_referred_by_self"),
            models.CheckConstraint(
                condition=Q(birth_date__isnull=True)
                | (Q(birth_date__gte=dates.EARLIEST_BIRTH) & Q(birth_date__lt=dates.STORED_LATEST)),
                name="customer_birth_date_in_range",
            ),
            models.CheckConstraint(condition=~Q(external_id=""), name="customer_external_id_not_empty"),
            # The fixed bounds of retention_crm.dates, whatever writes the row.
            models.CheckConstraint(
                condition=dates.stored_range("acquired_at", instant=False, nullable=True),
                name="customer_acquired_at_in_range",
            ),
            models.CheckConstraint(
                condition=dates.stored_range("consent_at", instant=True, nullable=True),
                name="customer_consent_at_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("customers:detail", args=[self.pk])

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class AccountAssignment(models.Model):
    """Who managed a customer when, so that book figures of past periods stay correct."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="assignments")
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["customer_id", "started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(ended_at__isnull=True), name="one_open_assignment_per_customer"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="assignment_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} -> {self.manager_id} from {self.started_at:%Y-%m-%d}"


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=255)
    category = models.CharField(_("category"), max_length=100, blank=True, db_index=True)
    margin = models.DecimalField(
        _("gross margin"),
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("Share of the price, 0 to 1."),
    )

    class Meta:
        ordering = ["sku"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        # The products list sorted by name (by SKU, the unique index serves).
        indexes = [models.Index(fields=["name", "id"], name="product_name_id")]
        constraints = [
            models.CheckConstraint(
                condition=Q(margin__isnull=True) | (Q(margin__gte=0) & Q(margin__lte=1)),
                name="product_margin_between_0_and_1",
            ),
            models.CheckConstraint(condition=~Q(sku=""), name="product_sku_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


# What an order is worth, the one definition (Order.net_amount is generated from it): a cancelled
# order never happened; a purchase marked refunded without an amount was given back whole; otherwise
# what was not given back (a refund order is its negative gross; the refund rule keeps a purchase's
# refunded amount within its gross, so this is never below 0 for a purchase).
ORDER_NET_AMOUNT = Case(
    When(status="cancelled", then=Value(Decimal("0"))),
    When(status="refunded", kind="purchase", refunded_amount=0, then=Value(Decimal("0"))),
    default=F("gross_amount") - F("refunded_amount"),
    output_field=models.DecimalField(max_digits=14, decimal_places=2),
)


class Order(models.Model):
    class Kind(models.TextChoices):
        PURCHASE = "purchase", _("Purchase")
        REFUND = "refund", _("Refund")

    class Status(models.TextChoices):
        PLACED = "placed", _("Placed")
        REFUNDED = "refunded", _("Refunded")
        CANCELLED = "cancelled", _("Cancelled")

    external_id = models.CharField(_("external id"), max_length=64, unique=True)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="orders")
    ordered_at = models.DateTimeField(_("ordered at"), validators=[dates.happened("ordered_at")])
    currency = models.CharField(_("currency"), max_length=3, default="GBP")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PURCHASE)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PLACED)
    gross_amount = models.DecimalField(_("gross amount"), max_digits=14, decimal_places=2, default=Decimal("0"))
    refunded_amount = models.DecimalField(_("refunded amount"), max_digits=14, decimal_places=2, default=Decimal("0"))
    # Computed by the database from the columns above (ORDER_NET_AMOUNT), so that no writer (ORM,
    # import SQL, demo, COPY) can store another value, and metrics sum one stored column.
    net_amount = models.GeneratedField(
        expression=ORDER_NET_AMOUNT,
        output_field=models.DecimalField(_("net amount"), max_digits=14, decimal_places=2),
        db_persist=True,
        verbose_name=_("net amount"),
    )
    # The import that created the order or last changed it (None: never written by an import), so
    # that a subscriber of orders.imported reaches the orders of a job (selectors.import_job_orders).
    import_job = models.ForeignKey(
        "ImportJob",
        verbose_name=_("written by import"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-ordered_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["customer", "ordered_at"]),
            # The orders list, newest first (retention_crm.lists), and its filters. The included
            # columns let a filtered page (an account manager's book, the refunds) skip the rows that
            # do not match without reading the table: 62 against 300 ms for the refunds of a
            # 5,000-customer book among ten million orders.
            models.Index(
                fields=["ordered_at", "id"],
                include=("customer_id", "kind", "status", "currency"),
                name="order_ordered_at_id",
            ),
            models.Index(fields=["kind"], name="order_kind"),
            models.Index(fields=["status"], name="order_status"),
            models.Index(fields=["currency"], name="order_currency"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="purchase") & Q(gross_amount__gte=0)) | (Q(kind="refund") & Q(gross_amount__lte=0)),
                name="order_gross_sign_matches_kind",
            ),
            models.CheckConstraint(condition=Q(refunded_amount__gte=0), name="order_refund_not_negative"),
            models.CheckConstraint(condition=~Q(external_id=""), name="order_external_id_not_empty"),
            # The fixed bounds of retention_crm.dates, whatever writes the row (the import's COPY too).
            models.CheckConstraint(
                condition=dates.stored_range("ordered_at", instant=True), name="order_ordered_at_in_range"
            ),
            # ORDER_NET_AMOUNT reads the status: a status it does not know would be worth its gross.
            models.CheckConstraint(
                condition=Q(status__in=["placed", "refunded", "cancelled"]), name="order_status_valid"
            ),
            # The refund rule (customers.order_rules): only a purchase is refunded, never beyond its gross.
            models.CheckConstraint(
                condition=Q(refunded_amount=0) | (Q(kind="purchase") & Q(refunded_amount__lte=F("gross_amount"))),
                name="order_refund_only_of_a_purchase_up_to_its_gross",
            ),
        ]

    def __str__(self) -> str:
        return self.external_id

    @classmethod
    def from_db(cls, db, field_names, values):
        order = super().from_db(db, field_names, values)
        # The customer the order was read with: customers.rollups refreshes both when it moves.
        order._loaded_customer_id = order.__dict__.get("customer_id")
        return order

    @property
    def is_purchase(self) -> bool:
        return self.net_amount > 0


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.IntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=4)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["order_id", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="order_line_number_unique"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_line_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.line_number}"


class CustomerDay(models.Model):
    """A customer's orders on one calendar day of the workspace time zone, summed (customers.rollups).

    Kept equal to a GROUP BY over the orders by every writer of orders, so that the nightly metrics
    recompute reads one narrow row per customer and day instead of grouping ten million orders. The
    table can always be rebuilt from the orders (``manage.py rebuild_customer_rollups``).
    """

    pk = models.CompositePrimaryKey("customer_id", "day")
    # The primary key (customer_id, day) indexes customer_id already.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    # Net sum of the day's orders, refunds and cancellations included (what the day was worth).
    # Summed exactly (numeric) and stored as the nearest double: the form the analytics compute in,
    # so that reading ten million of them converts nothing. Money of record stays on Order.
    amount = models.FloatField()
    # Sum of the day's orders whose net amount is positive: > 0 makes the day a purchase day.
    purchase_amount = models.FloatField()
    orders = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("customer day")
        verbose_name_plural = _("customer days")
        indexes = [
            # A range of days of every customer (book performance for a period it did not store):
            # read from this index alone, without the table's rows, which lie in customer order.
            models.Index(
                fields=["day"], include=("customer_id", "amount", "purchase_amount"), name="customer_day_by_day"
            )
        ]
        constraints = [
            models.CheckConstraint(condition=Q(purchase_amount__gte=0), name="customer_day_purchase_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.day}"


class CustomerUpsell(models.Model):
    """The first day (workspace time zone) a customer bought a product that was not in their first
    purchase (docs metrics.md, "upsell"); no row for a customer who never did. Kept up to date with
    CustomerDay by customers.rollups, so that upsell figures need not join every order line.

    As of any date d, the customer counts as upsold exactly when day <= d: the first purchase and
    every earlier product are older than that day, so orders after d cannot change it.
    """

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, primary_key=True, related_name="+")
    day = models.DateField()

    class Meta:
        verbose_name = _("customer upsell")
        verbose_name_plural = _("customer upsells")

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.day}"


class CustomerFirstPurchase(models.Model):
    """The first purchase day (workspace time zone) of a customer: their first day with an order of
    positive net amount, the first CustomerDay with purchase_amount > 0; no row for a customer who
    never bought. Kept with CustomerDay by customers.rollups, so that "a buyer by d" and "new after
    s" of a million customers are one narrow read instead of a GROUP BY over every day total.

    It follows the orders as CustomerDay does: cancelling, refunding in full or deleting the first
    order (its net amount to zero, or gone) moves it to the next purchase day.
    """

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, primary_key=True, related_name="+")
    day = models.DateField()

    class Meta:
        verbose_name = _("customer first purchase")
        verbose_name_plural = _("customer first purchases")

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.day}"


class RollupBacklog(models.Model):
    """A customer whose rollups (CustomerDay, CustomerUpsell) a set-based writer of orders has yet
    to refresh: an import queues its customers here in its own transaction and a task refreshes them
    in chunks after it commits. Readers of the rollups drain the backlog first (customers.rollups)."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, primary_key=True, related_name="+")
    queued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("customer waiting for its rollups")
        verbose_name_plural = _("customers waiting for their rollups")

    def __str__(self) -> str:
        return str(self.customer_id)


class Interaction(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        MEETING = "meeting", _("Meeting")
        EMAIL = "email", _("Email")
        NOTE = "note", _("Note")
        COMPLAINT = "complaint", _("Complaint")
        SUPPORT_TICKET = "support_ticket", _("Support ticket")
        REVIEW = "review", _("Review")
        SOCIAL = "social", _("Social media")
        EVENT_INVITATION = "event_invitation", _("Event invitation")
        SURVEY = "survey", _("Survey answer")
        LOYALTY = "loyalty", _("Loyalty")
        SYSTEM = "system", _("System")

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")
        INTERNAL = "internal", _("Internal")

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")
        IN_PERSON = "in_person", _("In person")
        VIDEO = "video", _("Video call")
        CHAT = "chat", _("Chat")
        SMS = "sms", _("SMS")
        SOCIAL = "social", _("Social media")
        WEB = "web", _("Web")
        OTHER = "other", _("Other")

    class Sentiment(models.IntegerChoices):
        NEGATIVE = -1, _("Negative")
        NEUTRAL = 0, _("Neutral")
        POSITIVE = 1, _("Positive")

    class Outcome(models.TextChoices):
        """How a call or meeting went: what the account manager's next step depends on."""

        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        LEFT_MESSAGE = "left_message", _("Left a message")
        MEETING_BOOKED = "meeting_booked", _("Meeting booked")
        NOT_INTERESTED = "not_interested", _("Not interested")

    class Status(models.TextChoices):
        """Where a complaint, support contact or review stands (blank for the other kinds)."""

        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        RESOLVED = "resolved", _("Resolved")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    # Kinds that are cases: open until someone resolves them, with an owner, a priority and a due
    # time (docs/complaints.md). The complaints page lists them.
    TRACKED_KINDS = (Kind.COMPLAINT, Kind.SUPPORT_TICKET, Kind.REVIEW)
    # A case is due this long after it arrived, by priority, unless someone sets its due time.
    DUE_AFTER_HOURS = {Priority.URGENT: 4, Priority.HIGH: 24, Priority.NORMAL: 72, Priority.LOW: 168}
    # The statuses of a case still waiting for someone.
    PENDING_STATUSES = (Status.OPEN, Status.IN_PROGRESS)
    # The kinds that are a conversation with the customer: the worklist's "last contact", and a
    # recent one lowers the row's urgency for a while (contact_plans.worklist).
    CONTACT_KINDS = (Kind.CALL, Kind.MEETING)

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="interactions"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.OUTBOUND)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.OTHER)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), validators=[dates.happened("occurred_at")])
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    sentiment = models.SmallIntegerField(_("sentiment"), choices=Sentiment.choices, null=True, blank=True)
    # Blank when not recorded (emails, notes, imported history).
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True, default="")
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    # A case (TRACKED_KINDS): who deals with it, how urgent, by when, where it stands and how it ended.
    # Blank for the other kinds (a constraint keeps both sides true).
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, blank=True, default="")
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_cases",
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # A review's stars (1 to 5) and where it was posted (a shop, Google, Trustpilot…).
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    review_source = models.CharField(_("review source"), max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [
            models.Index(fields=["customer", "-occurred_at"]),
            models.Index(fields=["kind", "resolved_at"]),
            # The interactions list, newest first (retention_crm.lists), its filters (read from the
            # index, as for orders) and its search.
            models.Index(
                fields=["occurred_at", "id"],
                include=("customer_id", "kind", "direction", "channel"),
                name="interaction_occurred_id",
            ),
            # Per filter, in the list's order with the customer included: a book's page of one kind
            # reads the index alone (190 against 10 ms for a 5,000-customer book's complaints).
            models.Index(
                fields=["kind", "occurred_at", "id"], include=("customer_id",), name="interaction_kind_occurred"
            ),
            models.Index(
                fields=["direction", "occurred_at", "id"], include=("customer_id",), name="interaction_direction"
            ),
            models.Index(fields=["channel", "occurred_at", "id"], include=("customer_id",), name="interaction_channel"),
            # The worklist's "oldest open complaint" of each customer of a book: a probe of a small index.
            models.Index(
                fields=["customer", "occurred_at", "id"],
                condition=Q(kind="complaint", resolved_at__isnull=True),
                name="interaction_open_complaint",
            ),
            GinIndex(OpClass(Upper("subject"), name="gin_trgm_ops"), name="interaction_subject_trgm"),
            # The worklist's last call or meeting of each customer of a book (it ranks the whole book,
            # a recent contact lowering the urgency): one probe of a small index per customer.
            models.Index(
                fields=["customer", "-occurred_at", "-id"],
                condition=Q(kind__in=["call", "meeting"]),
                name="interaction_last_contact",
            ),
            # The complaints page: every case newest first, the waiting ones by due time (open,
            # overdue), one owner's ("mine"), and the worklist's oldest overdue case of a customer.
            models.Index(
                fields=["occurred_at", "id"],
                include=("customer_id", "status"),
                condition=Q(kind__in=["complaint", "support_ticket", "review"]),
                name="interaction_case_occurred",
            ),
            models.Index(
                fields=["due_at", "id"],
                include=("customer_id",),
                condition=Q(status__in=["open", "in_progress"]),
                name="interaction_case_pending_due",
            ),
            models.Index(
                fields=["due_at", "id"],
                include=("customer_id", "status"),
                condition=Q(kind__in=["complaint", "support_ticket", "review"]),
                name="interaction_case_due",
            ),
            models.Index(
                fields=["owner", "due_at", "id"],
                condition=Q(status__in=["open", "in_progress"]),
                name="interaction_case_owner_due",
            ),
            models.Index(
                fields=["customer", "due_at"],
                condition=Q(status__in=["open", "in_progress"]),
                name="interaction_case_customer_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(subject=""), name="interaction_subject_not_empty"),
            models.CheckConstraint(
                condition=dates.stored_range("occurred_at", instant=True), name="interaction_occurred_at_in_range"
            ),
            # Only the TRACKED_KINDS (complaints, tickets) are resolved.
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(kind__in=["complaint", "support_ticket", "review"]),
                name="interaction_resolved_only_when_tracked",
            ),
            # A case has a status and a priority from their choices; any other interaction has neither.
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["complaint", "support_ticket", "review"])
                    & Q(status__in=["open", "in_progress", "resolved"])
                    & Q(priority__in=["low", "normal", "high", "urgent"])
                )
                | (
                    ~Q(kind__in=["complaint", "support_ticket", "review"])
                    & Q(status="")
                    & Q(priority="")
                    & Q(due_at__isnull=True)
                    & Q(owner__isnull=True)
                ),
                name="interaction_case_fields_follow_kind",
            ),
            # Resolved exactly when it has a resolution time.
            models.CheckConstraint(
                condition=(Q(status="resolved") & Q(resolved_at__isnull=False))
                | (~Q(status="resolved") & Q(resolved_at__isnull=True)),
                name="interaction_resolved_at_with_status",
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | (Q(kind="review") & Q(rating__gte=1) & Q(rating__lte=5)),
                name="interaction_rating_of_a_review_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(sentiment__isnull=True) | (Q(sentiment__gte=-1) & Q(sentiment__lte=1)),
                name="interaction_sentiment_in_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    outcome__in=["", "reached", "no_answer", "left_message", "meeting_booked", "not_interested"]
                ),
                name="interaction_outcome_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_open(self) -> bool:
        return self.kind in self.TRACKED_KINDS and self.resolved_at is None

    @property
    def is_case(self) -> bool:
        return self.kind in self.TRACKED_KINDS

    @property
    def is_overdue(self) -> bool:
        from django.utils import timezone

        return self.is_open and self.due_at is not None and self.due_at < timezone.now()

    @property
    def time_to_resolve(self):
        """How long it took from arrival to resolution (a timedelta), None while open."""
        if self.resolved_at is None:
            return None
        return self.resolved_at - self.occurred_at

    def get_case_url(self) -> str:
        return reverse("complaints:detail", args=[self.pk])


# The statuses a case is moved to by hand (resolving takes a resolution): forms and the API offer these.
CASE_PENDING_STATUS_CHOICES = [(s.value, s.label) for s in Interaction.PENDING_STATUSES]


class InteractionChange(models.Model):
    """One change of a case (complaint, support contact, review): shown under it on the customer's
    timeline and on the case's page, so that who did what and when is never lost."""

    class Field(models.TextChoices):
        STATUS = "status", _("Status")
        OWNER = "owner", _("Owner")
        PRIORITY = "priority", _("Priority")
        DUE_AT = "due_at", _("Due")
        RESOLUTION = "resolution", _("Resolution")

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="changes")
    field = models.CharField(_("field"), max_length=12, choices=Field.choices)
    # The values as plain data: a status or priority code, an owner's username, an ISO date-time.
    old_value = models.CharField(_("before"), max_length=200, blank=True)
    new_value = models.CharField(_("after"), max_length=200, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        ordering = ["interaction_id", "at", "id"]
        verbose_name = _("case change")
        verbose_name_plural = _("case changes")
        indexes = [models.Index(fields=["interaction", "at", "id"], name="interactionchange_case_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(field__in=["status", "owner", "priority", "due_at", "resolution"]),
                name="interactionchange_field_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.interaction_id} {self.field}: {self.old_value} -> {self.new_value}"


class InboundEmail(models.Model):
    """An email that reached the inbound webhook (email-in). One from a known customer became a case
    at once (``interaction``); one from an address no customer has waits here, unmatched, until an
    administrator attaches it to a customer or discards it (the complaints page)."""

    class Status(models.TextChoices):
        MATCHED = "matched", _("Recorded as a case")
        UNMATCHED = "unmatched", _("Sender unknown")
        DISCARDED = "discarded", _("Discarded")

    message_id = models.CharField(_("message id"), max_length=255, blank=True)
    sender = models.EmailField(_("from"), max_length=254)
    sender_name = models.CharField(_("sender's name"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    interaction = models.OneToOneField(
        Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_email"
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("inbound email")
        verbose_name_plural = _("inbound emails")
        indexes = [
            models.Index(fields=["received_at", "id"], condition=Q(status="unmatched"), name="inboundemail_unmatched")
        ]
        constraints = [
            # A provider may deliver the same message twice: it is recorded once.
            models.UniqueConstraint(
                fields=["message_id"], condition=~Q(message_id=""), name="inboundemail_message_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["matched", "unmatched", "discarded"]), name="inboundemail_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.subject


class ImportJob(models.Model):
    class Format(models.TextChoices):
        CUSTOMERS_CSV = "customers", _("Customers (CSV)")
        ORDERS_CSV = "orders", _("Orders (CSV, one row per order line)")
        ONLINE_RETAIL = "online-retail", _("Online Retail invoice lines")
        CDNOW = "cdnow", _("CDNOW purchases")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Finished")
        FAILED = "failed", _("Refused")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    format = models.CharField(_("format"), max_length=20, choices=Format.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    original_name = models.CharField(_("file name"), max_length=255)
    path = models.CharField(max_length=500, help_text="Where the uploaded file waits for the worker.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Touched by the running task (retention_crm.heartbeat): a job silent for too long lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total_bytes = models.BigIntegerField(default=0)
    processed_bytes = models.BigIntegerField(default=0)
    rows_read = models.PositiveIntegerField(default=0)
    rows_skipped = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    # The language of whoever uploaded the file: the worker writes the job's message and the row
    # errors in it (a worker has no reader of its own, and would write English for everyone).
    language = models.CharField(_("language"), max_length=8, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        # The imports list, newest first: everybody's (administrators) and one's own.
        indexes = [
            models.Index(fields=["created_at", "id"], name="importjob_created_id"),
            models.Index(fields=["created_by", "created_at", "id"], name="importjob_by_created_id"),
        ]
        constraints = [
            # A job is claimed with UPDATE ... WHERE status = 'queued' and run by its format: a value
            # outside the choices would never be claimed, or be claimed and refused.
            # (Meta cannot see Status and Format: the values are spelled out, and a test compares them.)
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "succeeded", "failed"]), name="importjob_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(format__in=["customers", "orders", "online-retail", "cdnow"]), name="importjob_format_valid"
            ),
            models.CheckConstraint(
                condition=Q(processed_bytes__gte=0) & Q(processed_bytes__lte=F("total_bytes")),
                name="importjob_processed_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_format_display()}: {self.original_name}"

    @property
    def progress_percent(self) -> int:
        if self.status in (self.Status.SUCCEEDED, self.Status.FAILED):
            return 100
        if not self.total_bytes:
            return 0
        # Reading the file is most of the work; the last 10% is the final merge.
        return min(90, int(90 * self.processed_bytes / self.total_bytes))

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    class Outcome(models.TextChoices):
        """What happened, as the page and the API say it: ``status`` says "succeeded" for any file
        that was read to its end, even when every row of it was bad."""

        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FINISHED_WITH_ERRORS = "finished_with_errors", _("Finished with errors")
        NOTHING_IMPORTED = "nothing_imported", _("Nothing imported")
        REFUSED = "refused", _("Refused")

    @property
    def outcome(self) -> str:
        if self.status == self.Status.FAILED:
            return self.Outcome.REFUSED
        if self.status != self.Status.SUCCEEDED:
            return self.Outcome(self.status)
        if self.created_count + self.updated_count + self.unchanged_count == 0:
            return self.Outcome.NOTHING_IMPORTED
        if self.error_count:
            return self.Outcome.FINISHED_WITH_ERRORS
        return self.Outcome.FINISHED

    @property
    def outcome_label(self) -> str:
        return self.Outcome(self.outcome).label


class ImportRowError(models.Model):
    """One bad field of an import: its line and column, and what is wrong with the value read (quoted and
    cut short, formats.shown_value), so that the person who imported the file can find and fix it."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    line = models.PositiveIntegerField()
    column = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=255)

    class Meta:
        ordering = ["job", "line", "id"]
        # A job's bad rows, page by page in the order of the file.
        indexes = [models.Index(fields=["job", "line", "id"], name="importrowerror_job_line_id")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"
