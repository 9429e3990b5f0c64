"""The import service: good, bad and repeated files in every format, and who may import what."""

import csv
import gzip
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.imports.services import import_job_create, import_job_run, import_report_csv, import_sample
from customers.models import AccountAssignment, Customer, ImportJob, Order, OrderLine

from .factories import CustomerFactory, errors_of, run_import

pytestmark = pytest.mark.django_db

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


CUSTOMERS = """external_id,name,email,country,language,tags,marketing_consent,referred_by
C-1,Siti Nurhaliza,siti@example.com,Malaysia,ms,vip;newsletter,true,
C-2,Budi Santoso,budi@example.com,Indonesia,id,,false,C-1
C-3,Núria Ferrer,nuria@example.org,Spain,ca,b2b,yes,
"""


def test_customers_csv_creates_customers_with_tags_consent_and_referrals(ada):
    job = run_import(ada, CUSTOMERS, "customers")

    assert job.status == ImportJob.Status.SUCCEEDED
    assert (job.rows_read, job.created_count, job.updated_count, job.error_count) == (3, 3, 0, 0)
    siti = Customer.objects.get(external_id="C-1")
    assert siti.language == "ms"
    assert sorted(siti.tags.values_list("name", flat=True)) == ["newsletter", "vip"]
    assert siti.marketing_consent and siti.consent_at is not None and siti.consent_source == "import"
    assert Customer.objects.get(external_id="C-2").referred_by == siti
    assert Customer.objects.get(external_id="C-3").name == "Núria Ferrer"


def test_second_import_of_the_same_file_changes_nothing(ada):
    run_import(ada, CUSTOMERS, "customers")
    before = {c.external_id: (c.updated_at, c.consent_at) for c in Customer.objects.all()}

    job = run_import(ada, CUSTOMERS, "customers")

    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 0, 3)
    assert {c.external_id: (c.updated_at, c.consent_at) for c in Customer.objects.all()} == before


def test_changed_rows_are_updated_and_missing_columns_keep_their_values(ada):
    run_import(ada, CUSTOMERS, "customers")

    job = run_import(ada, "external_id,name\nC-1,Siti N.\nC-2,Budi Santoso\n", "customers")

    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 1, 1)
    siti = Customer.objects.get(external_id="C-1")
    assert siti.name == "Siti N."
    assert siti.email == "siti@example.com"  # the column was not in the file


def test_bad_rows_are_reported_with_line_column_and_reason_and_good_rows_go_in(ada):
    content = """external_id,name,email,language,referred_by,acquired_at
G-1,Good One,good@example.com,en,,2024-01-31
B-1,,x@example.com,en,,
B-2,Bad Email,not-an-email,en,,
B-3,Bad Language,b3@example.com,xx,,
G-1,Duplicate,dup@example.com,en,,
B-4,Unknown Referrer,b4@example.com,en,NOPE,
B-5,Bad Date,b5@example.com,en,,31/01/2024
"""
    job = run_import(ada, content, "customers")

    assert job.status == ImportJob.Status.SUCCEEDED
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["G-1"]
    assert Customer.objects.get().name == "Good One"
    errors = errors_of(job)
    assert [(line, column) for line, column, _ in errors] == [
        (3, "name"), (4, "email"), (5, "language"), (6, "external_id"), (7, "referred_by"), (8, "acquired_at"),
    ]  # fmt: skip
    assert "appears more than once" in errors[3][2]
    assert job.error_count == 6
    report = import_report_csv(job=job).splitlines()
    assert report[0] == "line,column,reason"
    assert report[1].startswith("3,name,")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"external_id,name,favourite_colour\nX,Y,blue\n", "unknown columns: favourite_colour"),
        (b"name,email\nY,y@example.com\n", "missing columns: external_id"),
        (b"\x00\x01\x02PK\x03\x04binary", "not a text file"),
        ("external_id,name\nX,Jos\xe9\n".encode("latin-1"), "not UTF-8"),
        (b"external_id,name\n", "no rows"),
        (b'external_id,name\n"unterminated,quote\nX,Y\n', "not valid CSV"),
    ],
    ids=["unknown-column", "missing-column", "binary", "latin-1", "header-only", "broken-quotes"],
)
def test_file_that_is_not_what_it_claims_is_refused_and_nothing_is_written(ada, content, expected):
    CustomerFactory(external_id="KEEP", name="Kept")

    job = run_import(ada, content, "customers")

    assert job.status == ImportJob.Status.FAILED
    assert expected in job.message
    assert list(Customer.objects.values_list("external_id", "name")) == [("KEEP", "Kept")]


