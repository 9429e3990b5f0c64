from django.apps import AppConfig


class RetentionCrmConfig(AppConfig):
    name = "retention_crm"
    verbose_name = "Retention CRM"
