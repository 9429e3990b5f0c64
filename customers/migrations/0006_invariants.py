"""Invariants the database did not hold yet: the status and format of an import job (its claim
depends on them) and its progress within its size; an interaction resolved only when its kind is
tracked, its sentiment between -1 and 1; an order's status, and its refund only of a purchase and
within its gross.

Every writer already kept them, except that a file which grew after its import job was created
could leave processed_bytes above total_bytes: such rows are brought back to the total first.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_import_job_on_orders_and_customers"),
    ]

    operations = [
        migrations.RunSQL(
            "UPDATE customers_importjob SET processed_bytes = total_bytes WHERE processed_bytes > total_bytes",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddConstraint(
            model_name="importjob",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["queued", "running", "succeeded", "failed"])),
                name="importjob_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="importjob",
            constraint=models.CheckConstraint(
                condition=models.Q(("format__in", ["customers", "orders", "online-retail", "cdnow"])),
                name="importjob_format_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="importjob",
            constraint=models.CheckConstraint(
                condition=models.Q(("processed_bytes__gte", 0), ("processed_bytes__lte", models.F("total_bytes"))),
                name="importjob_processed_within_total",
            ),
        ),
        migrations.AddConstraint(
            model_name="interaction",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("resolved_at__isnull", True), ("kind__in", ["complaint", "support_ticket"]), _connector="OR"
                ),
                name="interaction_resolved_only_when_tracked",
            ),
        ),
        migrations.AddConstraint(
            model_name="interaction",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("sentiment__isnull", True),
                    models.Q(("sentiment__gte", -1), ("sentiment__lte", 1)),
                    _connector="OR",
                ),
                name="interaction_sentiment_in_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["placed", "refunded", "cancelled"])), name="order_status_valid"
            ),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("refunded_amount", 0),
                    models.Q(("kind", "purchase"), ("refunded_amount__lte", models.F("gross_amount"))),
                    _connector="OR",
                ),
                name="order_refund_only_of_a_purchase_up_to_its_gross",
            ),
        ),
    ]
