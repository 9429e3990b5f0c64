"""The import job that created or last changed an order or a customer, so that a subscriber of
orders.imported / customers.imported reaches the job's rows (selectors.import_job_orders)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_order_net_amount_generated"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="import_job",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="customers",
                to="customers.importjob",
                verbose_name="written by import",
            ),
        ),
        migrations.AddField(
            model_name="order",
            name="import_job",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="orders",
                to="customers.importjob",
                verbose_name="written by import",
            ),
        ),
    ]
