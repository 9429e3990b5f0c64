"""The account manager's worklist ("My book"): their customers, the ones needing attention first.

One SQL query ranks a whole book (thousands of rows) and returns a page's keys; a second reads
those rows whole. Every figure the ranking needs is a column of the joined CustomerMetrics row or a
signal's flag: a set of customers (an open complaint, a plan's task overdue, a call in the last
days...) that PostgreSQL computes once for the book, restricted to it, and hashes, so that each
customer costs a hash lookup per flag rather than a probe of another table per signal (seven per
customer before: 72 ms of a 5,000-customer book). What only the shown rows need (the next
follow-up, the complaint's subject, the last order's amount) are subqueries of the rows' query.
Reasons are built in Python from the annotations of the rows shown, by the signals of
``retention_crm.worklist_signals``; the built-in ones below are registered by
``worklist_signals_register``, from ContactPlansConfig.ready().

Priority, computed in SQL for every customer of the book::

    priority = V x (R + sum over signals of weight x score)

- V, the value factor: 3 for high value, 2 for medium, 1 for low or unknown. It multiplies rather
  than adds so that, at equal urgency, the customer who is worth more comes first, while a low-value
  customer at high risk still outranks a high-value one who is safe (3 x 0.1 < 1 x 0.9). The steps
  are deliberately flatter than the revenue ratio of the tiers, which would bury every low-value row.
- R, the churn risk (0-1, 0 when unknown), weight 1: the probability of losing the customer in the
  horizon is the base of the urgency; everything else adjusts it.
- Rising risk (weight 0.5, full at a rise of 30 points since the previous recompute): a customer
  whose risk is moving is easier to win back now than once it has settled, so rising beats flat.
- Open complaint (weight 0.5): the most explicit sign of leaving, and one the manager can act on
  today; it weighs as much as a fully rising risk.
- Purchase gap (weight 0.3, from 0 at the usual interval to full at twice it), for the customers the
  model has not scored only (no churn risk yet): BG/NBD's churn risk already reads how long since the
  last purchase, so adding the gap again counted it twice and only for repeat buyers (one purchase:
  no usual interval): a 79% one-time buyer ranked below 50% repeat buyers who were late.
- Falling order value (weight 0): shown as a reason, not ranked, until a back-test shows it helps
  (docs/metrics.md asks that any signal mixed into the risk be back-tested).
- Recent contact (a factor, not a weight): for ``settings.WORKLIST_RECENT_CONTACT_DAYS`` after a
  call or meeting the whole priority is halved (RECENT_CONTACT_FACTOR), so the manager's other
  customers come first while this one has had their attention; the row's reasons say until when.

The reasons about the churn risk itself (the purchase history, the risk's change) are the sentences
of ``metrics.reasons``, the same as the customer page's "Value and risk" card; every row at medium
or high risk has at least the purchase history's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    CharField,
    Count,
    DateField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, Coalesce, Greatest, Least, NullIf
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers import roles
from customers.models import Customer, Interaction, Order
from customers.selectors import account_manager_list, customer_visible_to
from metrics.models import CustomerMetrics, Level
from metrics.reasons import RISK_CHANGE_WORTH_MENTIONING, purchase_history_reason, risk_change_reason
from retention_crm import worklist_signals
from retention_crm.formats import format_date, format_percent

from .models import FollowUp, WorklistSnooze

PAGE_SIZE = 50

# The value factor V of the priority (see the module docstring).
VALUE_FACTORS = {"high": 3.0, "medium": 2.0, "low": 1.0}
RISK_WEIGHT = 1.0

# A gap of twice the usual interval is worth a sentence: only about 1 in 7 gaps of a steady
# (Poisson) buyer is that long (e^-2), so it usually means something changed.
LATE_FACTOR = 2.0
# A rise of 30 points of churn risk between two recomputes is as alarming as it gets.
RISK_RISE_FULL = 0.3
# The last order is "below their average" when at least a quarter below it; smaller dips are the
# ordinary spread of basket sizes.
ORDER_DROP_WORTH_MENTIONING = Decimal("0.25")
# An average of fewer purchases says little about what is usual for the customer.
ORDER_DROP_MIN_PURCHASES = 3
# A customer called or met within settings.WORKLIST_RECENT_CONTACT_DAYS counts at half their
# urgency: a 90% row just called (0.45) then comes after the 50% rows nobody has called, and still
# before the calm ones.
RECENT_CONTACT_FACTOR = 0.5
# The risk levels at which the churn risk is what ranks a row: those rows always say why.
RANKED_BY_RISK_LEVELS = (Level.MEDIUM, Level.HIGH)


class DaysSince(Func):
    """Whole days from a date column to ``today``: today - column, null when the column is."""

    output_field = IntegerField()

    def __init__(self, expression, today: date):
        super().__init__(Value(today, output_field=DateField()), expression)

    def as_sql(self, compiler, connection, **extra_context):
        # PostgreSQL: date - date is an integer number of days.
        return super().as_sql(compiler, connection, template="(CAST(%(expressions)s))", arg_joiner=" AS date) - (")

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
        )


def _clamp01(expression):
    return Least(Greatest(expression, Value(0.0)), Value(1.0))


def _percent(share: float) -> int:
    return round(100 * share)


# --- Built-in signals ---------------------------------------------------------------------------


class PurchaseGapSignal:
    """The purchase history: ranks only the customers without a churn risk (see the module
    docstring); its sentence (metrics.reasons, as on the customer page) is given when the customer
    is late (twice their usual interval) or when their churn risk is medium or high, so that a row
    ranked by its risk always says why."""

    key = "purchase_gap"
    weight = 0.3

    def annotate(self, queryset: QuerySet, *, today: date) -> QuerySet:
        return queryset.annotate(
            wl_purchase_gap_days=DaysSince(F("metrics__last_purchase"), today),
            wl_purchase_gap_interval=F("metrics__usual_interval_days"),
            wl_purchase_gap_purchases=F("metrics__purchases"),
            wl_purchase_gap_last=F("metrics__last_purchase"),
            wl_purchase_gap_risk=F("metrics__churn_risk"),
            wl_purchase_gap_level=F("metrics__risk_level"),
        )

    def score(self):
        # GREATEST ignores nulls in PostgreSQL: without the When, a customer with one purchase (no
        # usual interval) would be divided by 1 and score in full.
        interval = Greatest(F("wl_purchase_gap_interval"), Value(1.0))
        ratio = _clamp01(Cast("wl_purchase_gap_days", FloatField()) / interval - Value(1.0))
        return Case(
            When(
                wl_purchase_gap_risk__isnull=True,
                wl_purchase_gap_interval__isnull=False,
                wl_purchase_gap_days__isnull=False,
                then=ratio,
            ),
            default=Value(0.0),
            output_field=FloatField(),
        )

    def has_reason(self) -> Q:
        late = ExpressionWrapper(F("wl_purchase_gap_interval") * Value(LATE_FACTOR), output_field=FloatField())
        return Q(wl_purchase_gap_interval__isnull=False, wl_purchase_gap_days__gte=late) | Q(
            wl_purchase_gap_level__in=RANKED_BY_RISK_LEVELS
        )

    def reasons(self, row) -> list[str]:
        days, interval = row.wl_purchase_gap_days, row.wl_purchase_gap_interval
        late = days is not None and interval is not None and days >= interval * LATE_FACTOR
        if not late and row.wl_purchase_gap_level not in RANKED_BY_RISK_LEVELS:
            return []
        last = row.wl_purchase_gap_last
        last = last.date() if isinstance(last, datetime) else last
        # The day the query counted the days to (today - last), so the sentence and the filter agree.
        today = last + timedelta(days=days) if last is not None and days is not None else timezone.localdate()
        return [
            purchase_history_reason(
                purchases=row.wl_purchase_gap_purchases,
                last_purchase=last,
                usual_interval_days=interval,
                today=today,
            )
        ]


class RiskRiseSignal:
    key = "risk_rise"
    weight = 0.5

    def annotate(self, queryset: QuerySet, *, today: date) -> QuerySet:
        return queryset.annotate(
            wl_risk_rise_now=F("metrics__churn_risk"), wl_risk_rise_before=F("metrics__previous_churn_risk")
        )

    def score(self):
        rise = _clamp01((F("wl_risk_rise_now") - F("wl_risk_rise_before")) / Value(RISK_RISE_FULL))
        return Case(
            When(wl_risk_rise_now__isnull=False, wl_risk_rise_before__isnull=False, then=rise),
            default=Value(0.0),
            output_field=FloatField(),
        )

    def has_reason(self) -> Q:
        threshold = ExpressionWrapper(
            F("wl_risk_rise_before") + Value(RISK_CHANGE_WORTH_MENTIONING), output_field=FloatField()
        )
        return Q(wl_risk_rise_before__isnull=False, wl_risk_rise_now__gte=threshold)

    def reasons(self, row) -> list[str]:
        now, before = row.wl_risk_rise_now, row.wl_risk_rise_before
        # The same comparison as has_reason(), in the same float arithmetic.
        if now is None or before is None or now < before + RISK_CHANGE_WORTH_MENTIONING:
            return []
        return [risk_change_reason(before=before, after=now)]


class OpenComplaintSignal:
    key = "complaint"
    weight = 0.5

    def annotate(self, queryset: QuerySet, *, today: date) -> QuerySet:
        oldest_open = Interaction.objects.filter(
            customer=OuterRef("pk"), kind=Interaction.Kind.COMPLAINT, resolved_at__isnull=True
        ).order_by("occurred_at", "id")
        # A scalar subquery rather than Exists: PostgreSQL turns an Exists in the select list into a
        # hash of every open complaint of the base (built again in each parallel worker), where this
        # is one probe of the (customer, occurred_at) index per customer of the book.
        return queryset.annotate(
            wl_complaint_since=Subquery(oldest_open.values("occurred_at")[:1]),
            wl_complaint_subject=Subquery(oldest_open.values("subject")[:1]),
        )

    def flags(self, *, today: date) -> dict[str, QuerySet]:
        # Customers with an open complaint: the partial index interaction_open_complaint.
        return {"open": Interaction.objects.filter(kind=Interaction.Kind.COMPLAINT, resolved_at__isnull=True)}

    def score(self):
        return Case(When(wl_complaint_open=True, then=Value(1.0)), default=Value(0.0), output_field=FloatField())

    def has_reason(self) -> Q:
        return Q(wl_complaint_open=True)

    def reasons(self, row) -> list[str]:
        if row.wl_complaint_since is None:
            return []
        since = timezone.localtime(row.wl_complaint_since).date()
        same_year = since.year == timezone.localdate().year
        when = format_date(since, with_year=not same_year)
        # The subject is the manager's own customer's data, on their own screen.
        return [_("Open complaint since %(when)s: %(subject)s") % {"when": when, "subject": row.wl_complaint_subject}]


class OrderDropSignal:
    key = "order_drop"
    weight = 0.0

    def annotate(self, queryset: QuerySet, *, today: date) -> QuerySet:
        purchases = Order.objects.filter(customer=OuterRef("pk"), net_amount__gt=0)
        average = purchases.order_by().values("customer").annotate(average=Avg("net_amount")).values("average")
        amount = DecimalField(max_digits=14, decimal_places=2)
        return queryset.annotate(
            wl_order_drop_last=Subquery(purchases.order_by("-ordered_at", "-id").values("net_amount")[:1]),
            wl_order_drop_average=Subquery(average, output_field=amount),
            wl_order_drop_purchases=F("metrics__purchases"),
        )

    def score(self):
        return None

    def has_reason(self) -> Q:
        ceiling = ExpressionWrapper(
            F("wl_order_drop_average") * Value(1 - ORDER_DROP_WORTH_MENTIONING),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        )
        return Q(wl_order_drop_purchases__gte=ORDER_DROP_MIN_PURCHASES, wl_order_drop_last__lte=ceiling)

    def reasons(self, row) -> list[str]:
        last, average = row.wl_order_drop_last, row.wl_order_drop_average
        if last is None or not average or (row.wl_order_drop_purchases or 0) < ORDER_DROP_MIN_PURCHASES:
            return []
        drop = 1 - Decimal(last) / Decimal(average)
        if drop < ORDER_DROP_WORTH_MENTIONING:
            return []
        return [_("Last order %(percent)s below their average.") % {"percent": format_percent(drop)}]


class RecentContactSignal:
    """The last call or meeting: shown on every row (when, what, by whom, how it went); one within
    settings.WORKLIST_RECENT_CONTACT_DAYS lowers the row's urgency (``factor``) and says until when."""

    key = "contact"
    weight = 0.0

    def annotate(self, queryset: QuerySet, *, today: date) -> QuerySet:
        last = Interaction.objects.filter(customer=OuterRef("pk"), kind__in=Interaction.CONTACT_KINDS).order_by(
            "-occurred_at", "-id"
        )
        author = Coalesce(
            NullIf("author__first_name", Value("")), NullIf("author__username", Value("")), output_field=CharField()
        )
        # For the rows of the page only (one probe of the partial index interaction_last_contact
        # each): the ranking reads the flag "recent" instead.
        return queryset.annotate(
            wl_contact_at=Subquery(last.values("occurred_at")[:1]),
            wl_contact_kind=Subquery(last.values("kind")[:1]),
            wl_contact_outcome=Subquery(last.values("outcome")[:1]),
            wl_contact_by=Subquery(last.annotate(who=author).values("who")[:1]),
        )

    def flags(self, *, today: date) -> dict[str, QuerySet]:
        # The last contact is recent exactly when some contact is: the calls and meetings of the
        # last days (the index interaction_kind_occurred), not the last one of every customer.
        days = settings.WORKLIST_RECENT_CONTACT_DAYS
        if days <= 0:
            return {}
        since = timezone.now() - timedelta(days=days)
        return {"recent": Interaction.objects.filter(kind__in=Interaction.CONTACT_KINDS, occurred_at__gte=since)}

    def score(self):
        return None

    def factor(self):
        if settings.WORKLIST_RECENT_CONTACT_DAYS <= 0:
            return None
        return Case(
            When(wl_contact_recent=True, then=Value(RECENT_CONTACT_FACTOR)),
            default=Value(1.0),
            output_field=FloatField(),
        )

    def has_reason(self) -> Q:
        if settings.WORKLIST_RECENT_CONTACT_DAYS <= 0:
            return Q(pk__in=[])
        return Q(wl_contact_recent=True)

    def reasons(self, row) -> list[str]:
        days = settings.WORKLIST_RECENT_CONTACT_DAYS
        if row.wl_contact_at is None or days <= 0 or row.wl_contact_at < timezone.now() - timedelta(days=days):
            return []
        on = timezone.localtime(row.wl_contact_at).date()
        until = format_date(on + timedelta(days=days))
        ago = max((timezone.localdate() - on).days, 0)
        values = {"days": ago, "who": row.wl_contact_by or _("someone"), "until": until}
        if row.wl_contact_kind == Interaction.Kind.MEETING:
            sentence = (
                _("Met today by %(who)s: lower priority until %(until)s.")
                if ago == 0
                else ngettext(
                    "Met %(days)d day ago by %(who)s: lower priority until %(until)s.",
                    "Met %(days)d days ago by %(who)s: lower priority until %(until)s.",
                    ago,
                )
            )
        else:
            sentence = (
                _("Called today by %(who)s: lower priority until %(until)s.")
                if ago == 0
                else ngettext(
                    "Called %(days)d day ago by %(who)s: lower priority until %(until)s.",
                    "Called %(days)d days ago by %(who)s: lower priority until %(until)s.",
                    ago,
                )
            )
        return [sentence % values]


