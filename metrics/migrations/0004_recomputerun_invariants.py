"""A recompute run's status within its choices (runs are claimed by it) and chunks_done never past
chunks_total (the run succeeds when they meet). Every writer already keeps both."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0003_book_sums"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="recomputerun",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["queued", "running", "succeeded", "failed"])),
                name="recomputerun_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="recomputerun",
            constraint=models.CheckConstraint(
                condition=models.Q(("chunks_done__lte", models.F("chunks_total"))),
                name="recomputerun_chunks_done_within_total",
            ),
        ),
    ]
