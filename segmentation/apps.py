from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentationConfig(AppConfig):
    name = "segmentation"
    verbose_name = _("Segments")

    def ready(self) -> None:
        # Customers and metrics register their own segment conditions from their ready(); the registry
        # is retention_crm.segment_conditions.
        from . import conditions, panels, reactions

        conditions.register_all()  # "member of another segment"
        panels.register()
        reactions.connect()  # segments follow the metrics they are defined on
