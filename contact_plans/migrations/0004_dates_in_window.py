import datetime
import retention_crm.dates
from django.conf import settings
from django.db import migrations, models

from retention_crm.migration_operations import clamp_into_stored_range


class Migration(migrations.Migration):
    dependencies = [
        ("contact_plans", "0003_outbox"),
        ("customers", "0009_dates_in_window"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="followup",
            name="due_at",
            field=models.DateTimeField(
                validators=[retention_crm.dates.DateWindowValidator("planned", "due_at")], verbose_name="due"
            ),
        ),
        migrations.AlterField(
            model_name="worklistsnooze",
            name="until",
            field=models.DateField(
                help_text="The customer is back on the worklist on this day.",
                validators=[retention_crm.dates.DateWindowValidator("planned", "until")],
                verbose_name="snoozed until",
            ),
        ),
        # Dates written before the constraints existed are moved onto the bounds (docs/imports.md, "Dates").
        clamp_into_stored_range("contact_plans", "followup", "due_at", instant=True),
        clamp_into_stored_range("contact_plans", "worklistsnooze", "until", instant=False),
        migrations.AddConstraint(
            model_name="followup",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("due_at__gte", datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.UTC)),
                    ("due_at__lt", datetime.datetime(2100, 1, 1, 0, 0, tzinfo=datetime.UTC)),
                ),
                name="followup_due_at_in_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="worklistsnooze",
            constraint=models.CheckConstraint(
                condition=models.Q(("until__gte", datetime.date(1970, 1, 1)), ("until__lt", datetime.date(2100, 1, 1))),
                name="snooze_until_in_range",
            ),
        ),
    ]
