"""Order.net_amount becomes a column the database computes from kind, status, gross and refunded
amounts (customers.models.ORDER_NET_AMOUNT), instead of a value every writer had to compute.

A generated column cannot be altered into: the stored column is dropped and the generated one added,
which PostgreSQL fills from the rows in the same statement (one rewrite of the orders table).
"""

from decimal import Decimal

import django.db.models.expressions
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_rollup_backlog"),
    ]

    operations = [
        migrations.RemoveField(model_name="order", name="net_amount"),
        migrations.AddField(
            model_name="order",
            name="net_amount",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.Case(
                    models.When(status="cancelled", then=models.Value(Decimal("0"))),
                    models.When(kind="purchase", refunded_amount=0, status="refunded", then=models.Value(Decimal("0"))),
                    default=django.db.models.expressions.CombinedExpression(
                        models.F("gross_amount"), "-", models.F("refunded_amount")
                    ),
                    output_field=models.DecimalField(decimal_places=2, max_digits=14),
                ),
                output_field=models.DecimalField(decimal_places=2, max_digits=14, verbose_name="net amount"),
                verbose_name="net amount",
            ),
        ),
    ]
