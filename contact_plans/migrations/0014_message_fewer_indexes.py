"""The message table keeps only the indexes its queries read, and room on its pages for the
updates of its rows (docs/benchmarks.md, "Dispatch").

Every index gets an entry for each new version of a row that changes an indexed column: the claim
and "sent" write one per message, so an index no query reads is pure cost on the hot path.
EXPLAIN of every query of the outbox on a table of a million messages found three of them:

- ``message_created_id`` (created_at, id): the API's list reads the primary key, newest first;
- the foreign key's own index on ``customer_id``: ``message_customer_id`` (customer_id, -id)
  serves every read by customer, the cascade of a deleted customer and the frequency cap;
- the ``varchar_pattern_ops`` index PostgreSQL's backend adds for the unique ``message_id``, for
  ``LIKE`` searches that nothing makes (a link click finds its message by equality, through the
  unique index).

The last two are dropped by name on PostgreSQL, without the foreign key being dropped and
validated again over the whole table (what the plain AlterField would do). SQLite (``make run``)
keeps its copy of the foreign key's index until its next rebuild of the table: it changes no
query's result there. ``message_id`` stays ``unique=True``: a later change of that column's type
would make Django create the ``_like`` index again, and would need dropping it again.

A message's row is updated four times on its way out (the beat's ``dispatched_at``, the claim, the
hand-over, "sent"). Two of them change no indexed column and can be HOT updates (no index entry at
all) when the new version fits on the row's own page; with the default fill factor (100) the pages
are full and almost none was (41 HOT of 52,009 updates in a bench run). With a fill factor of 70,
22 % of the updates were HOT (rows of 1.2 kB, the bench's); with 50, 50 %: both of those two, the
most there can be (the claim and "sent" change ``state``, which the partial indexes' predicates
read). It applies to the pages written from now on (existing pages keep their layout until
rewritten). Larger messages (a template's HTML) are TOASTed beyond 2 kB, which leaves a row of a
few hundred bytes on the page: the room costs little there.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "contact_plans_message"
# The names Django gave them (contact_plans 0003: a hash of the table and the column).
CUSTOMER_INDEX = "contact_plans_message_customer_id_d5672f42"
MESSAGE_ID_LIKE_INDEX = "contact_plans_message_message_id_a9a9e509_like"


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'DROP INDEX IF EXISTS "{CUSTOMER_INDEX}"')
    schema_editor.execute(f'DROP INDEX IF EXISTS "{MESSAGE_ID_LIKE_INDEX}"')


# Room for a row's next two versions on its page (rows of about 1.2 kB, 8 kB pages; 70 left room
# for one in four of them): the table's own pages take twice the room, the price of two of a
# message's four updates writing no index entry (not the TOASTed bodies of larger messages).
FILLFACTOR = 50


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'ALTER TABLE "{TABLE}" SET (fillfactor = {FILLFACTOR})')


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'ALTER TABLE "{TABLE}" RESET (fillfactor)')


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{CUSTOMER_INDEX}" ON "{TABLE}" ("customer_id")')
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{MESSAGE_ID_LIKE_INDEX}" ON "{TABLE}" ("message_id" varchar_pattern_ops)'
    )


class Migration(migrations.Migration):
    dependencies = [
        ("contact_plans", "0013_followup_reminders"),
        ("customers", "0015_complaints"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="message", name="message_created_id"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="customer",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
        ),
        migrations.RunPython(set_fillfactor, reset_fillfactor),
    ]