BUILT_IN_SIGNALS = (
    PurchaseGapSignal(),
    RiskRiseSignal(),
    OpenComplaintSignal(),
    OrderDropSignal(),
    RecentContactSignal(),
)


def worklist_signals_register() -> None:
    """Register the built-in signals (ContactPlansConfig.ready(); registering again replaces them)."""
    for signal in BUILT_IN_SIGNALS:
        worklist_signals.register(signal)


# --- The worklist -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorklistFilters:
    risk_level: str = ""
    value_level: str = ""
    with_reasons: bool = False
    include_snoozed: bool = False


class WorklistNotAllowed(Exception):
    """The viewer may not see that worklist (the screens answer 404, as for a record they cannot see)."""


def worklist_may_pick_manager(user) -> bool:
    return roles.is_administrator(user)


def worklist_manager(*, viewer, manager_id: int | None = None):
    """Whose book ``viewer`` works: an account manager their own; an administrator the manager they
    pick (their own book when they have one and pick nobody; None: nobody picked yet).
    Raises WorklistNotAllowed for anyone else, or for a manager id that is not theirs to pick."""
    if worklist_may_pick_manager(viewer):
        if manager_id is None:
            return viewer if roles.is_account_manager(viewer) else None
        manager = account_manager_list().filter(pk=manager_id).first()
        if manager is None:
            raise WorklistNotAllowed
        return manager
    if roles.is_account_manager(viewer) and manager_id in (None, viewer.pk):
        return viewer
    raise WorklistNotAllowed


