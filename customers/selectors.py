"""Reads of customer data, scoped by what the user may see.

Every list, detail view, export and API endpoint starts from ``customer_visible_to`` (or
the helpers built on it): that is the one place the visibility rule lives.

- Administrators and marketers see every customer.
- An account manager sees their own book, and the other books too when the setting
  ACCOUNT_MANAGERS_SEE_ALL_BOOKS is on.
- Anyone else sees nothing.
"""

from collections.abc import Iterator

from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Prefetch,
    Q,
    QuerySet,
)

from retention_crm import lists

from . import roles
from .models import Customer, ImportJob, Interaction, Order, OrderLine


def customer_visible_to(user) -> QuerySet[Customer]:
    customers = Customer.objects.all()
    if roles.sees_every_book(user):
        return customers
    if roles.is_account_manager(user):
        return customers.filter(account_manager=user)
    return customers.none()


# A book of up to this many customers is handed to lists of orders, interactions… as its ids: each
# row is then checked with a hash lookup instead of an index probe of customers (11 against 45 ms
# for the newest orders of a 5,000-customer book among ten million). A larger book is a large
# share of the base, so the probes a page needs are few: it stays a subquery.
BOOK_AS_IDS_UP_TO = 20_000


def customers_visible_filter(user, *, field: str = "customer_id", ids_up_to: int = BOOK_AS_IDS_UP_TO):
    """What ``.filter()`` of a table pointing at customers takes to keep the rows of the customers
    ``user`` may see (customer_visible_to): nothing for someone who sees every customer, a book as
    its ids up to ``ids_up_to`` customers, else a subquery."""
    visible = customer_visible_to(user).order_by()
    if not visible.query.where:
        return Q()
    ids = list(visible.values_list("pk", flat=True)[: ids_up_to + 1]) if ids_up_to else []
    if not ids_up_to or len(ids) > ids_up_to:
        return Q(**{f"{field}__in": visible.values("pk")})
    return lists.IdIn(field, ids)


def customer_editable_by(user) -> QuerySet[Customer]:
    """Marketers read but never edit customer records; account managers edit their own book."""
    customers = Customer.objects.all()
    if roles.is_administrator(user):
        return customers
    if roles.is_account_manager(user):
        return customers.filter(account_manager=user)
    return customers.none()


def customer_can_edit(*, user, customer: Customer) -> bool:
    return customer_editable_by(user).filter(pk=customer.pk).exists()


def customer_list(*, user, search: str = "", filters: dict | None = None, ordering: str = "name") -> QuerySet[Customer]:
    filters = filters or {}
    customers = customer_visible_to(user).select_related("account_manager")
    if search:
        customers = customers.filter(
            Q(name__icontains=search)
            | Q(email__icontains=search)
            | Q(external_id__iexact=search)
            | Q(company__icontains=search)
        )
    if filters.get("country"):
        customers = customers.filter(country=filters["country"])
    if filters.get("language"):
        customers = customers.filter(language=filters["language"])
    if filters.get("account_manager"):
        customers = customers.filter(account_manager_id=filters["account_manager"])
    if filters.get("tag"):
        customers = customers.filter(tags__name=filters["tag"])
    archived = filters.get("archived", "active")
    if archived == "active":
        customers = customers.filter(archived_at__isnull=True)
    elif archived == "archived":
        customers = customers.filter(archived_at__isnull=False)
    allowed = {"name", "-name", "country", "-country", "created_at", "-created_at", "acquired_at", "-acquired_at"}
    return customers.order_by(ordering if ordering in allowed else "name", "id")


def customer_get(*, user, customer_id: int) -> Customer:
    """The customer, or Customer.DoesNotExist when the user may not see it (a 404, never a 403)."""
    return (
        customer_visible_to(user)
        .select_related("account_manager", "referred_by")
        .prefetch_related("tags")
        .annotate(referral_count=Count("referrals", distinct=True))
        .get(pk=customer_id)
    )


def order_visible_to(user) -> QuerySet[Order]:
    return Order.objects.filter(customers_visible_filter(user))


def order_list_for_customer(*, customer: Customer, limit: int = 50) -> QuerySet[Order]:
    lines = OrderLine.objects.select_related("product").order_by("line_number")
    return customer.orders.prefetch_related(Prefetch("lines", queryset=lines)).order_by("-ordered_at", "-id")[:limit]


def interaction_visible_to(user) -> QuerySet[Interaction]:
    return Interaction.objects.filter(customers_visible_filter(user))


def interaction_timeline(*, customer: Customer, limit: int = 100) -> QuerySet[Interaction]:
    return (
        customer.interactions.select_related("author", "owner", "resolved_by")
        .prefetch_related("changes__by")
        .order_by("-occurred_at", "-id")[:limit]
    )


def import_job_visible_to(user) -> QuerySet[ImportJob]:
    jobs = ImportJob.objects.all()
    if roles.is_administrator(user):
        return jobs
    return jobs.filter(created_by=user)


