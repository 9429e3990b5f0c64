"""The loyalty programme: members, the points ledger, earning rules and tiers.

The ledger is the record: every change of points is one append-only ``LedgerEntry`` (earn, redeem,
expire, adjust, reverse) with its reason and source. ``Member.points`` is a cache of the sum of a
member's entries, kept by every writer in the transaction that writes the entry (the member's row is
locked first, so writers of one member queue up), never below zero (a constraint), and compared with
the sum by ``loyalty.selectors.balance_drift`` (a test, and the nightly ``loyalty_balances_check``).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, Order


class TierBasis(models.TextChoices):
    POINTS = "points", _("Points earned")
    SPEND = "spend", _("Spend")


class TierWindow(models.TextChoices):
    ROLLING_12_MONTHS = "rolling_12_months", _("Rolling 12 months")
    CALENDAR_YEAR = "calendar_year", _("Calendar year")


class Programme(models.Model):
    """The programme's settings: one row (pk 1), created by the migration."""

    name = models.CharField(_("name"), max_length=100, default="Loyalty")
    # Points expire this many days after they were earned (None: never); the oldest go first.
    expiry_days = models.PositiveIntegerField(_("points expire after (days)"), null=True, blank=True, default=365)
    reminder_days = models.PositiveIntegerField(_("remind this many days before points expire"), default=30)
    # What one point is worth to the business: the outstanding liability is the balance times this.
    point_value = models.DecimalField(_("value of one point"), max_digits=10, decimal_places=4, default="0.0100")
    # Every tier is reached the same way, so that "the next tier" has one meaning.
    tier_basis = models.CharField(_("tiers reached by"), max_length=10, choices=TierBasis.choices, default="points")
    tier_window = models.CharField(
        _("tiers counted over"), max_length=20, choices=TierWindow.choices, default="rolling_12_months"
    )
    tier_grace_days = models.PositiveIntegerField(_("grace period before a downgrade (days)"), default=30)
    # Referrals: the referrer (and the referred customer) earn these points once the referred
    # customer's first purchase has gone ``referral_wait_days`` without a refund (loyalty.referrals).
    referral_reward_points = models.PositiveIntegerField(_("points for the referrer"), default=0)
    referred_reward_points = models.PositiveIntegerField(_("points for the referred customer"), default=0)
    referral_wait_days = models.PositiveIntegerField(_("days a first purchase must stand unrefunded"), default=30)
    # Where a referral link sends the visitor (with ?ref=<code>); empty: the link's page shows the code.
    shop_url = models.URLField(_("shop address"), blank=True)
    birthday_bonus_points = models.PositiveIntegerField(_("birthday bonus (points)"), default=0)

    class Meta:
        verbose_name = _("loyalty programme")
        verbose_name_plural = _("loyalty programmes")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="loyalty_programme_single_row"),
            models.CheckConstraint(condition=Q(point_value__gte=0), name="loyalty_point_value_not_negative"),
            models.CheckConstraint(condition=Q(tier_basis__in=["points", "spend"]), name="loyalty_tier_basis_valid"),
            models.CheckConstraint(
                condition=Q(tier_window__in=["rolling_12_months", "calendar_year"]), name="loyalty_tier_window_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ProgrammeChange(models.Model):
    """Who changed which setting of the programme, when, from what to what (the settings page's
    history; never edited)."""

    field = models.CharField(_("setting"), max_length=50)
    old_value = models.CharField(_("before"), max_length=250, blank=True)
    new_value = models.CharField(_("after"), max_length=250, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("programme change")
        verbose_name_plural = _("programme changes")

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value} -> {self.new_value}"


class Tier(models.Model):
    """A level reached by points earned or spend (Programme.tier_basis) of at least ``threshold``."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    threshold = models.DecimalField(_("threshold"), max_digits=14, decimal_places=2)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, default=0)
    earn_multiplier = models.DecimalField(_("earning multiplier"), max_digits=6, decimal_places=3, default=1)
    benefits = models.TextField(_("other benefits"), blank=True, help_text=_("Free gift, event invitations…"))

    class Meta:
        ordering = ["threshold", "id"]
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gte=0), name="loyalty_tier_threshold_not_negative"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100), name="loyalty_tier_discount_0_100"
            ),
            models.CheckConstraint(condition=Q(earn_multiplier__gte=0), name="loyalty_tier_multiplier_not_negative"),
            models.CheckConstraint(condition=~Q(name=""), name="loyalty_tier_name_not_empty"),
            models.UniqueConstraint(fields=["threshold"], name="loyalty_tier_threshold_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    """An enrolled customer, with the cached balance (the sum of their entries) and their tier."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), primary_key=True, on_delete=models.PROTECT, related_name="loyalty_member"
    )
    enrolled_at = models.DateTimeField(_("enrolled at"))
    points = models.BigIntegerField(_("points balance"), default=0)
    tier = models.ForeignKey(
        Tier, verbose_name=_("tier"), null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    tier_since = models.DateTimeField(_("in this tier since"), null=True, blank=True)
    # Set when the member no longer qualifies for their tier: they keep it until then.
    tier_grace_until = models.DateField(_("keeps the tier until"), null=True, blank=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [models.CheckConstraint(condition=Q(points__gte=0), name="loyalty_member_points_not_negative")]

    def __str__(self) -> str:
        return str(self.customer_id)


class LedgerEntry(models.Model):
    """One change of a member's points. Never updated, never deleted (a correction is a new entry)."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        REDEEM = "redeem", _("Redeemed")
        EXPIRE = "expire", _("Expired")
        ADJUST = "adjust", _("Adjusted")
        REVERSE = "reverse", _("Reversed")

    class Source(models.TextChoices):
        ORDER = "order", _("Order")
        SIGNUP = "signup", _("Sign-up bonus")
        REWARD = "reward", _("Reward")
        USER = "user", _("User")
        EXPIRY = "expiry", _("Expiry")
        REFERRAL = "referral", _("Referral")
        BIRTHDAY = "birthday", _("Birthday bonus")

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    points = models.BigIntegerField(_("points"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    order = models.ForeignKey(
        Order, verbose_name=_("order"), null=True, blank=True, on_delete=models.PROTECT, related_name="loyalty_entries"
    )
    redemption = models.OneToOneField(
        "Redemption",
        verbose_name=_("redemption"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entry",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # A positive entry's points expire then (None: never). A reversal carries the expiry of the
    # points it takes back, so that expiry (oldest first) never counts them twice (services.expiry).
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    # What makes a bonus once-only ("birthday:<member>:<year>", "referrer:<referred>",
    # "referred:<referred>"): unique when set, so no retry or second run awards it twice.
    key = models.CharField(_("once-only key"), max_length=64, blank=True, default="", db_default="")
    occurred_at = models.DateTimeField(_("occurred at"))
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        # In the order recorded (an imported order's entry may be dated earlier than the last one).
        ordering = ["-id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        indexes = [
            # One member's ledger, newest first (retention_crm.lists: an index in the list's order).
            models.Index(fields=["member", "id"], name="loyalty_entry_member_id"),
            models.Index(fields=["order"], condition=Q(order__isnull=False), name="loyalty_entry_order"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["earn", "redeem", "expire", "adjust", "reverse"]), name="loyalty_entry_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=["order", "signup", "reward", "user", "expiry", "referral", "birthday"]),
                name="loyalty_entry_source_valid",
            ),
            # The sign of an entry is its kind's: earning adds, redeeming, expiring and reversing take
            # away, an adjustment does either; no entry is worth nothing.
            models.CheckConstraint(
                condition=(Q(kind="earn") & Q(points__gt=0))
                | (Q(kind__in=["redeem", "expire", "reverse"]) & Q(points__lt=0))
                | (Q(kind="adjust") & ~Q(points=0)),
                name="loyalty_entry_sign_matches_kind",
            ),
            # An adjustment says why and who; an order's points name the order.
            models.CheckConstraint(
                condition=~Q(kind="adjust") | (~Q(reason="") & Q(created_by__isnull=False)),
                name="loyalty_adjustment_has_reason_and_author",
            ),
            models.CheckConstraint(
                condition=~Q(source="order") | Q(order__isnull=False), name="loyalty_order_entry_names_order"
            ),
            models.CheckConstraint(
                condition=~Q(kind="redeem") | Q(redemption__isnull=False), name="loyalty_redeem_entry_names_redemption"
            ),
            # An order earns once, and a member gets one sign-up bonus, whoever retries.
            models.UniqueConstraint(
                fields=["order"], condition=Q(kind="earn", source="order"), name="loyalty_order_earns_once"
            ),
            models.UniqueConstraint(
                fields=["member"], condition=Q(kind="earn", source="signup"), name="loyalty_one_signup_bonus"
            ),
            models.UniqueConstraint(fields=["key"], condition=~Q(key=""), name="loyalty_entry_key_once"),
            models.CheckConstraint(
                condition=~Q(source__in=["referral", "birthday"]) | (Q(kind="earn") & ~Q(key="")),
                name="loyalty_bonus_entry_has_key",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=F("occurred_at")) | Q(kind="reverse"),
                name="loyalty_entry_expires_after_it_occurs",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.kind} {self.points:+d}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("ledger entries are append-only: write a new entry instead")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("ledger entries are append-only: write a new entry instead")


class EarningRule(models.Model):
    """How orders earn points, from ``starts_at`` (and until ``ends_at``, when set).

    A change of a rule is a new rule from its effective date (the old one ends then): an order earns
    by the rules in force when it was placed, and the points already in the ledger are never
    rewritten.
    """

    class Kind(models.TextChoices):
        BASE = "base", _("Points per currency unit")
        PRODUCT = "product", _("Product multiplier")
        CATEGORY = "category", _("Category multiplier")
        PROMOTION = "promotion", _("Promotion multiplier")
        FIRST_PURCHASE = "first_purchase", _("First-purchase bonus")
        SIGNUP = "signup", _("Sign-up bonus")

    MULTIPLIER_KINDS = (Kind.PRODUCT, Kind.CATEGORY, Kind.PROMOTION)
    BONUS_KINDS = (Kind.FIRST_PURCHASE, Kind.SIGNUP)

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    # Points per currency unit (base), a multiplier (product, category, promotion) or points (bonus).
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=4)
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    category = models.CharField(_("category"), max_length=100, blank=True)
    starts_at = models.DateTimeField(_("in force from"))
    ends_at = models.DateTimeField(_("in force until"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-starts_at", "id"]
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["base", "product", "category", "promotion", "first_purchase", "signup"]),
                name="loyalty_rule_kind_valid",
            ),
            # A rule never awards negative points.
            models.CheckConstraint(condition=Q(value__gte=0), name="loyalty_rule_value_not_negative"),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")), name="loyalty_rule_ends_after_start"
            ),
            models.CheckConstraint(condition=~Q(kind="product") | ~Q(sku=""), name="loyalty_product_rule_has_sku"),
            models.CheckConstraint(
                condition=~Q(kind="category") | ~Q(category=""), name="loyalty_category_rule_has_category"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TierChange(models.Model):
    """A member's move between tiers (for the movements figures and the timeline)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="tier_changes")
    from_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["changed_at"], name="loyalty_tierchange_at")]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.from_tier_id} -> {self.to_tier_id}"


