from django.apps import AppConfig


class RetentionCrmConfig(AppConfig):
    name = "retention_crm"
    verbose_name = "Retention CRM"

    def ready(self):
        from django.urls import register_converter

        from .ids import IdConverter

        # Before any URLconf is imported: every app's urls.py writes <id:pk>, never <int:pk>.
        register_converter(IdConverter, "id")
