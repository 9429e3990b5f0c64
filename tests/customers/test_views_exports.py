"""CSV exports of customers and order lines: visibility, filters, the import's columns, CSV injection."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers import views
from customers.models import Customer
from customers.views import CUSTOMER_CSV_COLUMNS
from retention_crm.csv import csv_cell
from tests.clients import client_for

from .factories import CustomerFactory, OrderFactory, order_add_line

pytestmark = pytest.mark.django_db


def export(user, name: str, **params) -> list[dict]:
    response = client_for(user).get(reverse(name), params)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def header(user, name: str) -> list[str]:
    response = client_for(user).get(reverse(name))
    return next(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def alices_customer(alice):
    return CustomerFactory(account_manager=alice, name="Ana Aguilar", external_id="A-1", country="ES")


@pytest.fixture
def bobs_customer(bob):
    return CustomerFactory(account_manager=bob, name="Budi Santoso", external_id="B-1", country="ID")


# --- Customers ----------------------------------------------------------------------------------


def test_customer_export_has_exactly_the_columns_the_customers_import_reads(ada):
    columns = header(ada, "customers:export_customers")

    assert columns == [
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
        "referred_by",
        "tags",
        "marketing_consent",
        "consent_at",
        "consent_source",
        "notes",
        "birth_date",
    ]


def test_customer_export_columns_match_the_import_format():
    formats = pytest.importorskip("customers.imports.formats")

    assert set(CUSTOMER_CSV_COLUMNS) == set(formats.CUSTOMER_REQUIRED + formats.CUSTOMER_OPTIONAL)


def test_customer_export_writes_values_the_import_understands(ada, alice):
    referrer = CustomerFactory(external_id="REF-1")
    CustomerFactory(
        external_id="A-9",
        name="Ana",
        account_manager=alice,
        referred_by=referrer,
        tags=["wholesale", "vip"],
        acquired_at=date(2023, 4, 5),
        marketing_consent=True,
        consent_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        consent_source="web_form",
    )

    row = next(r for r in export(ada, "customers:export_customers") if r["external_id"] == "A-9")

    assert row["account_manager"] == "alice"
    assert row["referred_by"] == "REF-1"
    assert row["tags"] == "vip;wholesale"
    assert row["acquired_at"] == "2023-04-05"
    assert row["marketing_consent"] == "true"
    assert row["consent_at"] == "2024-01-02T03:04:05+00:00"
    assert row["consent_source"] == "web_form"


def test_owner_exports_only_their_book(alice, alices_customer, bobs_customer):
    rows = export(alice, "customers:export_customers")

    assert [r["external_id"] for r in rows] == ["A-1"]


def test_colleague_exports_other_books_when_the_setting_allows(settings, bob, alices_customer, bobs_customer):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True

    rows = export(bob, "customers:export_customers")

    assert {r["external_id"] for r in rows} == {"A-1", "B-1"}


def test_stranger_exports_a_header_and_no_rows(charlie, alices_customer):
    assert export(charlie, "customers:export_customers") == []
    assert header(charlie, "customers:export_customers") == list(CUSTOMER_CSV_COLUMNS)


def test_marketer_exports_every_customer(marta, alices_customer, bobs_customer):
    rows = export(marta, "customers:export_customers")

    assert {r["external_id"] for r in rows} == {"A-1", "B-1"}


def test_customer_export_applies_the_lists_search_and_filters(ada, alices_customer, bobs_customer):
    archived = CustomerFactory(external_id="X-1", country="ES", archived_at=datetime(2024, 1, 1, tzinfo=UTC))

    by_country = export(ada, "customers:export_customers", country="ES")
    by_search = export(ada, "customers:export_customers", q="budi")
    everything_in_spain = export(ada, "customers:export_customers", country="ES", archived="all")

    assert [r["external_id"] for r in by_country] == ["A-1"]
    assert [r["external_id"] for r in by_search] == ["B-1"]
    assert {r["external_id"] for r in everything_in_spain} == {"A-1", archived.external_id}


def test_customer_export_guards_cells_a_spreadsheet_would_run_as_formulas(ada):
    CustomerFactory(external_id="F-1", name="=HYPERLINK(1)", company="@SUM(A1)", notes="-2+3", phone="+44 20 1234")

    row = export(ada, "customers:export_customers")[0]

    assert row["name"] == "'=HYPERLINK(1)"
    assert row["company"] == "'@SUM(A1)"
    assert row["notes"] == "'-2+3"
    assert row["phone"] == "'+44 20 1234"


def test_csv_cell_leaves_numbers_dates_and_plain_text_alone():
    assert csv_cell(-2) == "-2"
    assert csv_cell(None) == ""
    assert csv_cell(False) == "false"
    assert csv_cell(date(2024, 2, 29)) == "2024-02-29"
    assert csv_cell("Ana") == "Ana"
    assert csv_cell("\tcmd") == "'\tcmd"


# --- Orders -------------------------------------------------------------------------------------


def test_order_export_writes_one_row_per_order_line(ada, alices_customer):
    order = OrderFactory(
        customer=alices_customer, external_id="ORD-1", ordered_at=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    )
    order_add_line(order, quantity=2, unit_price="12.50")
    order_add_line(order, quantity=1, unit_price="3")

    rows = export(ada, "customers:export_orders")

    assert list(rows[0]) == [
        "order_id",
        "customer_id",
        "ordered_at",
        "currency",
        "kind",
        "status",
        "refunded_amount",
        "sku",
        "quantity",
        "unit_price",
        "amount",
    ]
    assert [(r["order_id"], r["customer_id"], r["quantity"], r["amount"]) for r in rows] == [
        ("ORD-1", "A-1", "2", "25.00"),
        ("ORD-1", "A-1", "1", "3.00"),
    ]
    assert rows[0]["ordered_at"] == "2024-05-06T07:08:09+00:00"
    assert (rows[0]["currency"], rows[0]["kind"], rows[0]["status"]) == ("GBP", "purchase", "placed")


def test_order_export_keeps_a_refunds_negative_quantity_as_a_number(ada, alices_customer):
    refund = OrderFactory(customer=alices_customer, kind="refund")
    order_add_line(refund, quantity=-2, unit_price="5")

    row = export(ada, "customers:export_orders")[0]

    assert (row["kind"], row["quantity"], row["amount"]) == ("refund", "-2", "-10.00")


def test_order_export_covers_only_the_filtered_and_visible_customers(alice, ada, alices_customer, bobs_customer):
    order_add_line(OrderFactory(customer=alices_customer, external_id="ORD-A"))
    order_add_line(OrderFactory(customer=bobs_customer, external_id="ORD-B"))

    for_alice = export(alice, "customers:export_orders")
    for_ada_in_indonesia = export(ada, "customers:export_orders", country="ID")

    assert [r["order_id"] for r in for_alice] == ["ORD-A"]
    assert [r["order_id"] for r in for_ada_in_indonesia] == ["ORD-B"]


def test_stranger_exports_no_order_lines(charlie, alices_customer):
    order_add_line(OrderFactory(customer=alices_customer))

    assert export(charlie, "customers:export_orders") == []


def test_anonymous_visitor_cannot_export():
    response = Client().get(reverse("customers:export_customers"))

    assert response.status_code == 302


# --- Streaming -------------------------------------------------------------------------------------


def test_order_export_sends_its_header_before_reading_orders_then_reads_them_by_keyset(
    monkeypatch, ada, alices_customer
):
    monkeypatch.setattr(views, "EXPORT_CHUNK_SIZE", 2)
    noon = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
    # Five orders, three of them at the same time, so that a chunk ends inside a tie.
    for number, minutes in ((1, 0), (2, 5), (3, 5), (4, 5), (5, 1)):
        order = OrderFactory(
            customer=alices_customer, external_id=f"ORD-{number}", ordered_at=noon + timedelta(minutes=minutes)
        )
        order_add_line(order, quantity=number)
        order_add_line(order, quantity=1)
    response = client_for(ada).get(reverse("customers:export_orders"))
    pieces = iter(response.streaming_content)

    with CaptureQueriesContext(connection) as before_first_piece:
        first = next(pieces)
    with CaptureQueriesContext(connection) as after_first_piece:
        rest = b"".join(pieces)

    assert isinstance(response, StreamingHttpResponse)
    assert first.decode().startswith("order_id,customer_id,")
    assert before_first_piece.captured_queries == []
    queries = [query["sql"] for query in after_first_piece.captured_queries]
    assert not any("OFFSET" in sql.upper() for sql in queries)
    assert sum(" LIMIT 2" in sql.upper() for sql in queries) == 3  # 2 + 2 + 1 orders
    rows = list(csv.DictReader(io.StringIO((first + rest).decode())))
    assert [(r["order_id"], r["quantity"]) for r in rows] == [
        (f"ORD-{number}", quantity) for number in (1, 5, 2, 3, 4) for quantity in (str(number), "1")
    ]


@pytest.mark.parametrize("sort", ["acquired_at", "-acquired_at", "name", "-created_at"])
def test_customer_export_reads_in_keyset_chunks_in_the_lists_order_with_empty_values_last(monkeypatch, ada, sort):
    monkeypatch.setattr(views, "EXPORT_CHUNK_SIZE", 2)
    for number, acquired in enumerate([None, date(2024, 1, 1), date(2024, 1, 1), None, date(2023, 1, 1)]):
        CustomerFactory(external_id=f"K-{number}", name=f"Name {number % 2}", acquired_at=acquired)
    field = sort.removeprefix("-")
    customers = sorted(Customer.objects.all(), key=lambda c: c.pk)
    present = sorted(
        (c for c in customers if getattr(c, field) is not None),
        key=lambda c: getattr(c, field),
        reverse=sort.startswith("-"),  # a stable sort: ties stay in id order
    )
    missing = [c for c in customers if getattr(c, field) is None]

    rows = export(ada, "customers:export_customers", sort=sort)

    assert [r["external_id"] for r in rows] == [c.external_id for c in present + missing]


def test_csv_cell_guards_a_value_that_already_starts_with_an_apostrophe_and_a_formula():
    assert csv_cell("'=1+1") == "''=1+1"
    assert csv_cell("'plain") == "'plain"


@pytest.mark.parametrize("name", ["customers:export_customers", "customers:export_orders"])
def test_every_export_sends_its_first_row_after_reading_one_chunk(
    monkeypatch, ada, alices_customer, bobs_customer, name
):
    # Time to first byte: the header at once, then the first row as soon as the first chunk is read,
    # never after the whole export (issue 13: 6 s before the first byte of 40,000 order lines).
    from retention_crm import csv as crm_csv

    monkeypatch.setattr(views, "EXPORT_CHUNK_SIZE", 1)
    monkeypatch.setattr(crm_csv, "PIECE_CHARS", 1)
    for customer in (alices_customer, bobs_customer):
        order_add_line(OrderFactory(customer=customer), quantity=1)
    response = client_for(ada).get(reverse(name))
    pieces = iter(response.streaming_content)

    with CaptureQueriesContext(connection) as header:
        next(pieces)
    with CaptureQueriesContext(connection) as first_row:
        next(pieces)
    with CaptureQueriesContext(connection) as rest:
        assert len(list(pieces)) == 1

    assert header.captured_queries == []
    reads = [q["sql"].upper() for q in first_row.captured_queries]
    assert any(" LIMIT 1" in sql for sql in reads) and not any("DECLARE" in sql for sql in reads)
    assert rest.captured_queries  # the second customer's chunk is read only now


def test_the_first_chunk_of_an_export_is_small_so_that_rows_show_at_once(
    monkeypatch, ada, alices_customer, bobs_customer
):
    from customers import selectors

    monkeypatch.setattr(selectors, "FIRST_CHUNK_ROWS", 1)
    response = client_for(ada).get(reverse("customers:export_customers"))

    with CaptureQueriesContext(connection) as reads:
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    limits = [
        q["sql"].upper().split(" LIMIT ")[1].split()[0] for q in reads.captured_queries if " LIMIT " in q["sql"].upper()
    ]
    assert limits[:2] == ["1", str(views.EXPORT_CHUNK_SIZE)]  # one row first, then whole chunks
    assert len(rows) == 2
