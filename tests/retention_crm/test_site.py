"""The site's own routes (the favicon browsers ask for) and what a first run prints."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.django_db
def test_favicon_ico_leads_to_the_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith(".svg")


# --- A first run says nothing alarming (issue 13) -------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def _settings_in_a_fresh_process(tmp_path, code: str, **env) -> subprocess.CompletedProcess:
    """Runs `code` after django.setup() with only the given environment (as a new clone has)."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "VAR_DIR": str(tmp_path),
        "STATIC_ROOT": str(tmp_path / "static"),
        "DJANGO_SETTINGS_MODULE": "retention_crm.settings",
        **env,
    }
    script = "import django; django.setup(); from django.conf import settings\n" + code
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("url", [None, "filesystem://", "filesystem:///"])
def test_the_filesystem_broker_connects_without_the_no_hostname_warning(tmp_path, url):
    env = {"CELERY_BROKER_URL": url} if url else {}
    code = (
        "import logging; logging.basicConfig(level=logging.WARNING)\n"
        "from retention_crm.celery import app\n"
        "connection = app.connection_for_write(); connection.ensure_connection(max_retries=1)\n"
        "print(connection.as_uri()); connection.release()\n"
    )

    done = _settings_in_a_fresh_process(tmp_path, code, **env)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("filesystem://") and "localhost" in done.stdout
    assert "No hostname" not in done.stderr


def test_migrate_on_sqlite_prints_no_warnings(tmp_path):
    # make run's default database; the list indexes' INCLUDE columns are PostgreSQL's alone.
    code = "from django.core.management import call_command; call_command('check', '--database', 'default')\n"

    done = _settings_in_a_fresh_process(tmp_path, code)

    assert done.returncode == 0, done.stderr
    assert "WARNINGS" not in done.stderr + done.stdout and "W040" not in done.stderr + done.stdout


def test_a_new_sqlite_database_migrates_from_nothing(sqlite_migrated_from_nothing):
    """make run's first step on a fresh clone. SQLite rebuilds a table to add a constraint or a
    column with a default, with every index of the models' state: the PostgreSQL-only trigram
    indexes of customers and interactions must stay out of it (retention_crm/sqlite3/base.py)."""
    var_dir, done = sqlite_migrated_from_nothing

    assert done.returncode == 0, done.stderr[-3000:]
    assert (var_dir / "retention_crm.sqlite3").exists()


def test_the_readme_says_how_to_pick_another_port_with_only_two_set_up_commands():
    readme = (ROOT / "README.md").read_text()
    set_up = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("#")[0].strip() for line in set_up.split("```sh", 1)[1].split("```", 1)[0].splitlines()]

    assert [command for command in commands if command] == ["make run", "make test"]
    assert "make run PORT=8080" in set_up
