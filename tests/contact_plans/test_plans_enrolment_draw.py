"""Enrolment's one statement on whichever database runs the suite (PostgreSQL in CI, SQLite in
`make run`): two triggers at once make one enrolment, and the control group is drawn once per
customer, at the plan's share, with each database's own random numbers (contact_plans/dialect.py)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from contact_plans import dialect
from contact_plans.models import Enrolment
from contact_plans.plans import triggers
from contact_plans.plans.validation import StepData
from customers.models import Customer
from tests.customers.factories import CustomerFactory

from .plan_helpers import build_plan

pytestmark = pytest.mark.django_db


def service_plan(**data):
    """A service plan (no consent needed): an email, then a call 40 days later."""
    steps = [StepData(kind="wait", delay_days=2), StepData(kind="task", task_kind="call", delay_days=40)]
    return build_plan(trigger="manual", purpose="transactional", steps=steps, **data)


def many_customers(n: int) -> list[int]:
    Customer.objects.bulk_create(CustomerFactory.build_batch(n))
    return list(Customer.objects.order_by("pk").values_list("pk", flat=True))


# PostgreSQL only: the suite's SQLite database is in memory, where a second writer is refused at once
# instead of waiting. On SQLite, two processes racing on a file database (as the web server and the
# worker of `make run` do) are in tests/contact_plans/test_demo_on_sqlite.py.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_triggers_racing_in_two_threads_make_one_enrolment_per_customer():
    plan = service_plan()
    ids = many_customers(40)
    now = timezone.now()
    start = threading.Barrier(2)
    results, errors = [], []

    def trigger():
        try:
            start.wait(timeout=10)
            with transaction.atomic():
                results.append(
                    triggers.enrol_insert(plan, Customer.objects.filter(pk__in=ids), source="trigger", now=now)
                )
        except Exception as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=trigger) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(enrolled for enrolled, _control in results) == [0, 40]
    assert Enrolment.objects.filter(plan=plan).count() == 40
    assert Enrolment.objects.filter(plan=plan).values("customer_id").distinct().count() == 40


def test_the_draw_is_made_once_per_customer_so_state_flag_and_dates_agree():
    plan = service_plan(control_percent=50)
    ids = many_customers(300)
    now = timezone.now()

    enrolled, in_control = triggers.enrol_insert(plan, Customer.objects.filter(pk__in=ids), source="segment", now=now)

    rows = Enrolment.objects.filter(plan=plan)
    control = rows.filter(is_control=True)
    assert enrolled == 300 and in_control == control.count()
    assert set(control.values_list("state", flat=True)) == {"control"}
    assert set(rows.filter(is_control=False).values_list("state", flat=True)) == {"active"}
    # A control row ends after the plan's length (42 days); an active one is due at its first step.
    assert set(control.values_list("next_due_at", flat=True)) == {now + timedelta(days=42)}
    assert not control.filter(next_position__isnull=False).exists()
    assert set(rows.filter(is_control=False).values_list("next_due_at", flat=True)) == {now + timedelta(days=2)}


def test_the_control_share_is_the_plans_within_its_binomial_bounds():
    plan = service_plan(control_percent=20)
    ids = many_customers(1500)

    enrolled, in_control = triggers.enrol_insert(
        plan, Customer.objects.filter(pk__in=ids), source="segment", now=timezone.now()
    )

    # 1,500 draws at 20 %: 300 expected, standard deviation 15.5; five of them either side.
    assert enrolled == 1500
    assert 222 < in_control < 378


def test_no_control_group_when_the_plan_has_none():
    plan = service_plan(control_percent=0)
    ids = many_customers(200)

    enrolled, in_control = triggers.enrol_insert(
        plan, Customer.objects.filter(pk__in=ids), source="segment", now=timezone.now()
    )

    assert (enrolled, in_control) == (200, 0)


def test_the_databases_random_unit_is_uniform_between_zero_and_one():
    sql = f"""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000),
        draws AS (SELECT {dialect.random_unit()} AS u FROM n)
        SELECT min(u), max(u), avg(u), avg(CASE WHEN u < 0.1 THEN 1.0 ELSE 0.0 END) FROM draws"""  # noqa: S608

    with connection.cursor() as cursor:
        cursor.execute(sql)
        low, high, mean, below_a_tenth = (float(v) for v in cursor.fetchone())

    # 100,000 uniform draws: the mean's standard deviation is 0.0009, the tenth's 0.00095.
    assert 0 <= low < 0.001 and 0.999 < high < 1
    assert abs(mean - 0.5) < 0.005
    assert abs(below_a_tenth - 0.1) < 0.005
