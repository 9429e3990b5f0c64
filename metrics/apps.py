from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = _("Metrics")

    def ready(self):
        from retention_crm import events

        from . import panels  # noqa: F401 - registers the metrics card of the customer page
        from .services import reactions

        # A new or changed order moves one customer's figures; an import or the demo seed moves all.
        events.subscribe("order.placed")(reactions.on_order_saved)
        events.subscribe("order.changed")(reactions.on_order_saved)
        for event in ("orders.imported", "customers.imported", "demo.seeded"):
            events.subscribe(event)(reactions.on_data_replaced)
