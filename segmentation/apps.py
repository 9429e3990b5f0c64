from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentationConfig(AppConfig):
    name = "segmentation"
    verbose_name = _("Segments")

    def ready(self) -> None:
        # Importing these modules registers their segment conditions (customers and metrics never
        # import segmentation; the registry, retention_crm.segment_conditions, is neutral ground).
        import customers.segment_conditions  # noqa: F401
        import metrics.segment_conditions  # noqa: F401
        from customers import panels

        from .conditions import register_all as register_segment_conditions
        from .panels import segments_panel_context

        register_segment_conditions()
        panels.register("segments", "segmentation/_customer_panel.html", segments_panel_context, order=30)
        # Segments follow the metrics they are defined on.
        from . import reactions

        reactions.connect()
