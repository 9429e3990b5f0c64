"""A segment event is an entry or an exit; the refresh writes nothing else."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("segmentation", "0002_builtin_segments"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="segmentevent",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["entered", "exited"])), name="segmentevent_kind_valid"
            ),
        ),
    ]
