"""The outcome of a call or meeting, and the index of each customer's last call or meeting.

SQLite (development) cannot add a column with a default, nor a constraint, without rebuilding the
table, and rebuilding it would create the trigram GIN index only PostgreSQL has (0007). So the
models' state changes as usual, and the database is changed by hand: as Django would on PostgreSQL,
with one ALTER TABLE (the check inline) and a partial index on SQLite.
"""

from django.db import migrations, models

OUTCOMES = [
    ("reached", "Reached"),
    ("no_answer", "No answer"),
    ("left_message", "Left a message"),
    ("meeting_booked", "Meeting booked"),
    ("not_interested", "Not interested"),
]
OUTCOME_VALUES = ["", *(value for value, _label in OUTCOMES)]

FIELD = models.CharField(blank=True, choices=OUTCOMES, default="", max_length=20, verbose_name="outcome")
INDEX = models.Index(
    condition=models.Q(("kind__in", ["call", "meeting"])),
    fields=["customer", "-occurred_at", "-id"],
    name="interaction_last_contact",
)
CONSTRAINT = models.CheckConstraint(
    condition=models.Q(("outcome__in", OUTCOME_VALUES)), name="interaction_outcome_valid"
)


def forwards(apps, schema_editor):
    Interaction = apps.get_model("customers", "Interaction")
    if schema_editor.connection.vendor == "sqlite":
        values = ", ".join(f"'{value}'" for value in OUTCOME_VALUES)
        schema_editor.execute(
            "ALTER TABLE customers_interaction ADD COLUMN outcome varchar(20) NOT NULL DEFAULT '' "
            f"CONSTRAINT interaction_outcome_valid CHECK (outcome IN ({values}))"
        )
        schema_editor.execute(
            "CREATE INDEX interaction_last_contact ON customers_interaction "
            "(customer_id, occurred_at DESC, id DESC) WHERE kind IN ('call', 'meeting')"
        )
        return
    schema_editor.add_field(Interaction, Interaction._meta.get_field("outcome"))
    schema_editor.add_index(Interaction, INDEX)
    schema_editor.add_constraint(Interaction, CONSTRAINT)


def backwards(apps, schema_editor):
    Interaction = apps.get_model("customers", "Interaction")
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP INDEX interaction_last_contact")
        schema_editor.execute("ALTER TABLE customers_interaction DROP COLUMN outcome")
        return
    schema_editor.remove_constraint(Interaction, CONSTRAINT)
    schema_editor.remove_index(Interaction, INDEX)
    schema_editor.remove_field(Interaction, Interaction._meta.get_field("outcome"))


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0010_job_heartbeat"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(model_name="interaction", name="outcome", field=FIELD),
                migrations.AddIndex(model_name="interaction", index=INDEX),
                migrations.AddConstraint(model_name="interaction", constraint=CONSTRAINT),
            ]
        ),
        migrations.RunPython(forwards, backwards),
    ]
