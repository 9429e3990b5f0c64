from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = _("Loyalty")

    def ready(self) -> None:
        # Orders earn and refunds reverse through customers' events (customers never imports us).
        from . import panels, placeholders, reactions, segment_conditions, worklist

        reactions.connect()
        # The registries loyalty extends (customers, segmentation and contact_plans never import us):
        # the "Loyalty" card of the customer page, the segment conditions, the worklist's tier signal.
        panels.register()
        segment_conditions.register_all()
        worklist.register()
        # The {{ loyalty.… }} block of message templates (retention_crm.message_placeholders).
        placeholders.register()