ORDERS = """order_id,customer_id,ordered_at,sku,product_name,quantity,unit_price,kind,status
O-1,C-1,2024-03-01 10:00:00,SKU-A,Mug,2,5.50,,
O-1,C-1,2024-03-01 10:00:00,SKU-B,Tea,1,3.25,,
O-2,C-1,2024-04-01 09:30:00,SKU-A,Mug,1,5.50,refund,
O-3,C-2,2024-04-02 12:00:00,SKU-B,Tea,4,3.25,,cancelled
"""


@pytest.fixture
def two_customers(db):
    return CustomerFactory(external_id="C-1"), CustomerFactory(external_id="C-2")


def test_orders_csv_builds_orders_with_lines_refunds_and_net_amounts(ada, two_customers):
    job = run_import(ada, ORDERS, "orders")

    assert (job.status, job.created_count, job.error_count) == (ImportJob.Status.SUCCEEDED, 3, 0)
    o1 = Order.objects.get(external_id="O-1")
    assert (o1.kind, o1.gross_amount, o1.net_amount) == ("purchase", Decimal("14.25"), Decimal("14.25"))
    assert list(o1.lines.values_list("line_number", "product__sku", "quantity")) == [(1, "SKU-A", 2), (2, "SKU-B", 1)]
    refund = Order.objects.get(external_id="O-2")
    assert (refund.kind, refund.net_amount) == ("refund", Decimal("-5.50"))
    assert OrderLine.objects.get(order=refund).quantity == -1
    assert Order.objects.get(external_id="O-3").net_amount == 0


def test_reimporting_orders_changes_nothing_and_a_changed_line_updates_its_order(ada, two_customers):
    run_import(ada, ORDERS, "orders")

    again = run_import(ada, ORDERS, "orders")
    changed = run_import(ada, ORDERS.replace("SKU-B,Tea,1,3.25", "SKU-B,Tea,3,3.25"), "orders")

    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 3)
    assert (changed.created_count, changed.updated_count, changed.unchanged_count) == (0, 1, 2)
    assert Order.objects.get(external_id="O-1").gross_amount == Decimal("20.75")
    assert OrderLine.objects.count() == 4


def test_an_order_with_one_bad_line_is_left_out_whole(ada, two_customers):
    content = """order_id,customer_id,ordered_at,sku,quantity,unit_price
O-9,C-1,2024-03-01 10:00:00,SKU-A,2,5.50
O-9,C-1,2024-03-01 10:00:00,SKU-B,-1,3.25
O-10,C-404,2024-03-01 10:00:00,SKU-A,1,5.50
O-11,C-1,2024-03-01 10:00:00,SKU-A,many,5.50
O-12,C-2,yesterday,SKU-A,1,5.50
O-13,C-1,2024-03-02 10:00:00,SKU-A,1,5.50
O-13,C-2,2024-03-02 10:00:00,SKU-A,1,5.50
O-14,C-2,2024-03-03 10:00:00,SKU-A,1,5.50
"""
    job = run_import(ada, content, "orders")

    assert list(Order.objects.values_list("external_id", flat=True)) == ["O-14"]
    reasons = {(line, column): reason for line, column, reason in errors_of(job)}
    assert "negative on a purchase" in reasons[(3, "quantity")]
    assert "left out because another of its lines" in reasons[(2, "order_id")]
    assert "C-404 is not a known customer" in reasons[(4, "customer_id")]
    assert "whole number" in reasons[(5, "quantity")]
    assert "not a valid date" in reasons[(6, "ordered_at")]
    assert "different customers" in reasons[(7, "order_id")]