def metrics_exist() -> bool:
    """Whether any recompute has written figures yet (before that, the list is ordered by last purchase)."""
    return CustomerMetrics.objects.exists()


def _value_factor():
    whens = [When(metrics__value_level=level, then=Value(factor)) for level, factor in VALUE_FACTORS.items()]
    return Case(*whens, default=Value(1.0), output_field=FloatField())


def _book_flags(signals: list, *, book, today: date) -> dict:
    """Each signal's flags as boolean annotations: True for the customers of ``book`` with a row in
    the flag's set. ``pk IN (SELECT customer_id ... AND customer_id IN book)`` does not depend on
    the row, so PostgreSQL computes it once (joining the set to the book whichever way is cheaper)
    and hashes it; its size is at most the book's, however large the base."""
    annotations = {}
    for signal in signals:
        flags = signal.flags(today=today) if hasattr(signal, "flags") else {}
        for name, rows in flags.items():
            members = rows.filter(customer__in=book).order_by().values("customer_id")
            annotations[f"{worklist_signals.prefix(signal.key)}{name}"] = ExpressionWrapper(
                Q(pk__in=members), output_field=BooleanField()
            )
    return annotations


def priority_expression(signals: list) -> object:
    """V x (R + sum of weight x score), times each signal's factor: see the module docstring."""
    urgency = Value(RISK_WEIGHT) * Coalesce(F("metrics__churn_risk"), Value(0.0))
    priority = _value_factor()
    for signal in signals:
        score = signal.score() if signal.weight > 0 else None
        if score is not None:
            urgency = urgency + Value(float(signal.weight)) * Coalesce(score, Value(0.0))
        factor = signal.factor() if hasattr(signal, "factor") else None
        if factor is not None:
            priority = priority * Coalesce(factor, Value(1.0))
    return ExpressionWrapper(priority * urgency, output_field=FloatField())


