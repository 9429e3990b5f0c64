from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = _("Metrics")

    def ready(self) -> None:
        from . import (
            panels,  # noqa: F401 - registers the metrics card of the customer page
            reactions,
        )

        reactions.connect()