def test_account_manager_imports_into_their_own_book_only(alice, bob):
    CustomerFactory(external_id="BOBS", account_manager=bob, name="Bob's customer")

    job = run_import(alice, "external_id,name\nNEW-1,New One\nBOBS,Taken Over\n", "customers")

    new = Customer.objects.get(external_id="NEW-1")
    assert new.account_manager == alice
    assert AccountAssignment.objects.filter(customer=new, manager=alice, ended_at__isnull=True).exists()
    assert Customer.objects.get(external_id="BOBS").name == "Bob's customer"
    assert "another account manager's book" in errors_of(job)[0][2]


def test_reassigning_through_an_import_closes_the_old_assignment(ada, alice, bob):
    run_import(ada, "external_id,name,account_manager\nR-1,Rita,alice\n", "customers")

    run_import(ada, "external_id,name,account_manager\nR-1,Rita,bob\n", "customers")

    history = list(
        AccountAssignment.objects.filter(customer__external_id="R-1")
        .order_by("started_at")
        .values_list("manager__username", "ended_at")
    )
    assert [name for name, _ in history] == ["alice", "bob"]
    assert history[0][1] is not None and history[1][1] is None


ONLINE_RETAIL = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:27:00,3.39,17850,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,,United Kingdom
C536379,D,Discount,-1,2010-12-01 09:41:00,27.50,14527,United Kingdom
536380,22961,"JAM MAKING SET, PRINTED",24,2010-12-01 09:41:00,1.45,14527,United Kingdom
"""


def test_online_retail_maps_invoices_cancellations_and_skips_lines_without_customer(ada):
    job = run_import(ada, gzip.compress(ONLINE_RETAIL.encode()), "online-retail", name="online_retail.csv.gz")

    assert (job.status, job.rows_read, job.rows_skipped, job.created_count) == ("succeeded", 5, 1, 3)
    assert "without a CustomerID" in job.message
    assert Customer.objects.get(external_id="17850").country == "United Kingdom"
    invoice = Order.objects.get(external_id="536365")
    assert invoice.net_amount == Decimal("35.64") and invoice.lines.count() == 2
    assert invoice.ordered_at.isoformat() == "2010-12-01T08:26:00+00:00"  # GMT in December
    cancellation = Order.objects.get(external_id="C536379")
    assert (cancellation.kind, cancellation.net_amount) == ("refund", Decimal("-27.50"))
    assert Customer.objects.get(external_id="14527").acquired_at.isoformat() == "2010-12-01"


@pytest.mark.skipif(not (SHARED_DATA / "cdnow_sample.txt").exists(), reason="shared data not found")
def test_cdnow_sample_imports_every_purchase_and_is_idempotent(ada):
    content = (SHARED_DATA / "cdnow_sample.txt").read_bytes()

    first = run_import(ada, content, "cdnow", name="cdnow_sample.txt")
    second = run_import(ada, content, "cdnow", name="cdnow_sample.txt")

    assert (first.rows_read, first.created_count, first.error_count) == (6919, 6919, 0)
    assert Customer.objects.count() == 2357
    assert (second.created_count, second.updated_count, second.unchanged_count) == (0, 0, 6919)


def test_cdnow_file_of_another_shape_is_refused(ada):
    job = run_import(ada, "a,b,c\n1,2,3\n", "cdnow")

    assert job.status == "failed" and "not a CDNOW file" in job.message


def test_a_job_runs_once_even_when_delivered_twice(ada):
    job = run_import(ada, CUSTOMERS, "customers")

    again = import_job_run(job_id=job.pk)

    assert again.created_count == 3 and Customer.objects.count() == 3


@pytest.mark.worker
def test_upload_is_imported_by_a_real_worker(ada, celery_worker, django_capture_on_commit_callbacks):
    import time

    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(
            user=ada, uploaded_file=SimpleUploadedFile("c.csv", CUSTOMERS.encode()), format="customers"
        )

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            break
        time.sleep(0.2)
    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.created_count == 3 and job.progress_percent == 100


# --- Timestamps, separators, errors with their values, samples ------------------------------------


def test_ordered_at_may_mix_every_valid_form_in_one_column(settings, ada, two_customers):
    settings.TIME_ZONE = "Asia/Jakarta"
    content = """order_id,customer_id,ordered_at,sku,quantity,unit_price