def worklist_rows_queryset(*, viewer, manager, today: date | None = None, ranked: bool = True) -> QuerySet[Customer]:
    """The active customers of ``manager``'s book that ``viewer`` may see, with what their rows
    show, neither ranked nor filtered: wl_churn_risk, wl_previous_churn_risk, wl_risk_level,
    wl_value_level, wl_last_purchase (date or datetime; ``ranked`` False, no metrics yet: of the
    orders), wl_next_followup (the earliest open follow-up's due_at), wl_snoozed_until and
    wl_snooze_reason (the manager's active snooze, or null), and each signal's ``wl_<key>_*``.
    A page reads its rows from it by id (worklist_page_rows); worklist_queryset ranks it."""
    today = today or timezone.localdate()
    snoozes = _snoozes(manager, today)
    next_followup = FollowUp.objects.filter(customer=OuterRef("pk"), state=FollowUp.State.OPEN).order_by("due_at", "id")
    customers = (
        customer_visible_to(viewer)
        .filter(account_manager=manager, archived_at__isnull=True)
        .annotate(
            wl_churn_risk=F("metrics__churn_risk"),
            wl_previous_churn_risk=F("metrics__previous_churn_risk"),
            wl_risk_level=F("metrics__risk_level"),
            wl_value_level=F("metrics__value_level"),
            wl_next_followup=Subquery(next_followup.values("due_at")[:1]),
            wl_snoozed_until=Subquery(snoozes.values("until")[:1]),
            wl_snooze_reason=Subquery(snoozes.values("reason")[:1]),
        )
    )
    for signal in worklist_signals.signals():
        customers = signal.annotate(customers, today=today)
    if ranked:
        return customers.annotate(wl_last_purchase=F("metrics__last_purchase"))
    last_ordered = Order.objects.filter(customer=OuterRef("pk"), net_amount__gt=0).order_by().values("customer")
    return customers.annotate(wl_last_purchase=Subquery(last_ordered.annotate(last=Max("ordered_at")).values("last")))


