"""Create the built-in segments (value x risk, Pareto, RFM, influencers, hidden potential).

segmentation.services.segments_builtin_ensure does the same at every full refresh, so a built-in
added in a later release appears without a migration; this one makes them visible right after
`migrate`, before any refresh.
"""

from django.db import migrations


def create_builtins(apps, schema_editor):
    from segmentation.builtins import BUILTINS, stored_text

    Segment = apps.get_model("segmentation", "Segment")
    existing = set(Segment.objects.filter(kind="builtin").values_list("key", flat=True))
    for builtin in BUILTINS:
        if builtin.key in existing:
            continue
        name = builtin.name
        if Segment.objects.filter(name__iexact=name).exists():
            name = f"{name} (built-in)"
        Segment.objects.create(
            kind="builtin",
            key=builtin.key,
            name=name,
            description=stored_text(builtin.description),
            definition=builtin.definition,
        )


class Migration(migrations.Migration):
    dependencies = [("segmentation", "0001_initial")]

    operations = [migrations.RunPython(create_builtins, migrations.RunPython.noop)]
