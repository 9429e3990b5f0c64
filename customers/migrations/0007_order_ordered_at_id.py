"""An index for the orders export, which reads every order oldest first by keyset on (ordered_at, id)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_invariants"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["ordered_at", "id"], name="order_ordered_at_id"),
        ),
    ]
