import django.db.models.deletion
from django.db import migrations, models

# Existing workspaces: each customer's first purchase day from the day totals already kept (the
# first day with purchase_amount > 0, which is what customers.rollups computes from the orders).
FILL = """
INSERT INTO customers_customerfirstpurchase (customer_id, day)
SELECT customer_id, MIN(day) FROM customers_customerday WHERE purchase_amount > 0 GROUP BY customer_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0012_importjob_language"),
    ]

    operations = [
        migrations.CreateModel(
            name="CustomerFirstPurchase",
            fields=[
                (
                    "customer",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="customers.customer",
                    ),
                ),
                ("day", models.DateField()),
            ],
            options={
                "verbose_name": "customer first purchase",
                "verbose_name_plural": "customer first purchases",
            },
        ),
        migrations.RunSQL(FILL, reverse_sql=migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="customerday",
            index=models.Index(
                fields=["day"], include=("customer_id", "amount", "purchase_amount"), name="customer_day_by_day"
            ),
        ),
    ]