O-1,C-1,2025-03-14T11:00:00,SKU-A,1,5
O-2,C-1,2025-03-14T11:00:00+02:00,SKU-A,1,5
O-3,C-2,2025-03-14T11:00:00Z,SKU-A,1,5
O-4,C-2,2025-03-14 11:00:00.25+08:00,SKU-A,1,5
O-5,C-2,2025-03-14 11:00:00,SKU-A,1,5
"""

    job = run_import(ada, content, "orders")

    assert (job.created_count, job.error_count) == (5, 0), errors_of(job)
    ordered_at = {o.external_id: o.ordered_at for o in Order.objects.all()}
    assert ordered_at == {
        "O-1": datetime(2025, 3, 14, 4, 0, tzinfo=UTC),  # Jakarta is UTC+7
        "O-2": datetime(2025, 3, 14, 9, 0, tzinfo=UTC),
        "O-3": datetime(2025, 3, 14, 11, 0, tzinfo=UTC),
        "O-4": datetime(2025, 3, 14, 3, 0, 0, 250_000, tzinfo=UTC),
        "O-5": datetime(2025, 3, 14, 4, 0, tzinfo=UTC),
    }


def test_consent_at_may_mix_offsets_in_one_column(ada):
    content = """external_id,name,marketing_consent,consent_at,consent_source
J-1,Dewi,true,2025-03-14T11:00:00+07:00,web_form
K-1,Aishah,true,2025-03-14T11:00:00+08:00,web_form
B-1,Jordi,true,2025-03-14T11:00:00+00:00,web_form
L-1,Lucy,true,2025-03-14T11:00:00Z,web_form
"""

    job = run_import(ada, content, "customers")

    assert (job.created_count, job.error_count) == (4, 0), errors_of(job)
    consent_at = dict(Customer.objects.values_list("external_id", "consent_at"))
    assert consent_at == {
        "J-1": datetime(2025, 3, 14, 4, 0, tzinfo=UTC),
        "K-1": datetime(2025, 3, 14, 3, 0, tzinfo=UTC),
        "B-1": datetime(2025, 3, 14, 11, 0, tzinfo=UTC),
        "L-1": datetime(2025, 3, 14, 11, 0, tzinfo=UTC),
    }


def test_a_bad_timestamp_names_the_forms_that_are_accepted(ada, two_customers):
    job = run_import(
        ada, "order_id,customer_id,ordered_at,sku,quantity,unit_price\nO-1,C-1,14/03/2025,A,1,5\n", "orders"
    )

    [(line, column, reason)] = errors_of(job)
    assert (line, column) == (2, "ordered_at")
    assert "YYYY-MM-DD HH:MM:SS" in reason and "YYYY-MM-DDTHH:MM:SS" in reason and "+07:00" in reason
    assert 'read: "14/03/2025"' in reason


def test_semicolon_separated_files_with_a_decimal_comma_import(ada):
    customers = 'external_id;name;email;country;tags\nC-1;Núria Ferrer;nuria@example.org;Spain;"vip;b2b"\nC-2;Budi;budi@example.com;Indonesia;\n'
    orders = """order_id;customer_id;ordered_at;sku;quantity;unit_price;amount