def import_job_orders(job_id) -> QuerySet[Order]:
    """The orders an import job created or changed, as they stand now (by ``Order.import_job``).

    For subscribers of ``orders.imported``: the job's payload leads here, set-based. Orders the file
    held unchanged are not the job's (a second import of the same file leads to none), and an order
    a later import changed again is that job's. Not scoped by visibility: imports run for the
    workspace; a view showing these to a user starts from ``order_visible_to`` instead.
    """
    return Order.objects.filter(import_job_id=job_id)


def import_job_customers(job_id) -> QuerySet[Customer]:
    """The customers an import job created or changed (by ``Customer.import_job``), for subscribers
    of ``customers.imported``; the same rules as ``import_job_orders``. An orders import that only
    adds orders of existing customers changes none of them (their orders lead to them)."""
    return Customer.objects.filter(import_job_id=job_id)


# --- For the browser UI: filter choices and exports -------------------------------------------


def customer_country_choices(*, user) -> list[str]:
    """The countries of the customers the user can see, for the list's filter."""
    return lists.distinct_values(customer_visible_to(user), "country", after="")


def account_manager_list():
    """Active users in the Account manager group: the people a customer can be assigned to."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(groups__name=roles.ACCOUNT_MANAGER, is_active=True).order_by("username")


def customer_export_chunks(
    *, user, search: str = "", filters: dict | None = None, ordering: str = "name", size: int
) -> Iterator[list[Customer]]:
    """``customer_list`` in chunks of ``size``, in the list's order, with what the CSV export needs
    joined in (tags prefetched per chunk)."""
    customers = customer_list(user=user, search=search, filters=filters, ordering=ordering)
    customers = customers.select_related("account_manager", "referred_by").prefetch_related("tags")
    return keyset_chunks(customers, field=customers.query.order_by[0], size=size)


def order_line_export_chunks(*, customers: QuerySet[Customer], size: int) -> Iterator[list[OrderLine]]:
    """Every line of every order of ``customers``, oldest order first, with order, customer and product:
    ``size`` orders at a time by keyset on (ordered_at, id) (the index order_ordered_at_id), then
    their lines."""
    orders = Order.objects.filter(customer__in=customers.order_by().values("pk")).select_related("customer")
    for chunk in keyset_chunks(orders, field="ordered_at", size=size):
        by_id = {order.pk: order for order in chunk}
        lines_of: dict[int, list[OrderLine]] = {pk: [] for pk in by_id}
        lines = OrderLine.objects.filter(order_id__in=list(by_id)).select_related("product")
        for line in lines.order_by("order_id", "line_number"):
            line.order = by_id[line.order_id]
            lines_of[line.order_id].append(line)
        yield [line for order in chunk for line in lines_of[order.pk]]


# An export's first chunk is small: its rows are read and sent in a fraction of a second, where a
# whole chunk of 2,000 orders and their lines takes a second or two (SQLite, a cold cache).
FIRST_CHUNK_ROWS = 100


def keyset_chunks(queryset: QuerySet, *, field: str, size: int) -> Iterator[list]:
    """``queryset`` ordered by ``field`` ("-field": descending; NULLs last) then by id, ``size`` rows
    at a time, each chunk read from where the previous one ended.

    A keyset rather than OFFSET (which reads and throws away every row before the page) or one
    cursor over everything (PostgreSQL runs a held cursor's whole query before the first row), so
    that a large export sends its first bytes at once and each chunk costs the same.
    """
    descending = field.startswith("-")
    name = field.removeprefix("-")
    nullable = queryset.model._meta.get_field(name).null
    if nullable:
        key = F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True)
    else:
        key = field
    queryset = queryset.order_by(key, "pk")
    after = Q()
    limit = min(size, FIRST_CHUNK_ROWS)
    while True:
        chunk = list(queryset.filter(after)[:limit])
        if chunk:
            yield chunk
        if len(chunk) < limit:
            return
        limit = size
        value, pk = getattr(chunk[-1], name), chunk[-1].pk
        if value is None:
            after = Q(**{f"{name}__isnull": True, "pk__gt": pk})
            continue
        beyond = f"{name}__lt" if descending else f"{name}__gt"
        reached = f"{name}__lte" if descending else f"{name}__gte"
        # The redundant bound on the first key lets the database start its index scan at the key.
        after = Q(**{reached: value}) & (Q(**{beyond: value}) | Q(**{name: value, "pk__gt": pk}))
        if nullable:
            after |= Q(**{f"{name}__isnull": True})


def customer_is_visible(*, user, customer_id: int | None) -> bool:
    """Whether a linked customer (e.g. the referrer) may be shown to the user."""
    return customer_id is not None and customer_visible_to(user).filter(pk=customer_id).exists()


def order_summary_for_customer(*, customer: Customer) -> dict:
    """Order count and last order date of one customer, for the profile card."""
    from django.db.models import Max

    return customer.orders.aggregate(count=Count("id"), last_ordered_at=Max("ordered_at"))


# --- Cases: complaints, support contacts, reviews (docs/complaints.md) --------------------------


class MedianSeconds(Aggregate):
    """PostgreSQL's median of an interval, in seconds (the database sorts; nothing is read into Python)."""

    function = None
    template = "percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM %(expressions)s))"
    output_field = FloatField()


# The complaints page's median time to resolve covers the cases resolved in this many days.
RESOLVE_WINDOW_DAYS = 90


def case_visible_to(user) -> QuerySet[Interaction]:
    """The cases (Interaction.TRACKED_KINDS) of the customers ``user`` may see."""
    return Interaction.objects.filter(kind__in=Interaction.TRACKED_KINDS).filter(customers_visible_filter(user))


def case_get(*, user, case_id: int) -> Interaction:
    """One case the user may see (Interaction.DoesNotExist otherwise: a 404)."""
    return (
        case_visible_to(user)
        .select_related("customer", "owner", "author", "resolved_by")
        .prefetch_related("changes__by")
        .get(pk=case_id)
    )


def case_editable_by(user) -> QuerySet[Interaction]:
    """The cases whose customer the user may edit (customer_editable_by): assign, move, resolve."""
    return Interaction.objects.filter(
        kind__in=Interaction.TRACKED_KINDS, customer__in=customer_editable_by(user).order_by().values("pk")
    )


CASE_VIEWS = ("open", "overdue", "mine", "resolved", "all")
CASE_ORDERINGS = ("due_at", "-occurred_at", "occurred_at")


def case_list(
    *,
    user,
    view: str = "open",
    kind: str = "",
    priority: str = "",
    owner_id: int | None = None,
    unassigned: bool = False,
    search: str = "",
    ordering: str = "due_at",
    now=None,
) -> QuerySet[Interaction]:
    """The complaints page's rows: ``view`` is open (open or in progress), overdue (open past its
    due time), mine (open and owned by ``user``), resolved, or all; then the filters."""
    from django.utils import timezone

    now = now or timezone.now()
    cases = case_visible_to(user)
    if view in ("open", "overdue", "mine"):
        cases = cases.filter(status__in=Interaction.PENDING_STATUSES)
    if view == "overdue":
        cases = cases.filter(due_at__lt=now)
    elif view == "mine":
        cases = cases.filter(owner=user)
    elif view == "resolved":
        cases = cases.filter(status=Interaction.Status.RESOLVED)
    if kind:
        cases = cases.filter(kind=kind)
    if priority:
        cases = cases.filter(priority=priority)
    if unassigned:
        cases = cases.filter(owner__isnull=True)
    elif owner_id:
        cases = cases.filter(owner_id=owner_id)
    if search:
        cases = cases.filter(Q(subject__icontains=search) | Q(customer__name__icontains=search))
    if ordering not in CASE_ORDERINGS:
        ordering = "due_at"
    return cases.select_related("customer", "owner").order_by(ordering, "id")


def case_figures(*, user, now=None) -> dict:
    """The page's figures over every case the user may see: open, overdue, and the median time to
    resolve (hours) of those resolved in the last RESOLVE_WINDOW_DAYS days (None when none was)."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    now = now or timezone.now()
    cases = case_visible_to(user).order_by()
    pending = cases.filter(status__in=Interaction.PENDING_STATUSES).aggregate(
        open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now))
    )
    resolved = cases.filter(
        status=Interaction.Status.RESOLVED, resolved_at__gte=now - timedelta(days=RESOLVE_WINDOW_DAYS)
    )
    median_hours = None
    if connection.vendor == "postgresql":
        seconds = resolved.aggregate(
            median=MedianSeconds(ExpressionWrapper(F("resolved_at") - F("occurred_at"), DurationField()))
        )["median"]
        median_hours = None if seconds is None else float(seconds) / 3600
    else:
        import statistics

        durations = [
            (resolved_at - occurred_at).total_seconds()
            for resolved_at, occurred_at in resolved.values_list("resolved_at", "occurred_at")
        ]
        median_hours = statistics.median(durations) / 3600 if durations else None
    resolved_count = resolved.count()
    return {**pending, "median_hours": median_hours, "resolved_recently": resolved_count}


def case_owner_choices():
    """The people a case can be given to: active account managers and administrators."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(Q(groups__name__in=[roles.ACCOUNT_MANAGER, roles.ADMINISTRATOR]) | Q(is_superuser=True))
        .filter(is_active=True)
        .distinct()
        .order_by("username")
    )


def case_export_chunks(*, size: int, **arguments) -> Iterator[list[Interaction]]:
    """case_list in chunks of ``size``, in the list's order."""
    cases = case_list(**arguments).select_related("customer", "owner", "resolved_by")
    return keyset_chunks(cases, field=cases.query.order_by[0], size=size)


def inbound_unmatched(*, user):
    """Emails of senders no customer has, waiting for an administrator (nobody else sees them: they
    belong to no customer, so no book)."""
    from .models import InboundEmail

    if not roles.is_administrator(user):
        return InboundEmail.objects.none()
    return InboundEmail.objects.filter(status=InboundEmail.Status.UNMATCHED).order_by("-received_at", "-id")
