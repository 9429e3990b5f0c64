from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = _("Metrics")

    def ready(self) -> None:
        # Each registry metrics extends, filled here (the kernel and customers never import metrics).
        from . import panels, reactions, segment_conditions

        panels.register()
        segment_conditions.register_all()
        reactions.connect()
