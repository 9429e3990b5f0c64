"""From an import job to the rows it wrote: what a subscriber of orders.imported / customers.imported
reaches through selectors.import_job_orders and import_job_customers (docs/architecture.md)."""

import pytest

from customers import selectors
from retention_crm import events

from .factories import CustomerFactory, run_import
from .test_imports_service import CUSTOMERS, ORDERS

pytestmark = pytest.mark.django_db


@pytest.fixture
def reached():
    """What a subscriber of each import event finds, per job: the external ids of the job's rows."""
    found: dict[str, set[str]] = {}

    def orders_imported(*, job_id):
        found[job_id] = set(selectors.import_job_orders(job_id).values_list("external_id", flat=True))

    def customers_imported(*, job_id):
        found[job_id] = set(selectors.import_job_customers(job_id).values_list("external_id", flat=True))

    events.subscribe(events.ORDERS_IMPORTED)(orders_imported)
    events.subscribe(events.CUSTOMERS_IMPORTED)(customers_imported)
    yield found
    events._handlers[events.ORDERS_IMPORTED.name].remove(orders_imported)
    events._handlers[events.CUSTOMERS_IMPORTED.name].remove(customers_imported)


def imported(ada, content, fmt, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return run_import(ada, content, fmt)


def test_a_subscriber_reaches_exactly_the_orders_the_job_wrote(ada, reached, django_capture_on_commit_callbacks):
    CustomerFactory(external_id="C-1"), CustomerFactory(external_id="C-2")

    first = imported(ada, ORDERS, "orders", django_capture_on_commit_callbacks)
    again = imported(ada, ORDERS, "orders", django_capture_on_commit_callbacks)
    changed = imported(
        ada, ORDERS.replace("SKU-B,Tea,1,3.25", "SKU-B,Tea,3,3.25"), "orders", django_capture_on_commit_callbacks
    )

    assert reached[str(first.pk)] == {"O-1", "O-2", "O-3"}
    assert reached[str(again.pk)] == set()  # the same file again changed nothing: no order is that job's
    assert reached[str(changed.pk)] == {"O-1"}  # only a line of O-1 changed
    assert set(selectors.import_job_orders(first.pk).values_list("external_id", flat=True)) == {"O-2", "O-3"}


def test_a_subscriber_reaches_exactly_the_customers_the_job_wrote(ada, reached, django_capture_on_commit_callbacks):
    CustomerFactory(external_id="C-9", name="Not in the file")

    first = imported(ada, CUSTOMERS, "customers", django_capture_on_commit_callbacks)
    again = imported(ada, CUSTOMERS, "customers", django_capture_on_commit_callbacks)
    renamed = imported(
        ada, "external_id,name\nC-1,Siti N.\nC-2,Budi Santoso\n", "customers", django_capture_on_commit_callbacks
    )

    assert reached[str(first.pk)] == {"C-1", "C-2", "C-3"}
    assert reached[str(again.pk)] == set()
    assert reached[str(renamed.pk)] == {"C-1"}


def test_customers_an_orders_file_creates_are_the_jobs_and_those_it_only_buys_for_are_not(ada, reached):
    CustomerFactory(external_id="17850")
    content = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom
536380,22961,JAM MAKING SET,24,2010-12-01 09:41:00,1.45,14527,United Kingdom
"""

    job = run_import(ada, content, "online-retail")

    assert set(selectors.import_job_customers(job.pk).values_list("external_id", flat=True)) == {"14527"}
    assert set(selectors.import_job_orders(job.pk).values_list("external_id", flat=True)) == {"536365", "536380"}
