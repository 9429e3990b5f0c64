"""The windows of retention_crm.dates, refused by every way in: the API, the browser forms, the
services, the imports, and the database's CHECK constraints (with the migration's clamp)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from contact_plans import services as contact_services
from contact_plans.forms import FollowUpForm, SnoozeForm
from contact_plans.models import FollowUp, WorklistSnooze
from customers import services
from customers.forms import InteractionForm
from customers.models import Customer, Interaction, Order
from retention_crm import dates
from retention_crm.migration_operations import clamp_into_stored_range
from tests.conftest import api_client_for
from tests.customers.factories import CustomerFactory, ProductFactory, errors_of, run_import

pytestmark = pytest.mark.django_db

YEAR_ONE = "0001-01-01T00:00:00Z"
YEAR_9999 = "9999-12-31T00:00:00Z"


@pytest.fixture
def customer(alice):
    return CustomerFactory(account_manager=alice, external_id="C-1")


def window_refusal(field: str, kind: str = dates.HAPPENED) -> str:
    return dates.message(kind, field=field)


# --- The rule -------------------------------------------------------------------------------------


def test_happened_accepts_1970_to_a_day_ahead_and_nothing_outside():
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)

    assert not dates.is_outside(datetime(1970, 1, 1, tzinfo=UTC), dates.HAPPENED, now=now)
    assert not dates.is_outside(now + timedelta(hours=23), dates.HAPPENED, now=now)
    assert dates.is_outside(datetime(1969, 12, 31, 23, 59, tzinfo=UTC), dates.HAPPENED, now=now)
    assert dates.is_outside(now + timedelta(days=2), dates.HAPPENED, now=now)
    assert dates.is_outside(datetime(1, 1, 1, tzinfo=UTC), dates.HAPPENED, now=now)
    assert dates.is_outside(date(9999, 12, 31), dates.HAPPENED, now=now)


def test_planned_reaches_five_years_ahead():
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)

    assert not dates.is_outside(now + timedelta(days=5 * 365), dates.PLANNED, now=now)
    assert dates.is_outside(now + timedelta(days=6 * 365), dates.PLANNED, now=now)


def test_the_message_names_the_field_and_the_window():
    text = window_refusal("ordered_at")

    assert text.startswith("ordered_at must be between 1970-01-01 and ")
    assert (timezone.localdate() + timedelta(days=1)).isoformat() in text


# --- The API --------------------------------------------------------------------------------------


@pytest.mark.parametrize("ordered_at", [YEAR_ONE, YEAR_9999, "1969-12-31T23:00:00Z"])
def test_api_refuses_an_order_outside_the_window(alice, customer, ordered_at):
    ProductFactory(sku="MUG-1")
    body = {
        "external_id": "WEB-1",
        "customer": "C-1",
        "ordered_at": ordered_at,
        "lines": [{"sku": "MUG-1", "quantity": 1, "unit_price": "5.00"}],
    }

    response = api_client_for(alice).post("/api/v1/orders/", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"ordered_at": [window_refusal("ordered_at")]}
    assert not Order.objects.exists()


def test_api_refuses_an_interaction_a_customer_and_consent_outside_the_window(alice, customer):
    client = api_client_for(alice)

    interaction = client.post(
        "/api/v1/interactions/",
        {"customer": "C-1", "kind": "call", "subject": "Hi", "occurred_at": YEAR_9999},
        format="json",
    )
    created = client.post(
        "/api/v1/customers/",
        {"external_id": "C-2", "name": "Old", "acquired_at": "0001-01-01", "consent_at": YEAR_ONE},
        format="json",
    )

    assert interaction.status_code == 400
    assert interaction.json()["error"]["fields"] == {"occurred_at": [window_refusal("occurred_at")]}
    assert created.status_code == 400
    assert created.json()["error"]["fields"] == {
        "acquired_at": [window_refusal("acquired_at")],
        "consent_at": [window_refusal("consent_at")],
    }
    assert not Interaction.objects.exists() and Customer.objects.count() == 1


def test_api_refuses_a_followup_and_a_snooze_beyond_five_years(alice, customer):
    client = api_client_for(alice)
    far = timezone.now() + timedelta(days=6 * 365)

    followup = client.post("/api/v1/followups/", {"customer_id": customer.pk, "due_at": far.isoformat()}, format="json")
    snooze = client.post(
        "/api/v1/worklist/snoozes/",
        {"customer_id": customer.pk, "until": far.date().isoformat(), "reason": "Travelling"},
        format="json",
    )

    assert followup.status_code == 400
    assert followup.json()["error"]["fields"] == {"due_at": [window_refusal("due_at", dates.PLANNED)]}
    assert snooze.status_code == 400, snooze.json()
    assert snooze.json()["error"]["fields"] == {"until": [window_refusal("until", dates.PLANNED)]}
    assert not FollowUp.objects.exists() and not WorklistSnooze.objects.exists()


def test_the_schema_documents_the_windows(ada):
    schema = api_client_for(ada).get("/api/v1/schema/", {"format": "json"}).json()["components"]["schemas"]

    assert (
        "From 1970-01-01 to a day from now." in schema["OrderCreateRequest"]["properties"]["ordered_at"]["description"]
    )
    assert "five years" in schema["FollowUpCreateRequest"]["properties"]["due_at"]["description"]


# --- The services (what the demo and every future caller go through) ------------------------------


def test_services_refuse_dates_outside_the_window(alice, customer):
    ProductFactory(sku="MUG-1")
    far = timezone.now() + timedelta(days=6 * 365)
    year_one = datetime(1, 1, 1, tzinfo=UTC)
    calls = {
        "ordered_at": lambda: services.order_record(
            external_id="O-1",
            customer=customer,
            ordered_at=year_one,
            lines=[{"sku": "MUG-1", "quantity": 1, "unit_price": "5"}],
        ),
        "occurred_at": lambda: services.interaction_log(customer=customer, kind="call", subject="x", occurred_at=far),
        "acquired_at": lambda: services.customer_create(external_id="C-9", name="N", acquired_at=date(1900, 1, 1)),
        "consent_at": lambda: services.customer_update(customer=customer, marketing_consent=True, consent_at=year_one),
        "due_at": lambda: contact_services.followup_schedule(customer=customer, assigned_to=alice, due_at=far),
        "until": lambda: contact_services.worklist_snooze(customer=customer, user=alice, until=far.date(), reason="r"),
    }

    for field, call in calls.items():
        with pytest.raises(ValidationError) as refused:
            call()
        assert field in refused.value.message_dict, field

    assert not Order.objects.exists() and not FollowUp.objects.exists() and not WorklistSnooze.objects.exists()


# --- The browser forms ----------------------------------------------------------------------------


def test_forms_refuse_dates_outside_the_window():
    far = timezone.localdate() + timedelta(days=6 * 365)
    interaction = InteractionForm(
        data={
            "kind": "call",
            "subject": "x",
            "direction": "outbound",
            "channel": "phone",
            "occurred_at": "0001-01-01T10:00",
        }
    )
    followup = FollowUpForm(data={"due_on": far.isoformat()})
    snooze = SnoozeForm(data={"until": far.isoformat(), "reason": "r"})

    assert interaction.errors["occurred_at"] == [window_refusal("occurred_at")]
    assert followup.errors["due_on"] == [window_refusal("due_on", dates.PLANNED)]
    assert snooze.errors["until"] == [window_refusal("until", dates.PLANNED)]


def test_customer_form_page_refuses_an_acquisition_date_outside_the_window(client, ada):
    client.force_login(ada)

    response = client.post(
        "/customers/new/",
        {"external_id": "C-7", "name": "N", "time_zone": "UTC", "language": "en", "acquired_at": "1900-01-01"},
    )

    assert response.status_code == 200
    assert window_refusal("acquired_at") in response.content.decode()
    assert not Customer.objects.filter(external_id="C-7").exists()


# --- The imports ----------------------------------------------------------------------------------


def test_orders_import_refuses_dates_outside_the_window_line_by_line(alice, customer):
    content = (
        "order_id,customer_id,ordered_at,sku,quantity,unit_price,product_name\n"
        "O-1,C-1,0001-01-01 00:00:00,MUG-1,1,5,Mug\n"
        "O-2,C-1,9999-12-31 00:00:00,MUG-1,1,5,Mug\n"
        "O-3,C-1,2024-05-01 10:00:00,MUG-1,1,5,Mug\n"
    )

    job = run_import(alice, content, "orders")

    reasons = {line: reason for line, _column, reason in errors_of(job)}
    assert set(reasons) == {2, 3}
    assert all(reason.startswith(window_refusal("ordered_at")) for reason in reasons.values())
    assert list(Order.objects.values_list("external_id", flat=True)) == ["O-3"]


def test_customers_import_refuses_acquisition_and_consent_dates_outside_the_window(ada):
    content = (
        "external_id,name,acquired_at,marketing_consent,consent_at\n"
        "C-1,Ann,1900-01-01,false,\n"
        "C-2,Ben,,true,9999-01-01T00:00:00Z\n"
        "C-3,Cy,2020-01-01,true,2020-01-01T00:00:00Z\n"
    )

    job = run_import(ada, content, "customers")

    assert [(line, column) for line, column, _reason in errors_of(job)] == [(2, "acquired_at"), (3, "consent_at")]
    assert errors_of(job)[0][2].startswith(window_refusal("acquired_at"))
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["C-3"]


# --- The database ---------------------------------------------------------------------------------


def test_the_database_refuses_what_bypasses_the_services(customer):
    order = Order.objects.create(external_id="O-1", customer=customer, ordered_at=timezone.now())

    for field, value in (
        ("ordered_at", datetime(1, 1, 1, tzinfo=UTC)),
        ("ordered_at", datetime(2100, 1, 1, tzinfo=UTC)),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Order.objects.filter(pk=order.pk).update(**{field: value})
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(acquired_at=date(1969, 12, 31))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="drops a PostgreSQL constraint to stage an old row")
def test_the_migration_moves_old_rows_onto_the_bounds_rather_than_failing(customer):
    old = Order.objects.create(external_id="O-OLD", customer=customer, ordered_at=timezone.now())
    late = Order.objects.create(external_id="O-LATE", customer=customer, ordered_at=timezone.now())
    with connection.cursor() as cursor:  # a database from before the constraint (rolled back after the test)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the inserts' deferred checks, before ALTER TABLE
        cursor.execute("ALTER TABLE customers_order DROP CONSTRAINT order_ordered_at_in_range")
        cursor.execute("UPDATE customers_order SET ordered_at = '0001-01-01' WHERE id = %s", [old.pk])
        cursor.execute("UPDATE customers_order SET ordered_at = '9999-12-31' WHERE id = %s", [late.pk])
    from django.apps import apps

    clamp_into_stored_range("customers", "order", "ordered_at", instant=True).code(apps, None)
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE customers_order ADD CONSTRAINT order_ordered_at_in_range "
            "CHECK (ordered_at >= '1970-01-01 00:00+00' AND ordered_at < '2100-01-01 00:00+00')"
        )

    old.refresh_from_db()
    late.refresh_from_db()
    assert old.ordered_at == dates.EARLIEST_INSTANT
    assert late.ordered_at == datetime(2099, 12, 31, tzinfo=UTC)


# --- Birth dates: from 1900 to today ----------------------------------------------------------------


def test_a_birth_date_is_from_1900_to_today():
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)

    assert not dates.is_outside(date(1900, 1, 1), dates.BORN, now=now)
    assert not dates.is_outside(date(1965, 7, 4), dates.BORN, now=now)
    assert not dates.is_outside(timezone.localdate(now), dates.BORN, now=now)
    assert dates.is_outside(date(1899, 12, 31), dates.BORN, now=now)
    assert dates.is_outside(date(2026, 6, 2), dates.BORN, now=now)
    assert "not before 1900, not after today" in window_refusal("birth_date", dates.BORN)


def test_the_api_takes_a_birth_date_before_1970_and_refuses_one_outside(alice, customer):
    url = f"/api/v1/customers/{customer.pk}/"
    api = api_client_for(alice)

    kept = api.patch(url, {"birth_date": "1965-07-04"}, format="json")
    old = api.patch(url, {"birth_date": "1899-12-31"}, format="json")
    unborn = api.patch(url, {"birth_date": (timezone.localdate() + timedelta(days=2)).isoformat()}, format="json")

    assert kept.status_code == 200 and kept.json()["birth_date"] == "1965-07-04"
    assert old.status_code == 400 and "birth_date" in old.json()["error"]["fields"]
    assert unborn.status_code == 400
    assert Customer.objects.get(pk=customer.pk).birth_date == date(1965, 7, 4)


def test_the_customers_import_reads_birth_dates_and_refuses_bad_ones(ada):
    content = "external_id,name,birth_date\nB-1,Ann,1958-02-28\nB-2,Ben,1850-01-01\nB-3,Cy,31/12/1990\nB-4,Di,\n"

    job = run_import(ada, content, "customers")

    assert [(line, column) for line, column, _reason in errors_of(job)] == [(3, "birth_date"), (4, "birth_date")]
    assert errors_of(job)[0][2].startswith(window_refusal("birth_date", dates.BORN))
    assert dict(Customer.objects.values_list("external_id", "birth_date")) == {"B-1": date(1958, 2, 28), "B-4": None}


def test_the_database_refuses_a_birth_date_before_1900(customer):
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(birth_date=date(1899, 12, 31))
