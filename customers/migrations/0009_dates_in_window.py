import datetime
import retention_crm.dates
from django.conf import settings
from django.db import migrations, models

from retention_crm.migration_operations import AddConstraintOnPostgreSQL, clamp_into_stored_range


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0008_list_filter_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # The customer and interaction tables hold trigram indexes SQLite cannot rebuild: their constraints
    # are PostgreSQL's (retention_crm.migration_operations.AddConstraintOnPostgreSQL).
    operations = [
        migrations.AlterField(
            model_name="customer",
            name="acquired_at",
            field=models.DateField(
                blank=True,
                null=True,
                validators=[retention_crm.dates.DateWindowValidator("happened", "acquired_at")],
                verbose_name="acquisition date",
            ),
        ),
        migrations.AlterField(
            model_name="customer",
            name="consent_at",
            field=models.DateTimeField(
                blank=True,
                null=True,
                validators=[retention_crm.dates.DateWindowValidator("happened", "consent_at")],
                verbose_name="consent given at",
            ),
        ),
        migrations.AlterField(
            model_name="interaction",
            name="occurred_at",
            field=models.DateTimeField(
                validators=[retention_crm.dates.DateWindowValidator("happened", "occurred_at")],
                verbose_name="occurred at",
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="ordered_at",
            field=models.DateTimeField(
                validators=[retention_crm.dates.DateWindowValidator("happened", "ordered_at")],
                verbose_name="ordered at",
            ),
        ),
        # Dates written before the constraints existed are moved onto the bounds (docs/imports.md, "Dates").
        clamp_into_stored_range("customers", "customer", "acquired_at", instant=False),
        clamp_into_stored_range("customers", "customer", "consent_at", instant=True),
        clamp_into_stored_range("customers", "interaction", "occurred_at", instant=True),
        clamp_into_stored_range("customers", "order", "ordered_at", instant=True),
        AddConstraintOnPostgreSQL(
            model_name="customer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("acquired_at__isnull", True),
                    models.Q(
                        ("acquired_at__gte", datetime.date(1970, 1, 1)), ("acquired_at__lt", datetime.date(2100, 1, 1))
                    ),
                    _connector="OR",
                ),
                name="customer_acquired_at_in_range",
            ),
        ),
        AddConstraintOnPostgreSQL(
            model_name="customer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("consent_at__isnull", True),
                    models.Q(
                        ("consent_at__gte", datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.UTC)),
                        ("consent_at__lt", datetime.datetime(2100, 1, 1, 0, 0, tzinfo=datetime.UTC)),
                    ),
                    _connector="OR",
                ),
                name="customer_consent_at_in_range",
            ),
        ),
        AddConstraintOnPostgreSQL(
            model_name="interaction",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("occurred_at__gte", datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.UTC)),
                    ("occurred_at__lt", datetime.datetime(2100, 1, 1, 0, 0, tzinfo=datetime.UTC)),
                ),
                name="interaction_occurred_at_in_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("ordered_at__gte", datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.UTC)),
                    ("ordered_at__lt", datetime.datetime(2100, 1, 1, 0, 0, tzinfo=datetime.UTC)),
                ),
                name="order_ordered_at_in_range",
            ),
        ),
    ]