class Reward(models.Model):
    """Something a member buys with points: optional stock, a limit per member, a validity."""

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    points_cost = models.PositiveIntegerField(_("points"))
    # None: unlimited. Taken with a conditional UPDATE (stock > 0), so it never goes below zero.
    stock = models.PositiveIntegerField(_("stock"), null=True, blank=True)
    per_customer_limit = models.PositiveIntegerField(_("limit per customer"), null=True, blank=True)
    valid_from = models.DateTimeField(_("available from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("available until"), null=True, blank=True)
    # How long a redemption's code can be used in the shop.
    code_valid_days = models.PositiveIntegerField(_("code valid for (days)"), default=90)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["points_cost", "id"]
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        constraints = [
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="loyalty_reward_costs_points"),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="loyalty_reward_stock_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(per_customer_limit__isnull=True) | Q(per_customer_limit__gt=0),
                name="loyalty_reward_limit_positive",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_until__isnull=True) | Q(valid_until__gt=F("valid_from")),
                name="loyalty_reward_valid_until_after_from",
            ),
            models.CheckConstraint(condition=Q(code_valid_days__gt=0), name="loyalty_reward_code_valid_days_positive"),
            models.CheckConstraint(condition=~Q(name=""), name="loyalty_reward_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class Redemption(models.Model):
    """A reward bought with points: a single-use code the shop checks and marks used."""

    reward = models.ForeignKey(Reward, verbose_name=_("reward"), on_delete=models.PROTECT, related_name="redemptions")
    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="redemptions")
    points = models.PositiveIntegerField(_("points"))
    code = models.CharField(_("code"), max_length=20, unique=True)
    created_at = models.DateTimeField(_("redeemed at"))
    code_expires_at = models.DateTimeField(_("code valid until"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        indexes = [models.Index(fields=["member", "reward"], name="loyalty_redemption_member")]
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="loyalty_redemption_points_positive"),
            models.CheckConstraint(
                condition=Q(used_at__isnull=True) | Q(used_at__gte=F("created_at")),
                name="loyalty_code_used_after_issue",
            ),
            models.CheckConstraint(
                condition=Q(code_expires_at__gt=F("created_at")), name="loyalty_code_expires_after_issue"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class ReferralCode(models.Model):
    """A member's referral code: their link (/loyalty/r/<code>/) and what a shop passes to the API."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), primary_key=True, on_delete=models.CASCADE, related_name="referral_code"
    )
    code = models.CharField(_("code"), max_length=16, unique=True)
    visits = models.PositiveIntegerField(_("link visits"), default=0)
    last_visit_at = models.DateTimeField(_("last visit"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("referral code")
        verbose_name_plural = _("referral codes")
        constraints = [models.CheckConstraint(condition=~Q(code=""), name="loyalty_referral_code_not_empty")]

    def __str__(self) -> str:
        return self.code


class Contest(models.Model):
    """A time-boxed contest for members: entries by the rule over [starts_at, ends_at), a prize,
    winners by a seeded draw anyone can re-run (loyalty.contests.draw_winners)."""

    class EntryRule(models.TextChoices):
        PURCHASE = "purchase", _("One entry per purchase of at least an amount")
        POINTS = "points", _("One entry per N points earned")
        SURVEY = "survey", _("One entry per survey answered")

    class WinnerMethod(models.TextChoices):
        DRAW = "draw", _("A draw among the entries")
        RANKING = "ranking", _("The most points earned in the period")

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    prize = models.CharField(_("prize"), max_length=200)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    entry_rule = models.CharField(_("entries"), max_length=10, choices=EntryRule.choices, default="purchase")
    min_amount = models.DecimalField(
        _("minimum purchase"), max_digits=14, decimal_places=2, default=0, help_text=_("For one entry per purchase.")
    )
    points_per_entry = models.PositiveIntegerField(
        _("points per entry"), default=100, help_text=_("For one entry per N points earned.")
    )
    winners_count = models.PositiveIntegerField(_("number of winners"), default=1)
    winner_method = models.CharField(
        _("winners"),
        max_length=10,
        choices=WinnerMethod.choices,
        default="draw",
        help_text=_("A ranking takes the members with the most points earned in the period."),
    )
    # Chosen when the contest is created and shown from then on: the draw is a function of the
    # seed and the entries alone, so anyone can re-run it.
    seed = models.CharField(_("seed"), max_length=64)
    drawn_at = models.DateTimeField(_("drawn at"), null=True, blank=True)
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("drawn by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = _("contest")
        verbose_name_plural = _("contests")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="loyalty_contest_ends_after_start"),
            models.CheckConstraint(condition=Q(winners_count__gte=1), name="loyalty_contest_has_winners"),
            models.CheckConstraint(condition=Q(min_amount__gte=0), name="loyalty_contest_min_amount_not_negative"),
            models.CheckConstraint(condition=Q(points_per_entry__gte=1), name="loyalty_contest_points_per_entry"),
            models.CheckConstraint(
                condition=Q(entry_rule__in=["purchase", "points", "survey"]), name="loyalty_contest_rule"
            ),
            models.CheckConstraint(condition=Q(winner_method__in=["draw", "ranking"]), name="loyalty_contest_method"),
            # A ranking is by points earned: its entries are the points.
            models.CheckConstraint(
                condition=Q(winner_method="draw") | Q(entry_rule="points"), name="loyalty_contest_ranking_by_points"
            ),
            models.CheckConstraint(condition=~Q(seed=""), name="loyalty_contest_has_seed"),
            models.CheckConstraint(
                condition=Q(drawn_at__isnull=True) | Q(drawn_at__gte=F("ends_at")),
                name="loyalty_contest_drawn_after_end",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ContestEntry(models.Model):
    """A member's entries in a contest (written when it is drawn, from the period's orders or points)."""

    contest = models.ForeignKey(Contest, on_delete=models.CASCADE, related_name="entries")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="contest_entries")
    tickets = models.PositiveIntegerField(_("entries"))
    # Of a ranking: the member's points earned in the period (its score) and when they reached that
    # total (their last points of the period), the first tie-break.
    points = models.BigIntegerField(_("points earned"), null=True, blank=True)
    reached_at = models.DateTimeField(_("reached at"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contest", "member"], name="loyalty_contest_entry_once"),
            models.CheckConstraint(condition=Q(tickets__gt=0), name="loyalty_contest_entry_tickets_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.contest_id}: {self.member_id} x{self.tickets}"


class ContestWinner(models.Model):
    contest = models.ForeignKey(Contest, on_delete=models.CASCADE, related_name="winners")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="contests_won")
    rank = models.PositiveIntegerField(_("rank"))

    class Meta:
        ordering = ["contest", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["contest", "rank"], name="loyalty_contest_rank_once"),
            models.UniqueConstraint(fields=["contest", "member"], name="loyalty_contest_wins_once"),
        ]

    def __str__(self) -> str:
        return f"{self.contest_id}: {self.rank}. {self.member_id}"


class ContestSurveyEntry(models.Model):
    """An entry of a contest "one per survey answered": recorded when the member answers (the
    survey.answered event), once per response, only while the contest runs."""

    contest = models.ForeignKey(Contest, on_delete=models.CASCADE, related_name="survey_entries")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="contest_survey_entries")
    response_id = models.UUIDField(_("survey response"))
    answered_at = models.DateTimeField(_("answered at"))

    class Meta:
        ordering = ["contest", "answered_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["contest", "response_id"], name="loyalty_contest_survey_entry_once"),
        ]
        indexes = [models.Index(fields=["contest", "member"], name="loyalty_contest_survey_member")]

    def __str__(self) -> str:
        return f"{self.contest_id}: {self.member_id} ({self.response_id})"
