"""customers.tasks: thin entry points; the import task retries only when the database is away."""

import pytest
from celery.exceptions import Retry
from django.db import OperationalError

from customers import tasks
from customers.models import Customer, ImportJob

from .factories import ImportJobFactory, run_import
from .test_imports_service import CUSTOMERS

pytestmark = pytest.mark.django_db


def test_the_import_task_retries_when_the_database_is_away(monkeypatch):
    job = ImportJobFactory()
    calls = []

    def database_away(*, job_id):
        calls.append(job_id)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(tasks, "import_job_run", database_away)

    with pytest.raises(Retry):
        tasks.import_job_run_task.apply(args=[str(job.pk)], throw=True)

    assert calls == [str(job.pk)]  # once, then handed back to the broker with a countdown


def test_the_import_task_does_not_retry_a_job_that_ran(ada):
    job = run_import(ada, CUSTOMERS, "customers")

    tasks.import_job_run_task.delay(str(job.pk))

    job.refresh_from_db()
    assert (job.status, job.created_count, Customer.objects.count()) == (ImportJob.Status.SUCCEEDED, 3, 3)