def _snoozes(manager, today: date) -> QuerySet:
    return WorklistSnooze.objects.filter(customer=OuterRef("pk"), user=manager, ended_at__isnull=True, until__gt=today)


def worklist_queryset(
    *,
    viewer,
    manager,
    filters: WorklistFilters | None = None,
    today: date | None = None,
    ranked: bool = True,
    rows: QuerySet[Customer] | None = None,
) -> QuerySet[Customer]:
    """``rows`` (the worklist_rows_queryset of the same arguments, built when not given) with
    each signal's flags and wl_priority, filtered and ordered: those needing attention first;
    ``ranked`` False (no metrics yet): by last purchase, longest ago first."""
    filters = filters or WorklistFilters()
    today = today or timezone.localdate()
    signals = worklist_signals.signals()
    if rows is None:
        rows = worklist_rows_queryset(viewer=viewer, manager=manager, today=today, ranked=ranked)
    # What the flags' sets are restricted to: any superset of the rows listed will do, and the
    # manager's customers alone are read from the index (account_manager, id) without the table.
    book = Customer.objects.filter(account_manager=manager).values("pk")
    customers = rows.annotate(**_book_flags(signals, book=book, today=today))
    customers = customers.annotate(wl_priority=priority_expression(signals))
    if filters.risk_level:
        customers = customers.filter(metrics__risk_level=filters.risk_level)
    if filters.value_level:
        customers = customers.filter(metrics__value_level=filters.value_level)
    if filters.with_reasons and signals:
        any_reason = Q()
        for signal in signals:
            any_reason |= signal.has_reason()
        customers = customers.filter(any_reason)
    if not filters.include_snoozed:
        customers = customers.filter(~Exists(_snoozes(manager, today)))
    if ranked:
        return customers.order_by(F("wl_priority").desc(), F("wl_last_purchase").asc(nulls_last=True), "pk")
    return customers.order_by(F("wl_last_purchase").asc(nulls_last=True), "pk")


