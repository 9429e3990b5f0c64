"""Export, then import: a file the product exported imports back with nothing changed.

The exports guard cells a spreadsheet would run as formulas with a leading ' and write timestamps to
the microsecond; the imports take the guard off and keep the microseconds.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from django.urls import reverse

from customers.imports.services import import_job_create, import_job_run
from customers.models import Customer, ImportJob, Order, OrderLine
from customers.services import order_refund
from tests.clients import client_for

from .factories import CustomerFactory, OrderFactory, ProductFactory, order_add_line

pytestmark = pytest.mark.django_db


def exported(user, name: str) -> bytes:
    response = client_for(user).get(reverse(name))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def imported(user, content: bytes, fmt: str) -> ImportJob:
    upload = SimpleUploadedFile(f"{fmt}.csv", content)
    job = import_job_create(user=user, uploaded_file=upload, format=fmt, run_async=False)
    return import_job_run(job_id=job.pk)


def customers_as_stored() -> dict:
    return {
        c.external_id: (model_to_dict(c, exclude=["tags"]), sorted(c.tags.values_list("name", flat=True)), c.updated_at)
        for c in Customer.objects.all()
    }


def orders_as_stored() -> dict:
    orders = {o.external_id: (model_to_dict(o), o.updated_at) for o in Order.objects.all()}
    lines = list(OrderLine.objects.order_by("order_id", "line_number").values())
    return {"orders": orders, "lines": lines}


@pytest.fixture
def awkward_customers(alice):
    referrer = CustomerFactory(external_id="REF-1", name="Ref", account_manager=alice)
    CustomerFactory(
        external_id="-7",  # a spreadsheet would compute it; the export guards it
        name="=HYPERLINK(1)",
        company="@SUM(A1)",
        phone="+44 20 1234 5678",
        notes='-2+3\nsecond line, with a comma and "quotes"',
        account_manager=alice,
        referred_by=referrer,
        tags=["vip", "b2b"],
        acquired_at=date(2023, 4, 5),
        marketing_consent=True,
        consent_at=datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        consent_source="web_form",
        time_zone="Asia/Jakarta",
        language="id",
    )
    CustomerFactory(
        external_id="+62-811",
        name="Núria Ferrer i Vilà",
        company="Ça va 😀 Ltd",
        notes="'=already quoted by hand",
        acquisition_source="@event",
        account_manager=alice,
        language="ca",
        marketing_consent=True,
        consent_at=datetime(2024, 6, 1, 12, 0, tzinfo=UTC),
        consent_source="in_person",
    )
    CustomerFactory(external_id="ÅSE-1", name="Åse Øvergård", email="", account_manager=alice)


def test_customers_export_imports_back_with_nothing_changed(ada, awkward_customers):
    before = customers_as_stored()

    job = imported(ada, exported(ada, "customers:export_customers"), "customers")

    assert (job.outcome, job.error_count, job.created_count, job.updated_count) == ("finished", 0, 0, 0), list(
        job.row_errors.values_list("line", "column", "reason")
    )
    assert job.unchanged_count == 4
    assert customers_as_stored() == before


def test_orders_export_imports_back_with_nothing_changed(ada, alice):
    customer = CustomerFactory(external_id="=C-1", account_manager=alice)
    first = OrderFactory(
        customer=customer, external_id="-O-1", ordered_at=datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    )
    order_add_line(first, product=ProductFactory(sku="@SKU-1"), quantity=3, unit_price="19.99")
    order_add_line(first, product=ProductFactory(sku="SKU-ü"), quantity=1, unit_price="1.015")  # half a cent
    refund = OrderFactory(customer=customer, external_id="R-1", kind="refund")  # now - 30 days: microseconds
    order_add_line(refund, quantity=-2, unit_price="5.5")
    # 62.00 + 41.98 is 103.97999999999999 in floating point (SQLite sums NUMERIC columns as floats).
    floats = OrderFactory(customer=customer, external_id="O-3")
    order_add_line(floats, quantity=2, unit_price="31.00")
    order_add_line(floats, quantity=2, unit_price="20.99")
    cancelled = OrderFactory(customer=customer, external_id="O-2", status="cancelled")
    order_add_line(cancelled, quantity=1, unit_price="0.01")
    before = orders_as_stored()

    job = imported(ada, exported(ada, "customers:export_orders"), "orders")

    assert (job.outcome, job.error_count, job.created_count, job.updated_count) == ("finished", 0, 0, 0), list(
        job.row_errors.values_list("line", "column", "reason")
    )
    assert job.unchanged_count == 4
    assert orders_as_stored() == before


def test_a_partial_refund_survives_an_orders_export_and_import(ada, alice):
    customer = CustomerFactory(external_id="C-9", account_manager=alice)
    partly = OrderFactory(customer=customer, external_id="P-1")
    order_add_line(partly, quantity=2, unit_price="40.00")
    order_add_line(partly, quantity=1, unit_price="20.00")
    order_refund(order=partly, amount=Decimal("35.50"))
    fully = OrderFactory(customer=customer, external_id="P-2")
    order_add_line(fully, quantity=1, unit_price="12.00")
    order_refund(order=fully, amount=None)
    before = orders_as_stored()
    content = exported(ada, "customers:export_orders")

    job = imported(ada, content, "orders")

    assert b"refunded_amount" in content.splitlines()[0]
    assert (job.outcome, job.error_count, job.created_count, job.updated_count) == ("finished", 0, 0, 0), list(
        job.row_errors.values_list("line", "column", "reason")
    )
    assert orders_as_stored() == before
    partly.refresh_from_db()
    assert (partly.status, partly.refunded_amount, partly.net_amount) == (
        "refunded",
        Decimal("35.50"),
        Decimal("64.50"),
    )


def test_an_exported_partial_refund_reimported_elsewhere_is_recorded_as_partial(ada, alice):
    customer = CustomerFactory(external_id="C-9", account_manager=alice)
    partly = OrderFactory(customer=customer, external_id="P-1")
    order_add_line(partly, quantity=2, unit_price="40.00")
    order_refund(order=partly, amount=Decimal("30.00"))
    content = exported(ada, "customers:export_orders")
    Order.objects.all().delete()

    job = imported(ada, content, "orders")

    assert (job.created_count, job.error_count) == (1, 0)
    order = Order.objects.get(external_id="P-1")
    assert (order.status, order.refunded_amount, order.net_amount) == ("refunded", Decimal("30.00"), Decimal("50.00"))
