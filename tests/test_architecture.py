"""The boundaries of docs/architecture.md, checked so that they stay true."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OTHER_APPS = {"segmentation", "contact_plans", "loyalty", "surveys", "metrics"}


def imported_top_level_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_customers_app_imports_none_of_the_other_apps():
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_top_level_modules(path) & OTHER_APPS)
        for path in (ROOT / "customers").rglob("*.py")
    }

    assert {path: apps for path, apps in offenders.items() if apps} == {}


def test_metrics_does_not_import_segmentation():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "metrics").rglob("*.py")
        if "segmentation" in imported_top_level_modules(path)
    ]

    assert offenders == []