class _PageKeys:
    """One page of ranked keys and the list's total, as a Paginator reads its object list:
    ``count()``, then the page's slice (the only one it asks for)."""

    def __init__(self, ids: list[int], total: int, offset: int):
        self.ids, self.total, self.offset = ids, total, offset

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, page: slice) -> list[int]:
        assert page.start == self.offset, "only the page that was read"
        return self.ids


def worklist_page(customers: QuerySet[Customer], number) -> Page:
    """Page ``number`` of a worklist_queryset's keys, as ``Paginator.get_page`` reads it (not a
    number: the first; below 1 or past the end: the last), from one query: the ranked keys of the
    page with their priority and the list's total beside each (COUNT(*) OVER (), counted before
    the LIMIT), rather than a count of the book and then its keys. A page past the end, or an
    empty list, counts. ``page.priorities``: each key's wl_priority."""
    try:
        number = int(number)
    except (TypeError, ValueError):
        number = 1

    def read(page_number: int) -> list[tuple[int, int, float]]:
        keys = customers.annotate(wl_total=Window(Count("pk"))).values_list("pk", "wl_total", "wl_priority")
        offset = (page_number - 1) * PAGE_SIZE
        return list(keys[offset : offset + PAGE_SIZE])

    rows = read(number) if number >= 1 else []
    if rows:
        total = rows[0][1]
    else:
        total = customers.count()
        last = max(1, -(-total // PAGE_SIZE))
        if number != last:
            number = last
            rows = read(number) if total else []
    keys = _PageKeys([pk for pk, _total, _priority in rows], total, (number - 1) * PAGE_SIZE)
    page = Paginator(keys, PAGE_SIZE).page(number)
    page.priorities = {pk: priority for pk, _total, priority in rows}
    return page


def worklist_page_rows(rows: QuerySet[Customer], ids, priorities: dict[int, float] | None = None) -> list[Customer]:
    """The rows of ``ids`` (a page's keys), in that order, from ``rows`` (a worklist_rows_queryset),
    each given its ``wl_priority`` from ``priorities`` when there are any. The ranking reads the
    keys alone (worklist_page); only the page's rows are read whole, with the subqueries only
    shown rows need, and without the flags, which are for ranking the whole book. A row that left
    the list between the two queries is left out."""
    ids = list(ids)
    found = {row.pk: row for row in rows.filter(pk__in=ids)}
    for pk, priority in (priorities or {}).items():
        if pk in found:
            found[pk].wl_priority = priority
    return [found[pk] for pk in ids if pk in found]


def reasons_for(row) -> list[str]:
    """The sentences of every signal about one row of ``worklist_queryset`` (no query)."""
    return [reason for signal in worklist_signals.signals() for reason in signal.reasons(row)]


def rows_with_reasons(rows) -> list:
    """The rows of one page, each given ``reasons`` and ``last_purchase_on`` (a date)."""
    rows = list(rows)
    for row in rows:
        row.reasons = reasons_for(row)
        last = row.wl_last_purchase
        row.last_purchase_on = timezone.localtime(last).date() if isinstance(last, datetime) else last
    return rows
