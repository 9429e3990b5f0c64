"""Enrolments, step runs and messages keep only the indexes their queries need (docs/benchmarks.md,
"Contact plans").

The step runner writes a step-run row for every enrolment of a chunk and advances the enrolment (a
new version of the row, with an entry in every index: the state the partial indexes read changes).
Seven of the fifteen indexes of the two tables were the foreign keys' own, each covered by another:

- ``enrolment.plan_id`` and ``enrolment.customer_id``: the first columns of ``enrolment_plan_id``
  (plan, -id) and ``enrolment_customer_plan`` (customer, plan, -enrolled_at), which serve the
  lists, the re-enrolment rule and the cascades of a deleted plan or customer;
- ``enrolmentstep.enrolment_id`` and ``enrolmentstep.step_id``: the first columns of
  ``enrolmentstep_once`` (enrolment, step) and ``enrolmentstep_step_outcome`` (step, outcome);
- ``enrolment.created_by_id``, ``enrolmentstep.message_id`` and ``enrolmentstep.followup_id``: null
  on most rows (a step run has a message or a task or neither), now partial indexes of the rows that
  have one, which is all a deleted user's, message's or task's ``SET NULL`` reads.

The same for a message's ``created_by_id`` and ``employee_id`` (null on every message a plan or a
campaign writes: an index entry per message for nothing), now ``message_created_by`` and
``message_employee``, partial.

The foreign keys' indexes are dropped by name on PostgreSQL, without the constraints being dropped
and validated again over the whole table (what the plain AlterField would do); SQLite (``make
run``) keeps its copies until its next rebuild of the tables, which changes no query's result.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The names Django gave them (contact_plans 0011: a hash of the table and the column).
INDEXES = {
    "contact_plans_enrolment": {
        "contact_plans_enrolment_created_by_id_25f7db2b": "created_by_id",
        "contact_plans_enrolment_customer_id_40d871a6": "customer_id",
        "contact_plans_enrolment_plan_id_02c8a862": "plan_id",
    },
    "contact_plans_enrolmentstep": {
        "contact_plans_enrolmentstep_enrolment_id_66a9991c": "enrolment_id",
        "contact_plans_enrolmentstep_followup_id_b500af4f": "followup_id",
        "contact_plans_enrolmentstep_message_id_795202b9": "message_id",
        "contact_plans_enrolmentstep_step_id_c7a7c17f": "step_id",
    },
    "contact_plans_message": {
        "contact_plans_message_created_by_id_20b0098b": "created_by_id",
        "contact_plans_message_employee_id_4e7de3a7": "employee_id",
    },
}


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for indexes in INDEXES.values():
        for name in indexes:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, indexes in INDEXES.items():
        for name, column in indexes.items():
            schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")')


def _fk(to, related_name, *, null=False, on_delete=django.db.models.deletion.CASCADE, **extra):
    return models.ForeignKey(
        to=to, related_name=related_name, db_index=False, on_delete=on_delete, null=null, blank=null, **extra
    )


class Migration(migrations.Migration):
    dependencies = [
        ("contact_plans", "0014_message_fewer_indexes"),
        ("customers", "0015_complaints"),
        ("team", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="enrolment",
                    name="created_by",
                    field=_fk(settings.AUTH_USER_MODEL, "+", null=True, on_delete=django.db.models.deletion.SET_NULL),
                ),
                migrations.AlterField(
                    model_name="enrolment",
                    name="customer",
                    field=_fk("customers.customer", "plan_enrolments", verbose_name="customer"),
                ),
                migrations.AlterField(
                    model_name="enrolment",
                    name="plan",
                    field=_fk("contact_plans.contactplan", "enrolments", verbose_name="plan"),
                ),
                migrations.AlterField(
                    model_name="enrolmentstep",
                    name="enrolment",
                    field=_fk("contact_plans.enrolment", "steps_done"),
                ),
                migrations.AlterField(
                    model_name="enrolmentstep",
                    name="followup",
                    field=_fk("contact_plans.followup", "+", null=True, on_delete=django.db.models.deletion.SET_NULL),
                ),
                migrations.AlterField(
                    model_name="enrolmentstep",
                    name="message",
                    field=_fk("contact_plans.message", "+", null=True, on_delete=django.db.models.deletion.SET_NULL),
                ),
                migrations.AlterField(
                    model_name="enrolmentstep",
                    name="step",
                    field=_fk("contact_plans.planstep", "runs"),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="created_by",
                    field=_fk(
                        settings.AUTH_USER_MODEL,
                        "+",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        verbose_name="created by",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="employee",
                    field=_fk("team.employee", "messages", null=True, verbose_name="employee"),
                ),
            ],
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
        ),
        migrations.AddIndex(
            model_name="enrolment",
            index=models.Index(
                condition=models.Q(created_by__isnull=False), fields=["created_by"], name="enrolment_created_by"
            ),
        ),
        migrations.AddIndex(
            model_name="enrolmentstep",
            index=models.Index(
                condition=models.Q(message__isnull=False), fields=["message"], name="enrolmentstep_message"
            ),
        ),
        migrations.AddIndex(
            model_name="enrolmentstep",
            index=models.Index(
                condition=models.Q(followup__isnull=False), fields=["followup"], name="enrolmentstep_followup"
            ),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(employee__isnull=False), fields=["employee"], name="message_employee"
            ),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(created_by__isnull=False), fields=["created_by"], name="message_created_by"
            ),
        ),
    ]