O-1;C-1;2025-03-14 11:00:00;SKU-A;2;5,50;11,00
O-1;C-1;2025-03-14 11:00:00;SKU-B;1;1.234,50;1.234,50
O-2;C-2;2025-03-15 11:00:00;SKU-A;3;7.25;21,75
"""

    customer_job = run_import(ada, customers, "customers")
    order_job = run_import(ada, orders, "orders")

    assert (customer_job.status, customer_job.created_count, customer_job.error_count) == ("succeeded", 2, 0)
    assert Customer.objects.get(external_id="C-1").country == "Spain"
    assert sorted(Customer.objects.get(external_id="C-1").tags.values_list("name", flat=True)) == ["b2b", "vip"]
    assert (order_job.status, order_job.created_count, order_job.error_count) == ("succeeded", 2, 0)
    assert Order.objects.get(external_id="O-1").gross_amount == Decimal("1245.50")
    assert list(OrderLine.objects.filter(order__external_id="O-1").values_list("unit_price", flat=True)) == [
        Decimal("5.50"),
        Decimal("1234.50"),
    ]
    assert Order.objects.get(external_id="O-2").gross_amount == Decimal("21.75")  # a decimal point still reads


def test_every_bad_field_of_a_row_is_reported_with_the_value_read(ada):
    content = (
        'external_id,name,email,language,marketing_consent\nX-1,,not-an-email,xx,maybe\nX-2,Good,"a""b,\nc",en,true\n'
    )

    job = run_import(ada, content, "customers")

    errors = errors_of(job)
    assert {column: reason for line, column, reason in errors if line == 2} == {
        "name": "name is required",
        "email": 'email is not a valid email address (read: "not-an-email")',
        "language": 'language must be one of ca, en, id, ms (read: "xx")',
        "marketing_consent": 'marketing_consent must be true or false (read: "maybe")',
    }
    # A quote, a comma and a line break are shown escaped, on one line of the report.
    assert [reason for line, column, reason in errors if line == 3] == [
        'email is not a valid email address (read: "a\\"b,\\nc")'
    ]
    report = list(csv.reader(io.StringIO(import_report_csv(job=job))))
    assert ["3", "email", 'email is not a valid email address (read: "a\\"b,\\nc")'] in report
    assert not Customer.objects.exists()


def test_a_long_value_is_shown_cut_and_invisible_characters_escaped(ada):
    content = "external_id,name,email\nX-1,Ana," + "a" * 60 + "\u202e\nX-2,Budi,\u202eevil\n"

    job = run_import(ada, content, "customers")

    reasons = [reason for _line, _column, reason in errors_of(job)]
    assert reasons[0].endswith('(read: "' + "a" * 40 + '…")')
    assert reasons[1].endswith('(read: "\\u202eevil")')


@pytest.mark.parametrize("fmt", ["customers", "orders", "online-retail", "cdnow"])
def test_the_sample_file_of_every_format_imports_cleanly(alice, fmt):
    if fmt == "orders":
        run_import(alice, import_sample(format="customers")[1], "customers")
    name, content = import_sample(format=fmt)

    job = run_import(alice, content, fmt, name=name)

    assert (job.outcome, job.error_count) == ("finished", 0), errors_of(job)
    assert job.created_count > 0


def test_the_report_is_written_in_the_language_of_whoever_uploaded_the_file(ada, two_customers):
    # The worker has no reader: it writes the row errors in the uploader's language, not in English.
    from django.utils import translation

    content = "order_id,customer_id,ordered_at,sku,quantity,unit_price\nO-1,C-1,2024-03-01 10:00:00,SKU-A,many,5\n"

    with translation.override("ca"):  # the upload's request
        job = import_job_create(
            user=ada, uploaded_file=SimpleUploadedFile("f.csv", content.encode()), format="orders", run_async=False
        )
    job = import_job_run(job_id=job.pk)  # the worker, in no language of its own

    assert job.language == "ca"
    assert errors_of(job) == [(2, "quantity", 'quantity ha de ser un nombre enter (llegit: "many")')]
