"""SQLite, the embedded default of `make run`, with one difference: it leaves out the indexes only
PostgreSQL has (the GIN trigram indexes of the searches).

Those indexes are in the models' state (AddIndexOnPostgreSQL records them without building them
here), and SQLite changes a table by rebuilding it with every index of that state: without this,
any later migration that adds a constraint or a column with a default to customers or interactions
would fail on SQLite ("near gin_trgm_ops"). Everything else is Django's SQLite backend.
"""

from django.contrib.postgres.indexes import PostgresIndex
from django.db.backends.sqlite3 import base, schema


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    def _model_indexes_sql(self, model):
        indexes = model._meta.indexes
        kept = [index for index in indexes if not isinstance(index, PostgresIndex)]
        if len(kept) == len(indexes):
            return super()._model_indexes_sql(model)
        model._meta.indexes = kept
        try:
            return super()._model_indexes_sql(model)
        finally:
            model._meta.indexes = indexes


class DatabaseWrapper(base.DatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor
