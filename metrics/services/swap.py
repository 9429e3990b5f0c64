"""A recompute's CustomerMetrics rows written into a table of their own, then swapped in (PostgreSQL).

Updating a million rows in place costs PostgreSQL a new version of every row, its index entries, a
foreign-key check per row (the model version changes every night) and a vacuum afterwards: about
10 s of server time at a million customers, several times what the scoring itself takes. So a run
on PostgreSQL writes plain inserts into ``metrics_customermetrics_run<id>``, shaped like
CustomerMetrics (columns, defaults, checks, storage options, primary key and indexes) but without
foreign keys, and when the run succeeds one transaction (`scores_swap`):

1. locks the customers (none deleted meanwhile) and CustomerMetrics (readers wait a second);
2. takes over the rows refreshed since the run started (an order came in while it ran: that row is
   the newer one);
3. drops the old table and gives the new one its name, and its indexes and constraints theirs, so
   that the schema is exactly what the migrations made;
4. adds the foreign keys: one validating join each, instead of a check per row (when the customer
   key fails, customers deleted since the run read them are forgotten and it is added again);

and right after the commit the table is analysed, so that the planner knows the new rows.

About 2 s at a million customers; a failure rolls everything back and leaves CustomerMetrics as it
was. A failed run's table is dropped by the next run. Where the database is not PostgreSQL, runs
upsert in place (services.writes.metrics_upsert).
"""

from __future__ import annotations

import logging
import time

from django.db import IntegrityError, OperationalError, connection, transaction

from metrics.models import CustomerMetrics

logger = logging.getLogger(__name__)

TABLE_PREFIX = "metrics_customermetrics_run"

# A reader holding CustomerMetrics for longer than this makes the swap give up and try again, rather
# than leave every other query queued behind it.
LOCK_TIMEOUT = "5s"
ATTEMPTS = 3


def _live() -> str:
    return CustomerMetrics._meta.db_table


def scores_table(run_id: int) -> str:
    return f"{TABLE_PREFIX}{int(run_id)}"


def _suffix(run_id: int) -> str:
    return f"_r{int(run_id)}"


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _existing(cursor, name: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    return cursor.fetchone()[0]


def _indexes(cursor, table: str) -> list[tuple[str, str, bool]]:
    """(name, definition, behind a constraint) of the indexes of `table`: CREATE INDEX statements,
    and "PRIMARY KEY (...)" or "UNIQUE (...)" for the indexes behind a constraint."""
    cursor.execute(
        """
        SELECT i.relname,
               COALESCE(pg_get_constraintdef(c.oid), pg_get_indexdef(x.indexrelid)),
               c.oid IS NOT NULL
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid AND c.contype IN ('p', 'u')
        WHERE x.indrelid = %s::regclass
        ORDER BY x.indisprimary DESC, i.relname
        """,
        [table],
    )
    return cursor.fetchall()


def _foreign_keys(cursor, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f' "
        "ORDER BY conname",
        [table],
    )
    return cursor.fetchall()


def _reloptions(cursor, table: str) -> list[str]:
    cursor.execute("SELECT COALESCE(reloptions, '{}') FROM pg_class WHERE oid = %s::regclass", [table])
    return list(cursor.fetchone()[0])


def _grants(cursor, table: str) -> list[str]:
    """GRANT statements for `table`'s privileges given to other roles than its owner."""
    cursor.execute(
        """
        SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END
        FROM pg_class t, aclexplode(t.relacl) AS a
        LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE t.oid = %s::regclass AND a.grantee <> t.relowner
        """,
        [table],
    )
    return [f"GRANT {privilege} ON {{table}} TO {grantee}" for privilege, grantee in cursor.fetchall()]


def scores_table_create(run_id: int) -> str:
    """An empty table for run `run_id`'s rows (any earlier run's table is dropped); returns its name."""
    live, table, suffix = _live(), scores_table(run_id), _suffix(run_id)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE %s", [TABLE_PREFIX + "%"])
        for (stale,) in cursor.fetchall():
            cursor.execute(f"DROP TABLE IF EXISTS {_quote(stale)}")
        options = _reloptions(cursor, live)
        with_options = f" WITH ({', '.join(options)})" if options else ""
        cursor.execute(
            f"CREATE TABLE {_quote(table)} (LIKE {_quote(live)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            f"INCLUDING STORAGE){with_options}"
        )
        # The indexes now, so that the swap need not build them: rows arrive in customer order, and
        # appending to an index as they come costs less than building it at the end.
        for name, definition, is_constraint in _indexes(cursor, live):
            temporary = _quote(name + suffix)
            if is_constraint:
                cursor.execute(f"ALTER TABLE {_quote(table)} ADD CONSTRAINT {temporary} {definition}")
            else:
                cursor.execute(_retarget_index(definition, name, live, temporary, table))
    return table


