"""Ledger entries written in bulk, with the cached balances moved by exactly their points.

The bonuses given to the whole base at once (birthdays, referrals) are one ``INSERT ... SELECT ...
ON CONFLICT DO NOTHING`` each: the unique once-only key of an entry makes a second run award nothing.
The members' cached balances (``Member.points``) must then move by the points of the entries that
statement really wrote, not of those it skipped.

- PostgreSQL: one statement, the INSERT in a data-modifying CTE whose ``RETURNING`` feeds the
  ``UPDATE`` of the members. The members' rows are locked by that UPDATE; nothing else is needed.
- SQLite has no data-modifying CTE: the INSERT, then an UPDATE adding per member the points of the
  entries with an id above the largest before the INSERT. Those are exactly this INSERT's because
  the transaction holds the database's write lock from its ``BEGIN`` (``transaction_mode``
  IMMEDIATE, settings) and ids only grow (``AUTOINCREMENT``). Three statements, whatever the size.
"""

from __future__ import annotations

from django.db import connection

from retention_crm import sql

from .models import LedgerEntry, Member

ENTRY = LedgerEntry._meta.db_table
MEMBER = Member._meta.db_table


def entries_insert_crediting(insert_sql: str, params) -> int:
    """Run ``insert_sql``, an ``INSERT INTO`` the ledger ``... ON CONFLICT DO NOTHING`` (no
    ``RETURNING``; its CTEs after ``INSERT INTO ... (columns)``, so that the statement starts with
    INSERT: Python's sqlite3 counts the rows of such statements only) with ``params``, and move each member's cached balance by the points it wrote for
    them. Returns the number of members credited. Inside a transaction (the caller's atomic block)."""
    if not connection.in_atomic_block:
        raise RuntimeError("entries_insert_crediting runs inside transaction.atomic")
    with connection.cursor() as cursor:
        if sql.is_postgresql():
            cursor.execute(
                f"""WITH awarded AS ({insert_sql} RETURNING member_id, points)
                UPDATE {MEMBER} m SET points = m.points + a.points
                FROM (SELECT member_id, SUM(points) AS points FROM awarded GROUP BY member_id) a
                WHERE m.customer_id = a.member_id""",  # noqa: S608 - table names and the caller's statement
                params,
            )
            return cursor.rowcount
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {ENTRY}")  # noqa: S608 - table names only
        (before,) = cursor.fetchone()
        cursor.execute(insert_sql, params)
        if not cursor.rowcount:
            return 0
        cursor.execute(
            f"""UPDATE {MEMBER} SET points = points + (SELECT SUM(e.points) FROM {ENTRY} e
                WHERE e.member_id = {MEMBER}.customer_id AND e.id > %s)
            WHERE customer_id IN (SELECT member_id FROM {ENTRY} WHERE id > %s)""",  # noqa: S608 - table names only
            (before, before),
        )
        return cursor.rowcount
