from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = _("Loyalty")

    def ready(self) -> None:
        # Orders earn and refunds reverse through customers' events (customers never imports us).
        from . import panels, reactions

        reactions.connect()
        # The "Loyalty" card of the customer page (customers.panels; customers never imports us).
        panels.register()
