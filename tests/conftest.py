"""Fixtures shared by the whole suite: the persona trio, API clients, a real Celery worker.

Personas (after healthchecks): Alice owns the customers under test, Bob is a colleague (another
account manager), Charlie must have no access at all, Marta is a marketer, Ada an administrator.
"""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test.utils import override_settings
from django.utils import translation
from rest_framework.test import APIClient

from customers import roles
from retention_crm.celery import app as celery_app

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ["tests.browser"]


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (run `make test` with it reachable at 127.0.0.1:5432)")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            if REQUIRE_SERVICES:
                raise pytest.UsageError("REQUIRE_SERVICES=1 but the tests are not running on PostgreSQL")
            item.add_marker(skip_pg)


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Django's PBKDF2 takes its million rounds (0.3 to 0.7 s of a CI core) for every persona made
    and every password login: minutes of a run. The tests check who may log in, not the strength of
    the hash, so they hash with MD5, as Django's testing documentation advises. Servers the tests
    start in processes of their own keep the settings' hashers."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


# Tables that a DELETE cannot empty (a trigger refuses or follows deletes: the loyalty ledger is
# append-only), with every table referencing them, which TRUNCATE must take along.
_TRUNCATED_TABLES = """
WITH RECURSIVE truncated(oid) AS (
    SELECT tgrelid FROM pg_trigger WHERE NOT tgisinternal AND tgtype & 8 = 8
    UNION
    SELECT constraint_.conrelid FROM pg_constraint constraint_ JOIN truncated ON constraint_.confrelid = truncated.oid
    WHERE constraint_.contype = 'f'
)
SELECT relname FROM pg_class JOIN truncated USING (oid)
"""


@pytest.fixture(scope="session", autouse=True)
def _committed_tests_flushed_by_delete_on_postgresql():
    """After each committed test (transactional_db, live_server, the worker's), Django empties every
    table with one TRUNCATE, which on PostgreSQL makes new files for all of them and their indexes
    (over 500): one to three seconds a test. DELETE empties the few rows a test leaves in milliseconds.
    The foreign keys are deferred to the flush's commit, so the order of the tables does not matter;
    the tables with delete triggers, and those referencing them, are still truncated."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate_all = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade or not tables:
            return truncate_all(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        with self.connection.cursor() as cursor:
            cursor.execute(_TRUNCATED_TABLES)
            truncated = sorted({name for (name,) in cursor.fetchall()} & set(tables))
        statements = ["SET CONSTRAINTS ALL DEFERRED"]
        if truncated:
            statements.append("TRUNCATE " + ", ".join(self.quote_name(table) for table in truncated))
        statements += [f"DELETE FROM {self.quote_name(table)}" for table in sorted(set(tables) - set(truncated))]
        return statements

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = truncate_all


@pytest.fixture(autouse=True)
def _tasks_run_eagerly_unless_worker(request):
    """Tests exercise services directly; only the tests marked `worker` go through a real broker."""
    eager = "worker" not in request.keywords
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _each_test_starts_in_the_default_language():
    """A test client's request activates the language it asked for, and the thread keeps it: an
    import job created afterwards would take that language for its report (ImportJob.language)."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _cache_emptied_after_committed_tests(request, django_db_blocker):
    """Without Redis the cache is a table that the flush between transactional tests leaves alone:
    empty it, so that one test's login failures and rate counts never reach the next."""
    yield
    marker = request.node.get_closest_marker("django_db")
    committed = (marker is not None and marker.kwargs.get("transaction")) or {
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if committed:
        from django.core.cache import caches
        from django.core.cache.backends.db import DatabaseCache

        if isinstance(caches["default"], DatabaseCache):  # never clear a Redis shared with a broker
            with django_db_blocker.unblock():
                caches["default"].clear()


def _user(django_user_model, username, *groups, **extra):
    user = django_user_model.objects.create_user(username=username, password="pw-" + username, **extra)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


@pytest.fixture
def alice(db, django_user_model):
    return _user(django_user_model, "alice", roles.ACCOUNT_MANAGER, first_name="Alice")


@pytest.fixture
def bob(db, django_user_model):
    return _user(django_user_model, "bob", roles.ACCOUNT_MANAGER, first_name="Bob")


@pytest.fixture
def charlie(db, django_user_model):
    return _user(django_user_model, "charlie")


@pytest.fixture
def marta(db, django_user_model):
    return _user(django_user_model, "marta", roles.MARKETER)


@pytest.fixture
def ada(db, django_user_model):
    return _user(django_user_model, "ada", roles.ADMINISTRATOR, is_staff=True)


@pytest.fixture
def api_client():
    return APIClient()


def api_client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker, in a thread of this process, consuming the configured broker."""
    from celery.contrib.testing.worker import start_worker

    broker = celery_app.conf.broker_url
    if REQUIRE_SERVICES and not broker.startswith("redis://"):
        pytest.fail("REQUIRE_SERVICES=1 but the Celery broker is not Redis: " + broker)
    if broker.startswith("redis://"):
        import redis

        redis.Redis.from_url(broker).flushdb()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30):
        yield


@pytest.fixture
def run_on_worker(celery_worker):
    """`run_on_worker(task, *args, times=2)` sends the task `times` times to the real worker and returns
    once the worker has finished every one of them (Celery's task_postrun, sent from the worker's
    thread), failing the test when one raised or when they are not done within `timeout` seconds."""
    from celery.signals import task_postrun

    finished = []  # (task name, state) in the order the worker finished them
    condition = threading.Condition()

    def on_postrun(sender=None, state=None, **kwargs):
        with condition:
            finished.append((sender.name, state))
            condition.notify_all()

    def run(task, *args, times: int = 1, timeout: float = 30):
        with condition:
            before = sum(name == task.name for name, _state in finished)
        for _ in range(times):
            task.delay(*args)
        deadline = time.monotonic() + timeout
        with condition:
            while len(states := [state for name, state in finished if name == task.name][before:]) < times:
                if not condition.wait(timeout=max(0.0, deadline - time.monotonic())):
                    pytest.fail(f"the worker finished {len(states)} of {times} runs of {task.name} in {timeout} s")
        assert states == ["SUCCESS"] * times, states

    task_postrun.connect(on_postrun, weak=False)
    yield run
    task_postrun.disconnect(on_postrun)


@pytest.fixture(scope="session")
def sqlite_migrated_from_nothing(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """make run's first step on a new clone, done once for the session: `migrate` in a process of its
    own, with only the environment a new clone has, makes a SQLite database from nothing in a new
    VAR_DIR. Returns the folder and the finished process; a test that writes copies the folder."""
    var_dir = tmp_path_factory.mktemp("sqlite-migrated")
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "VAR_DIR": str(var_dir),
        "STATIC_ROOT": str(var_dir / "static"),
        "DJANGO_SETTINGS_MODULE": "retention_crm.settings",
    }
    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command; call_command('migrate', '--noinput', verbosity=0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600
    )
    return var_dir, done
