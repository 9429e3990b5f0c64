"""What the metrics recompute stores: fitted models, one row of figures per customer, dashboard
snapshots and the runs that produce them. Definitions: docs/metrics.md.

``MetricSnapshot.data`` by ``kind`` (numbers are JSON numbers or null, never NaN; dates ISO
``YYYY-MM-DD``; rates are shares 0-1, not percentages; amounts in the workspace currency):

``summary``: the latest complete calendar month [start, end) before ``as_of`` and the month before::

    {"period": {"start": "2011-11-01", "end": "2011-12-01"},
     "active_customers": 1200,       # active at `end` (a purchase in the W days up to and including it)
     "active_at_start": 1100, "retained": 500, "churned": 600,
     "retention_rate": 0.45, "churn_rate": 0.55, "acquisition_rate": 0.2,
     "new": 220, "reactivated": 130,
     "repeat_purchase_rate": 0.65,   # as of the last day of the period (end - 1 day)
     "upsell_rate": 0.6,             # as of the last day of the period
     "revenue": 123.4,               # net revenue in the period of the customers active at start
     "nrr": 1.02,                    # net revenue retention (null when the base is <= 0)
     "avg_clv": 1800.5, "total_clv": 7.8e6,   # historical CLV (net revenue to the period's last day)
                                               # over customers with a purchase
     "customers_with_purchase": 4300,
     "avg_predicted_clv": 900.1, "total_predicted_clv": 3.9e6,   # at as_of; null without a model
     "buyers_without_predicted_clv": 0,   # customers with a purchase left out of those two (no figure)
     "previous": {the same keys for the month before, without "previous"; avg/total_predicted_clv null}}

``periods``: the summary's figures (without "previous" and the predicted-CLV keys) of every period
the dashboard's picker offers (metrics.analytics.book.period_choices: the complete months, quarters
and years before ``as_of``) and of the one before each, by period key; a period whose churn cannot
be observed yet (its activity window reaches back before the first purchase) has null rates::

    {"periods": {"2011-11": {...}, "2011-Q3": {...}, "2010": {...}, ...}}

``timeseries``: the last 24 complete months, oldest first (index i of every list is month i), from
the first month with customers active at its start and a churn that can be observed::

    {"months": ["2010-01", ...], "retention_rate": [...], "churn_rate": [...],
     "active": [...],      # active at the month's end
     "new": [...], "reactivated": [...], "nrr": [...]}

``cohorts``: acquisition cohorts (month of first purchase), the last 36, oldest first; ``matrix[i][k]``
is the share of cohort i with a purchase in the k-th month after (k = 0 is 1.0; null after as_of)::

    {"cohorts": ["2010-12", ...], "sizes": [885, ...], "matrix": [[1.0, 0.38, ...], ...]}

``pareto``: trailing-12-month net revenue by customer, largest first::

    {"curve": [[share_customers, share_revenue], ...],   # from [0, 0] to [1, 1], at most ~200 points
     "top_count": 850, "customer_count": 4300, "top_share_of_customers": 0.2, "total_revenue": 8.9e6}

``clv_distribution``: customers with a purchase by CLV; ``basis`` says which CLV::

    {"basis": "predicted" | "historical", "bins": [edge0, ..., edgeN], "counts": [c1, ..., cN]}
    # bin i is [bins[i], bins[i+1]); the first bin takes everything below, the last everything above

``rfm``: every segment of metrics.md in its table order (also those with no customer)::

    {"segments": [{"key": "champions", "label": "Champions", "count": 410, "revenue": 2.1e6}, ...]}

``value_risk``: value level x risk level, all 9 cells, plus customers without a risk (no model or
no purchase) under ``risk_level: ""``::

    {"cells": [{"value_level": "high", "risk_level": "low", "count": 120, "clv": 3.4e5}, ...],
     "buyers_without_clv": 0}
    # clv: total predicted CLV of the cell (null without a model); buyers_without_clv: the customers
    # with a purchase and no predicted CLV, counted in the cells but left out of their clv

``scope`` is ``""`` (whole workspace), ``"country:<name>"`` or ``"manager:<user id>"``. A manager's
book for a period is every customer with an AccountAssignment to that manager overlapping the period
(for the as-of kinds: open at as_of), so past figures do not move when customers change hands.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class ModelVersion(models.Model):
    """One BG/NBD (+ Gamma-Gamma) fit, with the back-test that judges its churn risk."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    as_of = models.DateField(_("fitted as of"))
    unit = models.CharField(_("time unit"), max_length=1, default="D")
    bgnbd_r = models.FloatField("BG/NBD r")
    bgnbd_alpha = models.FloatField("BG/NBD alpha")
    bgnbd_a = models.FloatField("BG/NBD a")
    bgnbd_b = models.FloatField("BG/NBD b")
    bgnbd_log_likelihood = models.FloatField(_("BG/NBD log-likelihood"))
    gg_p = models.FloatField("Gamma-Gamma p", null=True, blank=True)
    gg_q = models.FloatField("Gamma-Gamma q", null=True, blank=True)
    gg_gamma = models.FloatField("Gamma-Gamma gamma", null=True, blank=True)
    gg_log_likelihood = models.FloatField(_("Gamma-Gamma log-likelihood"), null=True, blank=True)
    n_customers = models.PositiveIntegerField(_("customers"))
    fit_seconds = models.FloatField(_("fit time (s)"))
    backtest_cutoff = models.DateField(_("back-test cut-off"), null=True, blank=True)
    backtest_horizon_days = models.PositiveIntegerField(_("back-test horizon (days)"), null=True, blank=True)
    backtest_auc = models.FloatField(_("back-test AUC of the shown risk"), null=True, blank=True)
    backtest_baseline_auc = models.FloatField(_("back-test AUC of the BG/NBD formula"), null=True, blank=True)
    backtest_predicted_purchases = models.FloatField(_("back-test predicted purchases"), null=True, blank=True)
    backtest_actual_purchases = models.PositiveIntegerField(_("back-test actual purchases"), null=True, blank=True)
    backtest_customers = models.PositiveIntegerField(_("back-test customers"), null=True, blank=True)
    # Set when the back-test has run (with a result, or a note that the history was too short); the
    # back-test runs as its own task after the recompute, so until then the model is "being back-tested".
    backtested_at = models.DateTimeField(_("back-tested at"), null=True, blank=True)
    is_current = models.BooleanField(_("current"), default=False)
    # The notes as parts (metrics.run_messages), rendered in the reader's language by `notes_text`;
    # `notes` keeps their English rendering for the logs and the admin.
    notes = models.TextField(_("notes"), blank=True)
    notes_parts = models.JSONField(_("notes (structured)"), default=list, blank=True)
    # The buyers that the run which fitted this model left without a prediction, per figure and reason
    # (metrics.analytics.scoring.prediction_gaps): {"buyers": 4338, "missing": {"predicted_clv":
    # {"no_spend_model": 4338}}}; "missing" is {} when every buyer has every figure.
    prediction_gaps = models.JSONField(_("buyers without a prediction"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        constraints = [
            models.UniqueConstraint(fields=["is_current"], condition=Q(is_current=True), name="one_current_model"),
        ]

    def __str__(self) -> str:
        return f"Model {self.pk} as of {self.as_of}"

    @property
    def notes_text(self) -> str:
        """The notes in the active language (a model from before notes_parts: as stored)."""
        from metrics import run_messages

        if not self.notes_parts:
            return self.notes
        return "\n".join(filter(None, (run_messages.render([item]) for item in self.notes_parts)))

    @property
    def has_gamma_gamma(self) -> bool:
        return self.gg_p is not None


class RfmSegment(models.TextChoices):
    # Labels are metrics.md's segment names; the analytics core returns those names (SEGMENT_KEYS).
    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    POTENTIAL_LOYALISTS = "potential_loyalists", _("Potential loyalists")
    NEW_CUSTOMERS = "new_customers", _("New customers")
    PROMISING = "promising", _("Promising")
    NEED_ATTENTION = "need_attention", _("Need attention")
    ABOUT_TO_SLEEP = "about_to_sleep", _("About to sleep")
    CANT_LOSE_THEM = "cant_lose_them", _("Can't lose them")
    AT_RISK = "at_risk", _("At risk")
    HIBERNATING = "hibernating", _("Hibernating")


# metrics.analytics.rfm.SEGMENTS names -> our keys (the analytics core speaks metrics.md's names).
SEGMENT_KEYS: dict[str, str] = {
    "Champions": RfmSegment.CHAMPIONS,
    "Loyal": RfmSegment.LOYAL,
    "Potential loyalists": RfmSegment.POTENTIAL_LOYALISTS,
    "New customers": RfmSegment.NEW_CUSTOMERS,
    "Promising": RfmSegment.PROMISING,
    "Need attention": RfmSegment.NEED_ATTENTION,
    "About to sleep": RfmSegment.ABOUT_TO_SLEEP,
    "Can't lose them": RfmSegment.CANT_LOSE_THEM,
    "At risk": RfmSegment.AT_RISK,
    "Hibernating": RfmSegment.HIBERNATING,
}


class Level(models.TextChoices):
    """The keys of both levels with neutral labels, for code that treats them alike."""

    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low risk")
    MEDIUM = "medium", _("Medium risk")
    HIGH = "high", _("High risk")


class ValueLevel(models.TextChoices):
    # The same keys as RiskLevel; the labels say which axis, as a value x risk table needs.
    LOW = "low", _("Low value")
    MEDIUM = "medium", _("Medium value")
    HIGH = "high", _("High value")


def _score_check(field: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": 1, f"{field}__lte": 5}),
        name=f"customermetrics_{field}_1_to_5",
    )


def _probability_check(field: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": 0, f"{field}__lte": 1}),
        name=f"customermetrics_{field}_0_to_1",
    )


class CustomerMetrics(models.Model):
    """One customer's figures as of ``as_of``: written in bulk by the recompute, one row at a time by
    the refresh after an order. Model fields are null when no model could be fitted.

    risk_level: churn_risk against METRICS_RISK_THRESHOLDS (low < 0.4 <= medium < 0.7 <= high by
    default), blank without a churn risk. value_level: high = the Pareto top tier (the fewest
    customers making 80% of trailing-12-month net revenue); medium = the next 30% of the customers
    with a purchase by predicted CLV (by historical CLV when no model could be fitted); low = the
    rest, customers without a purchase included. RFM scores and segment: blank without a purchase.
    """

    customer = models.OneToOneField(
        "customers.Customer", primary_key=True, related_name="metrics", on_delete=models.CASCADE
    )
    as_of = models.DateField(_("as of"))
    # No index: nothing looks customers up by model, and every recompute rewrites the column.
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="customer_metrics", db_index=False
    )
    purchases = models.PositiveIntegerField(_("purchases"), default=0)
    first_purchase = models.DateField(_("first purchase"), null=True, blank=True)
    last_purchase = models.DateField(_("last purchase"), null=True, blank=True)
    recency_days = models.IntegerField(_("days since last purchase"), null=True, blank=True)
    usual_interval_days = models.FloatField(_("usual days between purchases"), null=True, blank=True)
    net_revenue = models.DecimalField(_("historical CLV"), max_digits=14, decimal_places=2, default=0)
    revenue_12m = models.DecimalField(_("net revenue, last 12 months"), max_digits=14, decimal_places=2, default=0)
    r_score = models.PositiveSmallIntegerField(_("R score"), null=True, blank=True)
    f_score = models.PositiveSmallIntegerField(_("F score"), null=True, blank=True)
    m_score = models.PositiveSmallIntegerField(_("M score"), null=True, blank=True)
    rfm_segment = models.CharField(_("RFM segment"), max_length=32, choices=RfmSegment.choices, blank=True)
    p_alive = models.FloatField(_("probability alive"), null=True, blank=True)
    churn_risk = models.FloatField(_("churn risk"), null=True, blank=True)
    risk_level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices, blank=True)
    expected_purchases_90d = models.FloatField(_("expected purchases, next 90 days"), null=True, blank=True)
    expected_spend = models.FloatField(_("expected spend per purchase"), null=True, blank=True)
    predicted_clv = models.DecimalField(_("predicted CLV"), max_digits=14, decimal_places=2, null=True, blank=True)
    value_level = models.CharField(_("value level"), max_length=8, choices=ValueLevel.choices, default=ValueLevel.LOW)
    pareto_top = models.BooleanField(_("Pareto top tier"), default=False)
    previous_churn_risk = models.FloatField(_("churn risk at the previous recompute"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("customer metrics")
        verbose_name_plural = _("customer metrics")
        indexes = [
            models.Index(fields=["rfm_segment"], name="custmetrics_segment"),
            # A value x risk cell's customers, most valuable first (metrics.views.cell_customers reads
            # it in this order, keyset-paged); segment rules on the two levels use its first columns.
            models.Index(
                fields=["value_level", "risk_level", "-predicted_clv", "-customer"], name="custmetrics_value_risk_clv"
            ),
        ]
        constraints = [
            _probability_check("churn_risk"),
            _probability_check("p_alive"),
            _probability_check("previous_churn_risk"),
            _score_check("r_score"),
            _score_check("f_score"),
            _score_check("m_score"),
        ]

    def __str__(self) -> str:
        return f"Metrics of customer {self.customer_id} as of {self.as_of}"

    @property
    def risk_change(self) -> float | None:
        if self.churn_risk is None or self.previous_churn_risk is None:
            return None
        return self.churn_risk - self.previous_churn_risk


# Everything a recompute (re)writes in a CustomerMetrics row; previous_churn_risk is set explicitly.
METRIC_FIELDS = (
    "as_of",
    "model_version",
    "purchases",
    "first_purchase",
    "last_purchase",
    "recency_days",
    "usual_interval_days",
    "net_revenue",
    "revenue_12m",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "p_alive",
    "churn_risk",
    "risk_level",
    "expected_purchases_90d",
    "expected_spend",
    "predicted_clv",
    "value_level",
    "pareto_top",
    "updated_at",
)


class MetricSnapshot(models.Model):
    """A dashboard figure computed by the recompute; see the module docstring for ``data``."""

    class Kind(models.TextChoices):
        SUMMARY = "summary", _("Summary")
        TIMESERIES = "timeseries", _("Time series")
        COHORTS = "cohorts", _("Cohorts")
        PARETO = "pareto", _("Pareto")
        CLV_DISTRIBUTION = "clv_distribution", _("CLV distribution")
        RFM = "rfm", _("RFM segments")
        VALUE_RISK = "value_risk", _("Value x risk")
        PERIODS = "periods", _("Periods")

    as_of = models.DateField(_("as of"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    scope = models.CharField(_("scope"), max_length=100, blank=True, default="")
    data = models.JSONField(_("data"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-as_of", "kind", "scope"]
        verbose_name = _("metric snapshot")
        verbose_name_plural = _("metric snapshots")
        indexes = [models.Index(fields=["kind", "scope", "-as_of"], name="snapshot_latest")]
        constraints = [
            models.UniqueConstraint(fields=["as_of", "kind", "scope"], name="one_snapshot_per_day_kind_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.scope or 'workspace'} as of {self.as_of}"


class RecomputeRun(models.Model):
    """One full recompute: queued, claimed by one worker, scored in chunks, finished."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Finished")
        FAILED = "failed", _("Failed")

    as_of = models.DateField(_("as of"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    chunks_total = models.PositiveIntegerField(_("chunks"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    # The dashboards' snapshots, computed while the chunks are scored: the run is done when both are.
    snapshots_saved = models.BooleanField(_("snapshots saved"), default=False)
    customers_scored = models.PositiveIntegerField(_("customers scored"), default=0)
    # What the run says, as data (metrics.run_messages): rendered in each reader's language.
    # `message` is its English rendering, for the logs and the admin.
    message_parts = models.JSONField(_("message parts"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    # Touched by the running task (retention_crm.heartbeat): a run silent for too long lost its worker.
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="recompute_runs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Population-wide cut points (RFM quintile edges, Pareto and value-level edges) fixed by the run,
    # so that every chunk, and later a one-customer refresh, scores exactly as the whole population.
    scoring = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("metrics recompute")
        verbose_name_plural = _("metrics recomputes")
        constraints = [
            # Two recomputes at once would race on the same rows and double the load: the second
            # claim fails on this index and waits its turn (see services.metrics_recompute).
            models.UniqueConstraint(fields=["status"], condition=Q(status="running"), name="one_running_recompute"),
            # Runs are claimed and finished by conditional updates on the status: a value outside the
            # choices would never be claimed. (Meta cannot see Status: the values are spelled out.)
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "succeeded", "failed"]), name="recomputerun_status_valid"
            ),
            # The run succeeds when chunks_done reaches chunks_total; a chunk counted twice would pass it.
            models.CheckConstraint(
                condition=Q(chunks_done__lte=F("chunks_total")), name="recomputerun_chunks_done_within_total"
            ),
        ]

    def __str__(self) -> str:
        return f"Recompute {self.pk} as of {self.as_of} ({self.status})"

    @property
    def message_text(self) -> str:
        """The run's message in the active language (a run from before message_parts: as stored)."""
        from metrics import run_messages

        return run_messages.render(self.message_parts) if self.message_parts else self.message

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def progress_percent(self) -> int:
        if self.is_finished:
            return 100
        if not self.chunks_total:
            return 0
        # Loading and fitting come before the first chunk: count them as the first 10%; the snapshots
        # count as one more chunk.
        done = self.chunks_done + int(self.snapshots_saved)
        return min(99, 10 + int(90 * done / (self.chunks_total + 1)))

    @property
    def progress_share(self) -> float:
        """progress_percent as a share of 1, for the l10n_crm `percent` filter ("80 %" in Catalan)."""
        return self.progress_percent / 100


class RecomputeChunk(models.Model):
    """A scored chunk of a run. Its unique row, written in the chunk's transaction, makes a second
    delivery of the same Celery task (acks_late) count nothing twice."""

    run = models.ForeignKey(RecomputeRun, on_delete=models.CASCADE, related_name="chunks")
    customer_id_from = models.BigIntegerField()
    customer_id_to = models.BigIntegerField()
    customers = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "customer_id_from"], name="one_chunk_per_range")]

    def __str__(self) -> str:
        return f"Run {self.run_id} customers {self.customer_id_from}-{self.customer_id_to}"


class BookSums(models.Model):
    """The sums behind book performance (metrics.analytics.book: SUM_COLUMNS) of one book over one
    period, kept by the nightly run for every period the picker offers (metrics.services.book), so
    that the page reads a row per book instead of the order history. ``manager`` null: the whole base.

    A period's rows are written together, in one transaction, and replaced together; the report
    divides the sums (figures_from_sums), exactly as it does with sums it computes on the spot.
    """

    start = models.DateField(_("first day"))
    end = models.DateField(_("day after the last day"))
    window_days = models.PositiveIntegerField(_("activity window (days)"))
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    customers = models.PositiveIntegerField(_("customers"))
    active_start = models.PositiveIntegerField(_("active at start"))
    retained = models.PositiveIntegerField(_("retained"))
    kept_revenue = models.FloatField(_("revenue of the customers active at start"))
    kept_revenue_before = models.FloatField(_("their revenue in the period before"))
    revenue = models.FloatField(_("revenue"))
    revenue_existing = models.FloatField(_("revenue from existing customers"))
    buyers = models.PositiveIntegerField(_("customers with a purchase"))
    upsold = models.PositiveIntegerField(_("customers upsold"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("book sums")
        verbose_name_plural = _("book sums")
        # The report reads one period's rows (a few dozen: the books and the base).
        indexes = [models.Index(fields=["start", "end", "window_days"], name="book_sums_period")]
        constraints = [
            models.UniqueConstraint(
                fields=["start", "end", "window_days", "manager"],
                condition=Q(manager__isnull=False),
                name="one_book_sums_per_period_manager",
            ),
            models.UniqueConstraint(
                fields=["start", "end", "window_days"],
                condition=Q(manager__isnull=True),
                name="one_base_sums_per_period",
            ),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="book_sums_period_not_empty"),
        ]

    def __str__(self) -> str:
        return f"Book {self.manager_id or 'base'} {self.start}..{self.end}"


class ProductSales(models.Model):
    """One product's purchases, as the last recompute of the recommendations counted them
    (metrics.services.recommendations): the baskets (purchase orders, neither refunded nor
    cancelled) that hold it, the customers who bought it, and its latest price, which messages show.

    Replaced as a whole with ProductPair by each recompute, in one transaction.
    """

    product = models.OneToOneField(
        "customers.Product", verbose_name=_("product"), on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    baskets = models.PositiveIntegerField(_("baskets"))
    buyers = models.PositiveIntegerField(_("customers who bought it"))
    price = models.DecimalField(_("latest unit price"), max_digits=12, decimal_places=4)
    currency = models.CharField(_("currency"), max_length=3)
    last_sold_at = models.DateTimeField(_("last sold at"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("product sales")
        verbose_name_plural = _("product sales")
        # The most-popular fallback (and the bench's baseline) reads the best-sellers first.
        indexes = [models.Index(fields=["-baskets", "product"], name="product_sales_best_first")]
        constraints = [
            models.CheckConstraint(condition=Q(baskets__gte=1), name="product_sales_baskets_positive"),
            models.CheckConstraint(condition=Q(buyers__gte=1), name="product_sales_buyers_positive"),
            models.CheckConstraint(condition=Q(price__gte=0), name="product_sales_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.baskets} baskets"


class ProductPair(models.Model):
    """ "Bought together": ``related`` was in ``together`` baskets with ``product`` (purchase orders,
    neither refunded nor cancelled, of at most RECOMMEND_BASKET_CAP products), scored by how much more
    often than chance (metrics.services.recommendations.SCORES); each product keeps its best
    RECOMMEND_PAIRS_KEPT, ranked from 1. Both directions are stored, so a product's related products
    are one index range."""

    pk = models.CompositePrimaryKey("product_id", "rank")
    # The primary key (product_id, rank) indexes product_id already.
    product = models.ForeignKey(
        "customers.Product", verbose_name=_("product"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    rank = models.PositiveSmallIntegerField(_("rank"))
    related = models.ForeignKey(
        "customers.Product", verbose_name=_("bought with"), on_delete=models.CASCADE, related_name="+"
    )
    together = models.PositiveIntegerField(_("baskets together"))
    score = models.FloatField(_("score"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("product bought together")
        verbose_name_plural = _("products bought together")
        constraints = [
            models.CheckConstraint(condition=~Q(product=F("related")), name="product_pair_not_itself"),
            models.CheckConstraint(condition=Q(rank__gte=1), name="product_pair_rank_from_1"),
            models.CheckConstraint(condition=Q(together__gte=1), name="product_pair_together_positive"),
            models.CheckConstraint(condition=Q(score__gt=0), name="product_pair_score_positive"),
            models.UniqueConstraint(fields=["product", "related"], name="product_pair_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} #{self.rank}: {self.related_id}"


class BookRange(models.Model):
    """Book performance for a range the nightly run does not store (the API's custom ranges),
    computed by a worker and kept: at a million customers the sums of a range take seconds to tens
    of seconds (every customer's days in and around it), so the API answers 202 with this job at
    once, and the report from its sums once it has succeeded (metrics.services.book).

    A range's sums belong to the stored sums of one refresh (``sums_of``: their computed_at; null
    before the first): until the next refresh every request for the range is answered from this
    row, and after it the range is computed again from the new day totals, as the stored periods are.
    ``sums``: {"base": {SUM_COLUMNS}, "books": [[manager_id, {SUM_COLUMNS}], ...]}, floats as
    computed (JSON keeps a double exactly).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Finished")
        FAILED = "failed", _("Failed")

    class Failure(models.TextChoices):
        ERROR = "error", _("The computation failed; ask for the range again to retry.")
        WORKER_LOST = "worker_lost", _("Interrupted: the worker stopped before the job finished.")

    start = models.DateField(_("first day"))
    end = models.DateField(_("day after the last day"))
    window_days = models.PositiveIntegerField(_("activity window (days)"))
    sums_of = models.DateTimeField(_("stored sums of"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    steps_done = models.PositiveSmallIntegerField(_("steps done"), default=0)
    steps_total = models.PositiveSmallIntegerField(_("steps"), default=1)
    failure = models.CharField(_("failure"), max_length=20, choices=Failure.choices, blank=True)
    sums = models.JSONField(_("sums"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    # Touched by the running task (retention_crm.heartbeat): a job silent for too long lost its worker.
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("book performance range")
        verbose_name_plural = _("book performance ranges")
        constraints = [
            # One job per range and refresh that is waiting, running or done: two requests for the
            # same range share it (a failed one does not count, so asking again retries).
            models.UniqueConstraint(
                fields=["start", "end", "window_days", "sums_of"],
                condition=Q(status__in=["queued", "running", "succeeded"]),
                nulls_distinct=False,
                name="one_live_book_range",
            ),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="book_range_not_empty"),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "succeeded", "failed"]), name="book_range_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(failure__in=["", "error", "worker_lost"]), name="book_range_failure_valid"
            ),
            models.CheckConstraint(condition=Q(steps_done__lte=F("steps_total")), name="book_range_steps_within_total"),
            # A finished job has its sums or its reason, and its end.
            models.CheckConstraint(
                condition=~Q(status="succeeded") | Q(sums__isnull=False, finished_at__isnull=False),
                name="book_range_succeeded_has_sums",
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | (~Q(failure="") & Q(finished_at__isnull=False)),
                name="book_range_failed_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Book range {self.start}..{self.end} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def progress_percent(self) -> int:
        if self.is_finished:
            return 100
        return min(99, int(100 * self.steps_done / max(self.steps_total, 1)))
