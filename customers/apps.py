from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import (
            case_signals,
            inbound,
            roles,
            rollups,  # noqa: F401 - connects its Order and OrderLine signals on import
            segment_conditions,
        )

        post_migrate.connect(roles.roles_ensure_after_migrate, dispatch_uid="customers.roles_ensure")
        segment_conditions.register_all()
        case_signals.register()
        inbound.connect()
