import subprocess
import sys

from .conftest import repo_root

IMPORT_EVERY_MODULE = """
import importlib, pkgutil, sys
import metrics.analytics as package
for module in pkgutil.walk_packages(package.__path__, "metrics.analytics."):
    importlib.import_module(module.name)
loaded = sorted(name for name in sys.modules if name == "django" or name.startswith("django."))
assert not loaded, loaded
print("ok")
"""


def test_analytics_package_imports_without_loading_django():
    command = [sys.executable, "-c", IMPORT_EVERY_MODULE]

    result = subprocess.run(command, cwd=repo_root(), capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
