"""The WSGI module as gunicorn's workers load it (a process of its own: it freezes its heap)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, sys
import retention_crm.wsgi
from django.urls import get_resolver
print(gc.get_freeze_count(), "surveys.public_views" in sys.modules, get_resolver()._populated)
"""


def test_a_worker_loads_the_urls_and_views_then_freezes_what_start_up_made():
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    frozen, views_loaded, populated = done.stdout.split()
    assert int(frozen) > 10_000  # Django and the apps, out of the collector's reach
    assert views_loaded == "True"
    assert populated == "True"
