"""factory_boy factories for the customers app. Rows are built through the ORM, not the services,
so a test can set up any state (an archived customer, a refunded order) in one line.

Import jobs are the exception where a test needs the real thing: ``run_import`` runs a file through
the import service, as an upload would; ``ImportJobFactory`` builds a job in any state without a file.
"""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from customers.imports.services import import_job_create, import_job_run
from customers.models import Customer, ImportJob, ImportRowError, Interaction, Order, OrderLine, Product


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        """UserFactory(groups=["Account manager"]) puts the user in those role groups."""
        if create and extracted:
            for name in extracted:
                self.groups.add(Group.objects.get_or_create(name=name)[0])


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    external_id = factory.Sequence(lambda n: f"C{n:05d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.LazyAttribute(lambda c: f"{c.external_id.lower()}@example.com")
    country = "GB"
    language = "en"

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        """CustomerFactory(tags=["vip"]) creates the tags as needed."""
        if create and extracted:
            from customers.models import Tag

            self.tags.set([Tag.objects.get_or_create(name=name)[0] for name in extracted])


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Product {n}")


class OrderFactory(factory.django.DjangoModelFactory):
    """An order without lines; add them with ``order_add_line`` (which keeps the totals right)."""

    class Meta:
        model = Order

    external_id = factory.Sequence(lambda n: f"O{n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    ordered_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))
    currency = "GBP"


def order_add_line(order: Order, *, product: Product | None = None, quantity: int = 1, unit_price="10.00") -> OrderLine:
    """Append a line to ``order`` and update its gross amount (the database computes the net)."""
    unit_price = Decimal(str(unit_price))
    line = OrderLine.objects.create(
        order=order,
        line_number=order.lines.count() + 1,
        product=product or ProductFactory(),
        quantity=quantity,
        unit_price=unit_price,
        amount=(quantity * unit_price).quantize(Decimal("0.01")),
    )
    order.gross_amount += line.amount
    order.save(update_fields=["gross_amount"])
    order.refresh_from_db(fields=["net_amount"])
    return line


def order_net_amount(*, kind: str, status: str, gross_amount: Decimal, refunded_amount: Decimal) -> Decimal:
    """The net amount rule (docs/imports.md) worked out in Python, independently of the database's
    ORDER_NET_AMOUNT, for tests to check the generated column against."""
    if status == Order.Status.CANCELLED:
        return Decimal("0")
    if status == Order.Status.REFUNDED and kind == Order.Kind.PURCHASE:
        return Decimal("0") if refunded_amount == 0 else max(gross_amount - refunded_amount, Decimal("0"))
    return gross_amount - refunded_amount


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    kind = Interaction.Kind.CALL
    subject = factory.Sequence(lambda n: f"Interaction {n}")
    occurred_at = factory.LazyFunction(timezone.now)
    # A complaint, ticket or review is a case: a status that follows resolved_at, normal priority, due
    # three days after it arrived (the database refuses a case without them).
    status = factory.LazyAttribute(
        lambda i: ("resolved" if i.resolved_at else "open") if i.kind in Interaction.TRACKED_KINDS else ""
    )
    priority = factory.LazyAttribute(lambda i: "normal" if i.kind in Interaction.TRACKED_KINDS else "")
    due_at = factory.LazyAttribute(
        lambda i: i.occurred_at + timedelta(hours=72) if i.kind in Interaction.TRACKED_KINDS else None
    )
    resolved_at = None


class ImportJobFactory(factory.django.DjangoModelFactory):
    """A job in any state, without a file (its path leads nowhere): for pages and API answers."""

    class Meta:
        model = ImportJob

    format = ImportJob.Format.CUSTOMERS_CSV
    original_name = "book.csv"
    path = "/nonexistent"
    created_by = factory.SubFactory(UserFactory)

    class Params:
        # ImportJobFactory(finished=True): a job that ran, with a few rows and errors to report.
        finished = factory.Trait(
            status=ImportJob.Status.SUCCEEDED,
            finished_at=factory.LazyFunction(timezone.now),
            rows_read=3,
            created_count=1,
            error_count=2,
        )


class ImportRowErrorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportRowError

    job = factory.SubFactory(ImportJobFactory)
    line = factory.Sequence(lambda n: n + 2)
    column = ""
    reason = "the row is not valid"


def run_import(user, content: bytes | str, fmt: str, name: str = "file.csv") -> ImportJob:
    """Upload ``content`` as ``user`` and run the job at once, as the worker would."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    job = import_job_create(user=user, uploaded_file=SimpleUploadedFile(name, content), format=fmt, run_async=False)
    return import_job_run(job_id=job.pk)


def errors_of(job: ImportJob) -> list[tuple[int, str, str]]:
    return list(job.row_errors.order_by("line", "id").values_list("line", "column", "reason"))
