"""The ready-made message templates (contact_plans.messaging.ready_made), in the four languages."""

from django.db import migrations


def install(apps, schema_editor):
    from contact_plans.messaging.ready_made import ready_made_install

    ready_made_install(
        apps.get_model("contact_plans", "MessageTemplate"), apps.get_model("contact_plans", "MessageTemplateContent")
    )


def uninstall(apps, schema_editor):
    from contact_plans.messaging.ready_made import READY_MADE

    apps.get_model("contact_plans", "MessageTemplate").objects.filter(
        key__in=[spec["key"] for spec in READY_MADE]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("contact_plans", "0005_message_templates")]

    operations = [migrations.RunPython(install, uninstall)]
