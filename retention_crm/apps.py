from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_cache_table(sender, using, **kwargs) -> None:
    # Without Redis the shared cache is a table (settings.CACHES); `migrate` is every deployment's
    # step, so it creates the table too. Does nothing when the table exists or the cache is Redis.
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class RetentionCrmConfig(AppConfig):
    name = "retention_crm"
    verbose_name = "Retention CRM"

    def ready(self):
        from django.contrib import admin
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.db.models import Field, ForeignObject
        from django.urls import register_converter

        from . import login_guard
        from .ids import IdConverter
        from .sql import AnyOf

        # Before any URLconf is imported: every app's urls.py writes <id:pk>, never <int:pk>.
        register_converter(IdConverter, "id")
        # field__any=[...]: one array parameter (retention_crm/sql.py); relations read their own.
        Field.register_lookup(AnyOf)
        ForeignObject.register_lookup(AnyOf)
        user_login_failed.connect(login_guard.on_login_failed, dispatch_uid="login_guard.failed")
        user_logged_in.connect(login_guard.on_logged_in, dispatch_uid="login_guard.logged_in")
        admin.site.login_form = login_guard.AdminLoginForm
        post_migrate.connect(_create_cache_table, sender=self, dispatch_uid="retention_crm.cache_table")
