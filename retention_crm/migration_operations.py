"""Migration operations the apps share."""

from django.db import migrations


class AddIndexOnPostgreSQL(migrations.AddIndex):
    """AddIndex for an index only PostgreSQL has (a GIN index of trigrams): elsewhere (SQLite in
    development) the migration records it in the model's state and creates nothing, so the models
    can declare it in Meta.indexes and makemigrations stays quiet on every database."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class AddConstraintOnPostgreSQL(migrations.AddConstraint):
    """AddConstraint for a table holding a PostgreSQL-only index: SQLite cannot add a constraint to a
    table, it rebuilds the table and its indexes, and the trigram indexes cannot be built there.
    Elsewhere the constraint is recorded in the model's state only (the services' validators still
    hold the rule in development); PostgreSQL, where the product's data lives, enforces it."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def clamp_into_stored_range(app_label: str, model_name: str, field: str, *, instant: bool) -> migrations.RunPython:
    """A step to run before adding a ``dates.stored_range`` CHECK constraint to a table that may
    already hold dates outside it (written before the constraint existed): each such date is moved
    onto the nearest bound (1970-01-01, or the last day before 2100), and the count is logged, so
    that the migration does not fail on an existing database. The analytics ignore a day before
    1970 in any case (metrics.selectors); moving a row, not deleting it, keeps its order lines,
    refunds and history intact for someone to correct (docs/imports.md, "Dates")."""
    import logging
    from datetime import timedelta

    from retention_crm import dates

    low, high = (
        (dates.EARLIEST_INSTANT, dates.STORED_LATEST_INSTANT) if instant else (dates.EARLIEST, dates.STORED_LATEST)
    )
    last = high - timedelta(days=1)

    def clamp(apps, schema_editor):
        if schema_editor is not None and schema_editor.connection.vendor == "postgresql":
            # Deferred foreign-key checks of earlier steps would stop the ALTER TABLE that follows.
            schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        rows = apps.get_model(app_label, model_name).objects
        moved = rows.filter(**{f"{field}__lt": low}).update(**{field: low})
        moved += rows.filter(**{f"{field}__gte": high}).update(**{field: last})
        if moved:
            logging.getLogger("retention_crm.migrations").warning(
                "%s.%s: %d %s outside %s..%s moved onto the nearest bound",
                app_label, model_name, moved, field, low.isoformat(), last.isoformat(),
            )  # fmt: skip

    return migrations.RunPython(clamp, migrations.RunPython.noop)
