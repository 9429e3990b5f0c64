"""The boundaries of docs/architecture.md, checked so that they stay true."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OTHER_APPS = {"segmentation", "contact_plans", "loyalty", "surveys", "team", "metrics"}


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


def _absolute_imports(path: Path) -> set[str]:
    """Every module a file imports, relative imports resolved against its package, at any depth of
    the file (imports inside functions included)."""
    package = list(path.relative_to(ROOT).parts[:-1])
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.add(module)
    return names


def test_metrics_analytics_imports_neither_django_nor_the_apps():
    """Pure code lives under metrics/analytics (STYLE.md): pandas, numpy, scipy and itself, in every
    module of the package and its subpackages."""
    apps = {"customers", "retention_crm", "rest_framework", "celery", *OTHER_APPS}
    offenders = {}
    for path in (ROOT / "metrics" / "analytics").rglob("*.py"):
        bad = sorted(
            name
            for name in _absolute_imports(path)
            if name.split(".")[0] in apps | {"django"} and not name.startswith("metrics.analytics")
        )
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad

    assert offenders == {}


def _event_arguments(path: Path):
    """(function, first argument) of every events.publish / events.subscribe call in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"publish", "subscribe"}
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "events"
            and node.args
        ):
            yield node.func.attr, node.args[0]


def test_every_event_published_or_subscribed_is_declared():
    from retention_crm import events

    declared_constants = {name for name, value in vars(events).items() if isinstance(value, events.Event)}
    offenders = []
    for app in ("customers", "segmentation", "contact_plans", "loyalty", "surveys", "team", "metrics", "retention_crm"):
        for path in (ROOT / app).rglob("*.py"):
            for function, argument in _event_arguments(path):
                if isinstance(argument, ast.Attribute) and argument.attr in declared_constants:
                    continue
                if isinstance(argument, ast.Name):
                    continue  # a variable holding a declared event (checked at run time by publish)
                offenders.append(f"{path.relative_to(ROOT)}: events.{function}({ast.unparse(argument)})")

    assert offenders == []


def _offenders(app: str, forbidden: set[str]) -> dict[str, list[str]]:
    """Modules of ``app`` (any depth, imports inside functions included) importing a forbidden app."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_top_level_modules(path) & forbidden)
        for path in (ROOT / app).rglob("*.py")
    }
    return {path: apps for path, apps in offenders.items() if apps}


def test_metrics_imports_neither_segmentation_nor_contact_plans():
    # Segments and plans are built on the metrics, never the other way round.
    assert _offenders("metrics", {"segmentation", "contact_plans"}) == {}


def test_segmentation_imports_neither_contact_plans_loyalty_nor_surveys():
    # Plans start from segments: the arrow runs from contact_plans (and loyalty, surveys) to segments.
    assert _offenders("segmentation", {"contact_plans", "loyalty", "surveys"}) == {}


def test_the_kernel_imports_no_app():
    assert _offenders("retention_crm", {"customers", *OTHER_APPS}) == {}


def test_the_events_table_of_the_architecture_doc_is_the_declarations():
    from retention_crm import events

    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = doc.split("<!-- events-table -->")[1].split("<!-- /events-table -->")[0].strip()

    assert table == events.markdown_table()


# How the apps name the registries they fill (DRF's routers register routes, which is not this).
REGISTRIES = {"panels", "sc", "segment_conditions", "worklist_signals", "events"}


def test_no_app_fills_a_registry_as_a_side_effect_of_being_imported():
    # Registries (segment conditions, worklist signals, panels) are filled from each owner's
    # AppConfig.ready(), through functions it calls there: never by a call at a module's top level.
    offenders = []
    for app in ("customers", "segmentation", "contact_plans", "loyalty", "surveys", "team", "metrics"):
        for path in (ROOT / app).rglob("*.py"):
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                call = node.value if isinstance(node, ast.Expr) else None
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and isinstance(call.func.value, ast.Name)
                    and call.func.value.id in REGISTRIES
                ):
                    if call.func.attr in {"register", "register_group", "subscribe"}:
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")

    assert offenders == []


def test_no_app_imports_loyalty():
    # Loyalty is at the end of the flow: it reacts to orders through events, and registers its
    # panels, conditions and signals from its own ready(); nothing calls into it.
    offenders = {}
    for app in ("customers", "segmentation", "contact_plans", "surveys", "metrics", "retention_crm"):
        offenders.update(_offenders(app, {"loyalty"}))

    assert offenders == {}


def test_loyalty_imports_only_customers_metrics_segmentation_and_contact_plans():
    assert _offenders("loyalty", {"surveys"}) == {}


def test_team_imports_none_of_the_apps_that_act_on_customers():
    """The team (employees, teams, one-to-ones) stands beside the customer side: surveys send to
    employees, never the other way round."""
    assert _offenders("team", {"customers", "segmentation", "contact_plans", "loyalty", "surveys", "metrics"}) == {}
