"""`make run`: the product served as a small shop runs it, and a Ctrl-C that stops all of it."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

SETTINGS_PROBE = """
import json
from django.conf import settings
print(json.dumps({
    "debug": settings.DEBUG,
    "key": settings.SECRET_KEY,
    "hosts": settings.ALLOWED_HOSTS,
    "static": settings.STORAGES["staticfiles"]["BACKEND"],
}))
"""


def local_settings(var_dir: Path) -> dict:
    env = {
        **os.environ,
        "DJANGO_ENV": "local",
        "VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "retention_crm.settings",
    }
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_DEBUG"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", SETTINGS_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_make_runs_mode_has_debug_off_a_key_of_its_own_kept_in_var_and_local_hosts(tmp_path):
    first = local_settings(tmp_path)
    second = local_settings(tmp_path)

    assert first["debug"] is False
    assert first["key"] == second["key"] == (tmp_path / "secret_key").read_text()
    assert len(first["key"]) >= 50 and "insecure" not in first["key"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert {"127.0.0.1", "localhost"} <= set(first["hosts"])
    assert first["static"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_make_run_serves_through_gunicorn_after_collecting_the_static_files_and_make_dev_through_runserver():
    makefile = (ROOT / "Makefile").read_text()
    run_sh = (ROOT / "scripts" / "run.sh").read_text()

    run_recipe = makefile.split("\nrun: install assets\n", 1)[1].split("\n\n", 1)[0]
    dev_recipe = makefile.split("\ndev: install assets\n", 1)[1].split("\n\n", 1)[0]
    assert "run: export DJANGO_ENV ?= local" in makefile
    assert "collectstatic" in run_recipe and "scripts/run.sh serve" in run_recipe
    assert "scripts/run.sh dev" in dev_recipe
    assert "gunicorn" in run_sh and "runserver" in run_sh


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # fields: state, ppid, pgrp, ...
            found.append(int(stat.parent.name))
    return found


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.django_db(transaction=True)
def test_ctrl_c_stops_the_web_server_and_the_worker_within_seconds(tmp_path):
    db = connection.settings_dict
    port = _free_port()
    env = {
        **os.environ,
        # The test database is migrated already; the worker gets a broker of its own.
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": "filesystem://",
        "VAR_DIR": str(tmp_path),
        "DJANGO_ENV": "development",
        "PORT": str(port),
        "PY": sys.executable,
    }
    if db["PASSWORD"]:
        env["PGPASSWORD"] = db["PASSWORD"]
    script = subprocess.Popen(
        ["bash", "scripts/run.sh", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a terminal's foreground job: Ctrl-C reaches its process group
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    groups: list[int] = []
    try:
        deadline = time.monotonic() + 120
        worker_log = tmp_path / "log" / "worker.log"
        while time.monotonic() < deadline:
            ready = worker_log.exists() and "ready." in worker_log.read_text()
            try:
                up = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200
            except OSError:
                up = False
            if ready and up:
                break
            assert script.poll() is None, script.stdout.read()
            time.sleep(0.5)
        else:
            pytest.fail("run.sh did not start within 120 s")
        groups = _children(script.pid)

        started = time.monotonic()
        os.killpg(script.pid, signal.SIGINT)
        script.wait(timeout=30)
        while any(_group_alive(group) for group in groups) and time.monotonic() - started < 30:
            time.sleep(0.1)
        elapsed = time.monotonic() - started
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
        for group in groups:
            if _group_alive(group):
                os.killpg(group, signal.SIGKILL)

    assert len(groups) == 2  # the worker and the web server, each in a process group of its own
    assert not any(_group_alive(group) for group in groups)
    # run.sh kills what is left after STOP_SECONDS (8); a few more for a loaded test machine.
    assert elapsed < 12