def _retarget_index(definition: str, name: str, live: str, new_name: str, table: str) -> str:
    """`definition` (pg_get_indexdef of index `name` on `live`) as the same index `new_name` on `table`."""
    head, _sep, rest = definition.partition(" ON ")
    head = head.replace(_quote(name), new_name) if _quote(name) in head else head.replace(name, new_name)
    _target, _sep, columns = rest.partition(" USING ")
    return f"{head} ON {_quote(table)} USING {columns}"


def scores_swap(*, run_id: int, started_at) -> None:
    """Make run `run_id`'s table CustomerMetrics (see the module docstring); call inside a transaction.

    Tries ATTEMPTS times when a lock cannot be had in LOCK_TIMEOUT or a deadlock is detected, each
    attempt in a savepoint; raises the last error."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with transaction.atomic():
                _swap(run_id, started_at)
            return
        except OperationalError:
            if attempt == ATTEMPTS:
                raise
            logger.warning("metrics.scores_swap_retry run=%s attempt=%d", run_id, attempt, exc_info=True)
            time.sleep(attempt)


def _swap(run_id: int, started_at) -> None:
    started = time.monotonic()
    live, table, suffix = _live(), scores_table(run_id), _suffix(run_id)
    customers = CustomerMetrics._meta.get_field("customer").related_model._meta.db_table
    columns = ", ".join(_quote(field.column) for field in CustomerMetrics._meta.concrete_fields)
    with connection.cursor() as cursor:
        if not _existing(cursor, table):  # a run that made no table of its own (claimed by an older release)
            logger.warning("metrics.scores_swap_skipped run=%s reason=no_table", run_id)
            return
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        # Customers first (what adding the foreign key would lock anyway), then the scores.
        cursor.execute(f"LOCK TABLE {_quote(customers)} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"LOCK TABLE {_quote(live)} IN ACCESS EXCLUSIVE MODE")
        # Rows refreshed since the run started (an order came in meanwhile) are newer than the run's.
        refreshed = 0
        if started_at is not None:
            updates = ", ".join(
                f"{_quote(field.column)} = EXCLUDED.{_quote(field.column)}"
                for field in CustomerMetrics._meta.concrete_fields
                if not field.primary_key
            )
            cursor.execute(
                f"INSERT INTO {_quote(table)} ({columns}) SELECT {columns} FROM {_quote(live)} "  # noqa: S608
                f"WHERE updated_at > %s ON CONFLICT (customer_id) DO UPDATE SET {updates}",
                [started_at],
            )
            refreshed = cursor.rowcount
        indexes, foreign_keys, grants = _indexes(cursor, live), _foreign_keys(cursor, live), _grants(cursor, live)
        # Checks this transaction deferred on the old table are made now, so that it can be dropped.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"DROP TABLE {_quote(live)}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # back to Django's way for the rest of the transaction
        cursor.execute(f"ALTER TABLE {_quote(table)} RENAME TO {_quote(live)}")
        for name, _definition, is_constraint in indexes:
            if is_constraint:
                cursor.execute(
                    f"ALTER TABLE {_quote(live)} RENAME CONSTRAINT {_quote(name + suffix)} TO {_quote(name)}"
                )
            else:
                cursor.execute(f"ALTER INDEX {_quote(name + suffix)} RENAME TO {_quote(name)}")
        # Validating a foreign key is one join of the two tables: merging their primary keys in order
        # takes half the time of hashing them.
        cursor.execute("SHOW enable_hashjoin")
        hashjoin = cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_hashjoin = off")
        deleted = 0
        for name, definition in foreign_keys:
            add = f"ALTER TABLE {_quote(live)} ADD CONSTRAINT {_quote(name)} {definition}"
            try:
                with transaction.atomic():
                    cursor.execute(add)
            except IntegrityError:
                if not definition.startswith("FOREIGN KEY (customer_id)"):
                    raise
                # Customers deleted while the run ran (their rows went with them from the old table).
                cursor.execute(
                    f"DELETE FROM {_quote(live)} AS n WHERE NOT EXISTS "  # noqa: S608 - constant names
                    f"(SELECT 1 FROM {_quote(customers)} AS c WHERE c.id = n.customer_id)"
                )
                deleted = cursor.rowcount
                cursor.execute(add)
        cursor.execute("SELECT set_config('enable_hashjoin', %s, true)", [hashjoin])
        for grant in grants:
            cursor.execute(grant.format(table=_quote(live)))
    # Statistics for the planner, right after the commit (the run is done by then).
    transaction.on_commit(_analyze)
    logger.info(
        "metrics.scores_swapped run=%s refreshed=%d deleted=%d seconds=%.1f",
        run_id,
        refreshed,
        deleted,
        time.monotonic() - started,
    )


def _analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {_quote(_live())}")
